"""Chip and system files -> a validated, frozen `System`.

A chip's name (`h100-sxm`) or a path is accepted wherever a chip is asked
for. A single chip is a `System` of one. Overrides (`--set hbm.bandwidth=...`)
are applied to the YAML data before validation, so they are checked exactly
like the file; on a system, `chip.` paths reach the member chip.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.family import family_config_dirs
from archsim.hw.schema import chip_kinds, chip_schema, system_schema
from archsim.spec import (SpecNode, apply_overrides, config_hash, did_you_mean, read_spec_file,
                          resolve_spec_path, validate)

# Bundled chips and systems live with their family (archsim/families/<kind>/configs/); a folder named by
# ARCHSIM_CONFIG_DIR is searched first, so a user's own files can be used by name.
CONFIG_DIR_ENV = "ARCHSIM_CONFIG_DIR"


@dataclass(frozen=True)
class System:
    """Chips of one kind plus the links between them."""

    name: str
    kind: str  # the chip family (archsim.family): gpu, tsp, mesh or a plugin's
    chip: SpecNode
    count: int
    interconnect: SpecNode | None
    description: str
    source: str  # file it came from
    config: dict  # the effective configuration (after overrides), plain data
    config_hash: str
    # A system file's own `power` (overhead beyond the chips) and `price` sections; None for a single chip,
    # whose price and power are the chip's (archsim/energy).
    power: SpecNode | None = None
    price: SpecNode | None = None

    @property
    def clock_hz(self) -> int:
        return self.chip.clock


def config_dirs() -> list[Path]:
    """Where chip and system names are looked up, in order."""
    extra = os.environ.get(CONFIG_DIR_ENV)
    return ([Path(extra)] if extra else []) + family_config_dirs()


def bundled_paths() -> dict[str, Path]:
    """Every chip or system file found by name: name -> path (the first folder wins)."""
    found: dict[str, Path] = {}
    for folder in config_dirs():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def bundled_names() -> list[str]:
    return sorted(bundled_paths())


def config_path(name: str) -> Path:
    """The bundled file of chip or system `name` (for tests and tools that read the YAML text)."""
    return resolve_config_path(name)


def resolve_config_path(name_or_path: str) -> Path:
    return resolve_spec_path(name_or_path, bundled_paths(), "chip or system")


def _split_overrides(overrides, is_system: bool):
    own, member = [], []
    for path, value in overrides or []:
        if path.startswith("chip."):
            (member if is_system else own).append((path[len("chip."):], value))
        else:
            own.append((path, value))
    return own, member


def _load_chip_data(path: Path, overrides, parsed=None) -> tuple[SpecNode, dict]:
    """Validate the chip file at `path` (`parsed`: its (data, lines) if already read)."""
    data, lines = parsed or read_spec_file(path)
    file = str(path)
    if isinstance(data, dict) and "base" in data:  # a chip built on another (archsim/hw/inherit.py)
        from archsim.hw.inherit import resolve_base

        data, lines = resolve_base(path, data, lines, lambda name, beside: resolve_config_path(_beside(name, beside)),
                                   lambda base, d, ln: _load_chip_data(base, [], (d, ln)))
    if not isinstance(data, dict):
        raise SpecError([Problem(file, 1, "", "expected a mapping with version, kind, name, ...")])
    kind = data.get("kind")
    options = chip_kinds()
    if not isinstance(kind, str) or kind not in options:
        raise SpecError([Problem(file, lines.get(("kind",), 1), "kind",
                                 f"expected one of {', '.join(options)}, got {kind!r}"
                                 f"{did_you_mean(str(kind), options)}{_other_file_hint(data)}")])
    schema = chip_schema(kind)
    data = apply_overrides(data, overrides, schema, lines, file)
    return validate(data, schema, file, lines), data


def _other_file_hint(data: dict) -> str:
    """Name the mix-up when a workload or sweep file is given where a chip is asked for."""
    if data.get("kind") == "transformer":
        return "; this is a workload file: give it as the WORKLOAD argument, not the CHIP"
    if "kind" not in data and "axes" in data:
        return "; this looks like a sweep file: run it with `archsim sweep FILE --db DB`"
    return ""


def _member_kind(data: dict) -> str | None:
    """The family of a system's chips, read ahead of validating the system (its interconnect keys depend
    on it); None if the chip file cannot be read, which validating the system then reports."""
    name = data.get("chip")
    if not isinstance(name, str):
        return None
    try:
        chip, _ = read_spec_file(resolve_config_path(name))
    except (ArchsimInputError, OSError):
        return None
    kind = chip.get("kind") if isinstance(chip, dict) else None
    return kind if kind in chip_kinds() else None


def _beside(name_or_path: str, system_file: Path) -> str:
    """A member chip given as a path is read relative to the system file that names it (a bundled name,
    or a path that only exists from the current folder, stays as written)."""
    if name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path:
        candidate = Path(system_file).parent / name_or_path
        if not Path(name_or_path).is_absolute() and candidate.exists():
            return str(candidate)
    return name_or_path


def load_system(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> System:
    """Load a chip or system file (by bundled name or path) with optional overrides."""
    path = resolve_config_path(name_or_path)
    return system_from_yaml(path, *read_spec_file(path), overrides)


def system_from_yaml(path: Path, data, lines, overrides: list[tuple[str, Any]] | None = None) -> System:
    """The System of chip or system file `path`, already read as (data, lines)."""
    file = str(path)
    if isinstance(data, dict) and data.get("kind") == "system":
        own, member = _split_overrides(overrides, True)
        schema = system_schema(_member_kind(data))
        data = apply_overrides(data, own, schema, lines, file)
        spec = validate(data, schema, file, lines)
        try:
            chip_path = resolve_config_path(_beside(spec.chip, path))
            member_yaml = read_spec_file(chip_path)
        except SpecError:
            raise
        except ArchsimInputError as exc:  # no such chip, or not a file archsim reads
            raise SpecError([Problem(file, lines.get(("chip",)), "chip", str(exc))]) from None
        chip, chip_data = _load_chip_data(chip_path, member, member_yaml)
        config = {**data, "chip": chip_data}
        return System(spec.name, chip_data["kind"], chip, spec.count, spec.interconnect,
                      spec.description, file, config, config_hash(config), spec.power, spec.price)
    own, _ = _split_overrides(overrides, False)
    chip, chip_data = _load_chip_data(path, own, (data, lines))
    return System(chip.name, chip.kind, chip, 1, None, chip.description, file, chip_data,
                  config_hash(chip_data))


def check_file(path: str) -> None:
    """Validate one chip or system file; raises SpecError listing every problem."""
    load_system(path)
