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
    type: type  # int, float, str or bool
    default: Any
    doc: str
    choices: tuple = ()
    # Checks the form of a converted value (e.g. 'auto' or WxH) and raises ArchsimInputError, so a bad
    # value is caught when options are parsed (-o, a sweep file's check) rather than deep in the mapper.
    check: Callable[[Any], Any] | None = None

    def convert(self, raw, mapper: str):
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
    family: str  # chip kind it serves: gpu, tsp, mesh, or "any"
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
    """The mapper called `name` (or the default for chip kind `kind` if `auto`), checked for kind."""
    _import_all()
    if name == "auto":
        candidates = [m for _, m in MAPPERS.items() if kind in m.default_for]
        if not candidates:
            candidates = [m for _, m in MAPPERS.items() if "any" in m.default_for]
        if not candidates:
            raise ArchsimInputError(f"no mapper for chip kind {kind!r}")
        return candidates[0]
    mapper = MAPPERS.get(name)
    if mapper.family not in (kind, "any"):
        raise ArchsimInputError(
            f"mapper {name!r} maps {mapper.family} chips, not {kind!r}; "
            f"mappers for {kind}: {', '.join(n for n, m in MAPPERS.items() if m.family in (kind, 'any'))}"
        )
    return mapper


def _import_all() -> None:
    """Import the mapper modules so they register themselves."""
    import importlib
    import pkgutil

    import archsim.mapping as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("base", "roofline"):
            importlib.import_module(f"archsim.mapping.{info.name}")
