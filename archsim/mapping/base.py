"""Mappers: the compiler passes that turn an operator graph into engine work.

A mapper is a registered, pure function

    fn(system: System, graph: OpGraph, scenario: Scenario, options: dict) -> Mapping

for one chip kind (`family`), declaring the options it accepts. Options come
from `-o KEY=VALUE` as strings and are converted and checked here, so an
unknown option or a bad value is one clear error before anything runs.
A workload that cannot run raises archsim.errors.InfeasibleError with the
numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archsim.errors import ArchsimInputError
from archsim.registry import Registry
from archsim.spec import did_you_mean


@dataclass(frozen=True)
class Option:
    name: str
    type: type  # int, float, str, bool, or dict (a mapping: a YAML/JSON text from -o, or a mapping file's section)
    default: Any
    doc: str
    choices: tuple = ()
    # Checks the form of a converted value (e.g. 'auto' or WxH) and raises ArchsimInputError, so a bad
    # value is caught when options are parsed (-o, a sweep file's check) rather than deep in the mapper.
    check: Callable[[Any], Any] | None = None

    def convert(self, raw, mapper: str):
        if self.type is dict and isinstance(raw, str):
            raw = _mapping_text(raw, self.name, mapper)
        if isinstance(raw, self.type) and not (self.type is int and isinstance(raw, bool)):
            value = raw
        else:
            try:
                if self.type is bool:
                    lowered = str(raw).lower()
                    if lowered not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = lowered in ("true", "1", "yes")
                else:
                    value = self.type(raw)
            except (TypeError, ValueError):
                raise ArchsimInputError(
                    f"mapper {mapper!r} option {self.name!r} must be {self.type.__name__}, got {raw!r}"
                ) from None
        if self.choices and value not in self.choices:
            raise ArchsimInputError(
                f"mapper {mapper!r} option {self.name!r} must be one of "
                f"{', '.join(map(str, self.choices))}, got {raw!r}{did_you_mean(str(raw), map(str, self.choices))}"
            )
        if self.check is not None:
            self.check(value)
        return value


def _mapping_text(text: str, name: str, mapper: str) -> dict:
    """A dict-typed option given as text (`-o gemm={qkv: {tile: 64x128x64}}`): parsed as YAML (JSON is YAML)."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise ArchsimInputError(f"mapper {mapper!r} option {name!r} must be a mapping like {{key: value}} "
                                f"(YAML or JSON), got {text!r}")
    return value


@dataclass(frozen=True)
class Segment:
    """A task graph the engine runs, and how many times it repeats back to back.

    Identical decoder layers are simulated once and composed (repeat = layer
    count); the report says so.
    """

    graph: Any  # archsim.engine.TaskGraph
    repeat: int = 1
    label: str = ""


@dataclass
class Mapping:
    mapper: str
    options: dict
    segments: list[Segment]
    chips_used: int
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # family-specific results for the report/JSON


@dataclass(frozen=True)
class Mapper:
    name: str
    family: str  # chip kind it serves (a family's kind, a plugin's included), or "any"
    fn: Callable
    options: tuple[Option, ...]
    description: str
    default_for: tuple[str, ...] = ()  # families for which `auto` picks this mapper

    def parse_options(self, raw: dict[str, Any]) -> dict:
        known = {o.name: o for o in self.options}
        out = {o.name: o.default for o in self.options}
        for key, value in raw.items():
            if key not in known:
                listing = ", ".join(known) or "none"
                raise ArchsimInputError(
                    f"mapper {self.name!r} has no option {key!r}{did_you_mean(key, known)}; "
                    f"its options: {listing}"
                )
            out[key] = known[key].convert(value, self.name)
        return out


MAPPERS: Registry[Mapper] = Registry("mapper")


def register_mapper(name: str, family: str, description: str, options: tuple[Option, ...] = (),
                    default_for: tuple[str, ...] = ()):
    def decorator(fn):
        MAPPERS.add(name, Mapper(name, family, fn, tuple(options), description, tuple(default_for)))
        return fn

    return decorator


def resolve_mapper(name: str, kind: str) -> Mapper:
    """The mapper called `name` (or the default for chip kind `kind` if `auto`), checked for kind.

    Only the modules needed are imported: `auto` imports its family's default mapper, a named
    mapper the module its family lists for it (a GPU run never imports the wafer's code)."""
    from archsim.family import get_family

    if name == "auto":
        family = get_family(kind)
        import_mapper(family.default_mapper, kind)
        return MAPPERS.get(family.default_mapper)
    import_mapper(name, kind)
    mapper = MAPPERS.get(name)
    if mapper.family not in (kind, "any"):
        import_all_mappers()
        raise ArchsimInputError(
            f"mapper {name!r} maps {mapper.family} chips, not {kind!r}; "
            f"mappers for {kind}: {', '.join(n for n, m in MAPPERS.items() if m.family in (kind, 'any'))}"
        )
    return mapper


# Mappers that serve every family and belong to none (archsim/mapping/<module>.py).
CORE_MAPPERS = {"aggregate": "archsim.mapping.aggregate"}


def import_mapper(name: str, kind: str | None = None) -> None:
    """Import the module that registers mapper `name` (all of them if no family lists it)."""
    import importlib

    from archsim.family import families

    if name in MAPPERS:
        return
    if name in CORE_MAPPERS:
        importlib.import_module(CORE_MAPPERS[name])
        return
    known = families()
    for family in ([known[kind]] if kind in known else []) + list(known.values()):
        if name in family.mappers:
            importlib.import_module(family.mappers[name])
            return
    import_all_mappers()  # a plugin's mapper (entry point or --plugin), or an unknown name listed in full


def import_all_mappers() -> None:
    """Import every mapper module: the core's, each family's and installed plugins'."""
    import importlib

    from archsim.family import families, mapper_plugin_modules

    for module in CORE_MAPPERS.values():
        importlib.import_module(module)
    for family in families().values():
        family.import_mappers()
    for module in mapper_plugin_modules():
        importlib.import_module(module)
