"""Axis values written as a range instead of a list.

    scenario.batch: {start: 1, stop: 64, factor: 2}          # 1, 2, 4, ..., 64
    chip.hbm.bandwidth: {start: "1 TB/s", stop: "5 TB/s", num: 5}   # "1 TB/s" ... "5 TB/s"
    scenario.context_len: {start: 512, stop: 8192, num: 5, scale: log}
    scenario.prompt_len: {start: 128, stop: 1024, step: 128}

`stop` is included when a value lands on it. A range over quantities keeps
the unit of `start` (written the same way in `stop` and `step`), so the
values stay unit strings and are checked like a chip file's. Integer
endpoints give integers (log and evenly spaced values are rounded; repeats
after rounding are dropped).
"""
from __future__ import annotations

import math
import re

from archsim.errors import Problem
from archsim.limits import MAX_RANGE_VALUES
from archsim.spec import Field, Lines, check_section

MAX_VALUES = MAX_RANGE_VALUES  # a typo like step: 0.0001 should be an error, not a hang

RANGE = {
    "start": Field("scalar", "first value: a number, or a number with a unit like '1 TB/s'"),
    "stop": Field("scalar", "last value (included when a value lands on it)"),
    "step": Field("scalar", "linear spacing (same unit as start)", required=False),
    "num": Field("int", "how many values, evenly spaced from start to stop", required=False, positive=True),
    "factor": Field("float", "geometric ratio from one value to the next", required=False, positive=True),
    "scale": Field("choice", "spacing of `num` values", required=False, default="linear",
                   choices=("linear", "log")),
}

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


def _split(value) -> tuple[float, str, bool] | None:
    """-> (number, unit, is_integer_literal) or None if not a number (with an optional unit)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value), "", isinstance(value, int)
    m = _NUMBER.match(value)
    if not m:
        return None
    return float(m.group(1)), m.group(2), False


def expand_range(data: dict, file: str, lines: Lines, path: tuple) -> tuple[list, list[Problem]]:
    """A range mapping at `path` -> (values, problems)."""
    node, problems = check_section(data, RANGE, file, lines, path)
    if problems:
        return [], problems

    def bad(key, message):
        where = path + (key,) if key else path
        return [], [Problem(file, lines.get(where) or lines.get(path), ".".join(map(str, where)), message)]

    ends = {}
    for key in ("start", "stop", "step"):
        value = getattr(node, key)
        if value is None:
            continue
        split = _split(value)
        if split is None:
            return bad(key, f"expected a number, or a number with a unit like '1 TB/s', got {value!r}")
        if not math.isfinite(split[0]):
            return bad(key, f"expected a finite number, got {value!r}")
        ends[key] = split
    unit = ends["start"][1]
    for key, (_, other, _) in ends.items():
        if other != unit:
            return bad(key, f"unit {other!r} differs from start's unit {unit!r}; write both the same way")
    ways = [k for k in ("step", "num", "factor") if getattr(node, k) is not None]
    if len(ways) != 1:
        return bad("", "a range needs exactly one of step, num or factor, got "
                       + (", ".join(ways) if ways else "none"))
    start, stop = ends["start"][0], ends["stop"][0]
    integer = not unit and all(is_int for _, _, is_int in ends.values()) and (
        node.factor is None or float(node.factor).is_integer())
    if node.scale == "log" and ways != ["num"]:
        return bad("scale", "scale: log goes with num (use factor for a ratio between values)")
    if node.step is not None:
        step = ends["step"][0]
        if step == 0 or (stop - start) * step < 0:
            return bad("step", f"step {node.step!r} never reaches stop {node.stop!r} from start {node.start!r}")
        steps = (stop - start) / step + 1e-9
        count = math.floor(steps) + 1 if math.isfinite(steps) else math.inf
        if count > MAX_VALUES:
            return bad("step", f"step {node.step!r} from {node.start!r} to {node.stop!r} makes {count:,} values, "
                               f"over archsim's limit of {MAX_VALUES:,} per axis")
        values = [start + i * step for i in range(count)]
    elif node.num is not None:
        n = node.num
        if n > MAX_VALUES:  # counted before any value is made
            return bad("num", f"a range of {n:,} values is over archsim's limit of {MAX_VALUES:,} per axis")
        if node.scale == "log":
            if start <= 0 or stop <= 0:
                return bad("scale", "a log range needs start and stop greater than zero")
            ratio = (stop / start) ** (1.0 / (n - 1)) if n > 1 else 1.0
            values = [start * ratio**i for i in range(n)]
        else:
            values = [start + (stop - start) * i / (n - 1) for i in range(n)] if n > 1 else [start]
        if n > 1:
            values[-1] = stop  # exact endpoint, no rounding drift
    else:
        factor = float(node.factor)
        if start <= 0 or stop <= 0 or factor == 1.0 or (stop - start) * (factor - 1.0) < 0:
            return bad("factor", f"factor {node.factor!r} never reaches stop {node.stop!r} from start "
                                 f"{node.start!r} (start and stop must be greater than zero)")
        steps = math.log(stop / start) / math.log(factor) + 1e-9 if math.isfinite(stop / start) else math.inf
        count = math.floor(steps) + 1 if math.isfinite(steps) else math.inf
        if count > MAX_VALUES:
            return bad("factor", f"factor {node.factor!r} from {node.start!r} to {node.stop!r} makes {count:,} "
                                 f"values, over archsim's limit of {MAX_VALUES:,} per axis")
        values = [start * factor**i for i in range(count)]
    if not all(math.isfinite(v) for v in values):  # endpoints near the float limit: stop - start overflows
        return bad("", f"the values from {node.start!r} to {node.stop!r} overflow; use smaller numbers")
    return _format(values, unit, integer), []


def _format(values: list[float], unit: str, integer: bool) -> list:
    out: dict = {}  # ordered, and a repeat after rounding is found in O(1) (a list was O(n^2) at 100k values)
    for v in values:
        if integer:
            item = int(round(v))
        elif unit:
            item = f"{float(f'{v:.6g}'):g} {unit}"
        else:
            item = float(f"{v:.12g}")
        out.setdefault(item, None)
    return list(out)
