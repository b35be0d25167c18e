"""Chip families: one registration object each, found without importing their code.

A family (the `kind:` of its chip files: gpu, mesh, tsp, or a plugin's) is a
package that provides a chip schema and roofline peaks, mappers, an energy
model, validation cases and bundled chip/system files. It registers itself with
one `Family` object whose references are strings ("module:attribute"), so the
core can list families, check a chip file's kind or offer `--family` choices
without importing any mapper, and a GPU run never imports the wafer's network
kernel.

Where families come from, in this order:
- in tree: every subpackage of `archsim.families` that defines `FAMILY`;
- installed plugins: the `archsim.families` entry-point group (each entry a
  `Family`), and the `archsim.mappers` group (each entry a module that
  registers mappers with `archsim.mapping.base.register_mapper` when imported);
- `archsim --plugin MODULE|PATH` or the ARCHSIM_PLUGINS environment variable
  (paths or module names separated by the OS path separator), so sweep worker
  processes load the same plugins as the command that started them.

docs/plugins.md describes the interface.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from archsim.errors import ArchsimInputError, UnknownNameError

ENTRY_POINT_FAMILIES = "archsim.families"
ENTRY_POINT_MAPPERS = "archsim.mappers"
PLUGINS_ENV = "ARCHSIM_PLUGINS"


@dataclass(frozen=True)
class Family:
    """What one chip family provides. Every reference is "module:attribute" (or a module
    for `mappers` and `validation`), imported only when that part is used."""

    kind: str  # the `kind:` of its chip files
    description: str
    schema: str  # -> dict: the chip file schema (archsim.spec Fields)
    peaks: str  # -> fn(system, dtype) -> archsim.hw.peaks.Peaks
    energy: str  # -> fn(archsim.energy.model.Activity) -> list[Term]
    mappers: dict[str, str]  # mapper name -> module that registers it when imported
    default_mapper: str  # what `auto` picks for this family
    validation: tuple[str, ...] = ()  # modules registering validation cases
    topologies: tuple[str, ...] = ()  # interconnect topologies its systems may name
    # -> dict of further archsim.spec Fields its systems may set in their `interconnect` section
    # (a topology's own parameters, e.g. a torus's shape); only systems of this family may use them
    interconnect: str | None = None
    configs: str | None = None  # folder of bundled chip/system YAML files (absolute, or beside `home`)
    serving: str = ""  # module answering the serving layer (replica_options, kv_capacity, ...: docs/plugins.md)
    # -> archsim.mapping.file.MappingSchema: the family's mapping files (archsim run --mapping, archsim search);
    # None: its mappers take options only (docs/mapping.md)
    mapping_schema: str | None = None
    home: str = ""  # file of the module defining FAMILY (set by discovery): relative `configs` resolve here
    extra: dict = field(default_factory=dict, compare=False)  # family-specific hooks (e.g. serving)

    def resolve(self, ref: str) -> Any:
        """The object a "module:attribute" reference names."""
        module, _, attr = ref.partition(":")
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj

    def config_dir(self) -> Path | None:
        if not self.configs:
            return None
        path = Path(self.configs)
        return path if path.is_absolute() else Path(self.home).parent / path

    def import_mappers(self) -> None:
        for module in dict.fromkeys(self.mappers.values()):
            importlib.import_module(module)

    def import_validation(self) -> None:
        for module in self.validation:
            importlib.import_module(module)


_REGISTERED: dict[str, Family] = {}
_DISCOVERED = False


def register_family(family: Family, home: str = "") -> Family:
    """Add a family (duplicate kinds raise: two packages claiming `kind: gpu` is a configuration error)."""
    if not isinstance(family, Family):
        raise ArchsimInputError(f"a plugin's FAMILY must be an archsim.family.Family, got {type(family).__name__}")
    if home and not family.home:
        family = Family(**{**family.__dict__, "home": home})
    existing = _REGISTERED.get(family.kind)
    if existing is not None and existing != family:
        raise ArchsimInputError(f"chip family {family.kind!r} is registered twice ({existing.home or 'built in'} "
                                f"and {family.home or 'a plugin'})")
    _REGISTERED[family.kind] = family
    return family


def families() -> dict[str, Family]:
    """Every family known, by kind (discovered once per process)."""
    _discover()
    return dict(sorted(_REGISTERED.items()))


def get_family(kind: str) -> Family:
    known = families()
    if kind in known:
        return known[kind]
    from archsim.spec import did_you_mean

    raise UnknownNameError(f"unknown chip family {kind!r}{did_you_mean(str(kind), known)}; "
                           f"known: {', '.join(known) or '(none)'}")


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import pkgutil

    # By name, like everything else here: the registry sits below the families it finds (each of them
    # imports this module for `Family`), so it never imports one statically (tests/test_imports.py).
    pkg = importlib.import_module("archsim.families")
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg:
            module = importlib.import_module(f"archsim.families.{info.name}")
            if hasattr(module, "FAMILY"):
                register_family(module.FAMILY, module.__file__ or "")
    for entry in _entry_points(ENTRY_POINT_FAMILIES):
        register_family(entry.load(), getattr(sys.modules.get(entry.module), "__file__", "") or "")
    for spec in _env_plugins():
        load_plugin(spec)


@lru_cache(maxsize=None)
def _entry_points(group: str) -> tuple:
    from importlib.metadata import entry_points

    return tuple(entry_points(group=group))


def mapper_plugin_modules() -> list[str]:
    """Modules named by installed `archsim.mappers` entry points."""
    return [entry.value.partition(":")[0] for entry in _entry_points(ENTRY_POINT_MAPPERS)]


def _env_plugins() -> list[str]:
    raw = os.environ.get(PLUGINS_ENV, "")
    return [s for s in raw.split(os.pathsep) if s]


def plugin_specs() -> tuple[str, ...]:
    """The plugins this process loaded by `--plugin` or $ARCHSIM_PLUGINS (paths resolved), for
    processes that do not inherit its environment (a Dask cluster's workers)."""
    return tuple(_env_plugins())


_LOADED_PLUGINS: dict[str, Any] = {}


def load_plugin(spec: str) -> Any:
    """Import a plugin by module name or by path (a .py file, or a package folder).

    The module may define `FAMILY` (registered here) and may register mappers
    when imported. Loading the same plugin twice is a no-op."""
    path = Path(spec)
    by_path = path.suffix == ".py" or path.is_dir() or os.sep in spec
    key = str(path.resolve()) if by_path else spec
    if key in _LOADED_PLUGINS:
        return _LOADED_PLUGINS[key]
    try:
        if by_path:
            module = _import_path(path)
        else:
            module = importlib.import_module(spec)
    except ArchsimInputError:
        raise
    except ModuleNotFoundError as exc:
        raise ArchsimInputError(f"--plugin {spec}: no module or file of that name ({exc})") from None
    except Exception as exc:  # a plugin's own bug: say whose it is
        raise ArchsimInputError(f"--plugin {spec}: importing it failed: {type(exc).__name__}: {exc}") from None
    _LOADED_PLUGINS[key] = module
    if hasattr(module, "FAMILY"):
        register_family(module.FAMILY, module.__file__ or "")
    _remember_for_children(key)
    return module


def _import_path(path: Path):
    target = path / "__init__.py" if path.is_dir() else path
    if not target.is_file():
        raise ArchsimInputError(f"--plugin {path}: no such file (expected a .py file or a package folder)")
    name = f"archsim_plugin_{path.resolve().stem.replace('-', '_').replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, target,
                                                  submodule_search_locations=[str(path)] if path.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _remember_for_children(key: str) -> None:
    """Child processes (sweep workers) inherit the environment: list the plugin there too."""
    current = _env_plugins()
    if key not in current:
        os.environ[PLUGINS_ENV] = os.pathsep.join([*current, key])


def family_config_dirs() -> list[Path]:
    """Folders of bundled chip and system files, one per family that ships some."""
    return [d for f in families().values() if (d := f.config_dir()) is not None and d.is_dir()]
