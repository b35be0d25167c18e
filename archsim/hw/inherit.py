"""`base:` in a chip file: start from another chip and change only what differs.

    version: 1
    base: h100-sxm            # a bundled name, or a path (relative to this file)
    name: h100-6tb
    description: H100 SXM with 6 TB/s of HBM
    hbm:
      bandwidth: 6 TB/s       # everything else is h100-sxm's

The base is loaded and checked on its own first (its problems name its own file
and lines); then this file's keys are laid over it, section by section (a
value replaces the base's; `null` removes an optional one), and the result is
validated like any chip file. `kind` and `version` may be left out (the base's
apply); `name` may not: a derived chip needs its own. A base may itself have a
base, up to MAX_BASE_DEPTH files; a loop is an error.
"""
from __future__ import annotations

import copy
from pathlib import Path

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.spec import Lines, read_spec_file

MAX_BASE_DEPTH = 8


def resolve_base(path: Path, data: dict, lines: Lines, locate, check,
                 chain: tuple[str, ...] = ()) -> tuple[dict, Lines]:
    """(data, lines) of chip file `path` with its `base:` (if any) laid under it. The loader passes how to
    find a base (`locate(name, beside_file) -> Path`) and how to validate one on its own (`check(path, data,
    lines)`), so this module needs nothing of it (hw/load.py imports this one, not the other way)."""
    if "base" not in data:
        return data, lines
    file, where = str(path), lines.get(("base",), 1)
    name = data["base"]
    if not isinstance(name, str) or not name:
        raise SpecError([Problem(file, where, "base", f"expected the name or path of a chip file, got {name!r}")])
    chain = chain + (str(Path(path).resolve()),)
    if len(chain) > MAX_BASE_DEPTH:
        raise SpecError([Problem(file, where, "base", f"more than {MAX_BASE_DEPTH} chip files deep: "
                                                      + " -> ".join(Path(c).name for c in chain))])
    if "name" not in data:
        raise SpecError([Problem(file, 1, "name", f"missing required key 'name': a chip with `base: {name}` "
                                                  "needs its own name")])
    try:
        base_path = locate(name, path)
        base_data, base_lines = read_spec_file(base_path)
    except SpecError:
        raise
    except ArchsimInputError as exc:
        raise SpecError([Problem(file, where, "base", str(exc))]) from None
    if str(Path(base_path).resolve()) in chain:
        loop = " -> ".join(Path(c).name for c in chain + (str(base_path),))
        raise SpecError([Problem(file, where, "base", f"the bases form a loop: {loop}")])
    if not isinstance(base_data, dict) or base_data.get("kind") == "system":
        raise SpecError([Problem(file, where, "base", f"{base_path} is not a chip file (a base is one chip, "
                                                      "not a system or a workload)")])
    base_data, base_lines = resolve_base(Path(base_path), base_data, base_lines, locate, check, chain)
    check(Path(base_path), base_data, base_lines)  # the base must be a valid chip on its own, its problems in its file
    if "kind" in data and data["kind"] != base_data.get("kind"):
        raise SpecError([Problem(file, lines.get(("kind",)), "kind", f"is {data['kind']!r}, but the base "
                                                                     f"{name} is a {base_data.get('kind')!r} chip")])
    merged = _lay_over(copy.deepcopy(base_data), {k: v for k, v in data.items() if k != "base"})
    merged_lines = {p: where for p in _paths(merged)}  # inherited values point at the `base:` line
    merged_lines.update({p: line for p, line in lines.items() if p[:1] != ("base",)})
    return merged, merged_lines


def _lay_over(base: dict, top: dict) -> dict:
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _lay_over(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _paths(data, prefix: tuple = ()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
