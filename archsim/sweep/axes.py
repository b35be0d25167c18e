"""Sweep axes: what each axis name means, and checking every value before a point runs.

Axis names:
    chip                   a list of chips or systems (bundled names or paths)
    workload               a list of workloads (names, paths, gemm:MxNxK)
    chip.<key path>        a chip value (`--set` on the chip; on a system, the member chip)
    system.<key path>      a system value (`count`, `interconnect.link_bandwidth`)
    scenario.<field>       a Scenario field (phase, batch, prompt_len, ...)
    options.<name>         a mapper option
    serving.<key>          a key of the serving description (serving.arrivals.rate, or its flag name
                           serving.rate): the points are serving runs (archsim/sweep/serving.py)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.limits import MAX_BATCH, MAX_CONTEXT
from archsim.spec import OVERRIDE_NOTE, Field, Lines, SpecNode, check_value, did_you_mean
from archsim.sweep.ranges import expand_range
from archsim.workload.model import DTYPE_BYTES, Scenario

_DEFAULTS = {f.name: f.default for f in fields(Scenario)}
_DTYPES = tuple(DTYPE_BYTES)

# Scenario fields as a schema (the Scenario dataclass holds the defaults).
SCENARIO = {
    "phase": Field("choice", "prefill or one decode step", required=False, default=_DEFAULTS["phase"],
                   choices=("prefill", "decode")),
    "batch": Field("int", "sequences processed together", required=False, default=_DEFAULTS["batch"],
                   positive=True, maximum=MAX_BATCH),
    "prompt_len": Field("int", "prompt tokens (prefill)", required=False, default=_DEFAULTS["prompt_len"],
                        positive=True, maximum=MAX_CONTEXT),
    "context_len": Field("int", "tokens in the KV cache (decode)", required=False,
                         default=_DEFAULTS["context_len"], positive=True, maximum=MAX_CONTEXT),
    "weight_dtype": Field("choice", "weight dtype", required=False, default=_DEFAULTS["weight_dtype"],
                          choices=_DTYPES),
    "act_dtype": Field("choice", "activation dtype", required=False, default=_DEFAULTS["act_dtype"],
                       choices=_DTYPES),
    "kv_dtype": Field("choice", "KV-cache dtype", required=False, default=_DEFAULTS["kv_dtype"],
                      choices=_DTYPES),
}

KIND_OF_PREFIX = {"chip": "chip_key", "system": "system_key", "scenario": "scenario", "options": "option",
                  "serving": "serving"}
AXIS_HELP = ("axes are chip, workload, chip.<key path>, system.<key path>, "
             f"scenario.<field> ({', '.join(SCENARIO)}), options.<mapper option> and serving.<key> "
             "(with a serving: block)")


@dataclass(frozen=True)
class Axis:
    name: str  # as written: "chip.hbm.bandwidth"
    kind: str  # chip | workload | chip_key | system_key | scenario | option | serving
    values: tuple  # as written (unit strings stay strings)
    parsed: tuple  # what constraints see: chip/system values parsed to base units

    @property
    def key(self) -> str:
        """The part after the prefix: hbm.bandwidth, batch, tp."""
        return self.name.split(".", 1)[1] if "." in self.name else self.name

    @property
    def serving_key(self) -> str:
        """A serving axis's key path in the serving description: arrivals.rate (also for serving.rate)."""
        from archsim.sweep.serving import serving_key

        return serving_key(self.name) or ""

    @property
    def override(self) -> str:
        """The `--set` path load_system takes (it routes `chip.` to a system's member chip)."""
        return self.name if self.kind == "chip_key" else self.key


def axis_kind(name: str) -> str | None:
    """The kind of an axis name, or None if it names nothing (see unknown_axis_message)."""
    if name in ("chip", "workload"):
        return name
    head, _, rest = name.partition(".")
    if not rest or head not in KIND_OF_PREFIX:
        return None
    if head == "scenario" and rest not in SCENARIO:
        return None
    if head == "serving":  # imported here: the serving schema brings numpy, which `archsim --help` must not
        from archsim.sweep.serving import serving_key

        return "serving" if serving_key(name) is not None else None
    return KIND_OF_PREFIX[head]


def unknown_axis_message(name: str) -> str:
    head, dot, rest = name.partition(".")
    if head == "serving":
        from archsim.sweep.serving import unknown_serving_axis

        return unknown_serving_axis(name)
    if dot and head not in KIND_OF_PREFIX:
        hint = did_you_mean(head, list(KIND_OF_PREFIX))
    else:
        hint = did_you_mean(name, ["chip", "workload", *(f"scenario.{k}" for k in SCENARIO)])
    return f"unknown axis {name!r}{hint}; {AXIS_HELP}"


def axis_values(raw, file: str, lines: Lines, path: tuple) -> tuple[list, list[Problem]]:
    """A list of values, or a range mapping -> (values, problems)."""
    if isinstance(raw, dict):
        return expand_range(raw, file, lines, path)
    where = lines.get(path)
    if not isinstance(raw, list):
        return [], [Problem(file, where, _join(path), f"expected a list of values or a range like "
                                                       f"{{start: 1, stop: 64, factor: 2}}, got {raw!r}")]
    if not raw:
        return [], [Problem(file, where, _join(path), "needs at least one value")]
    problems = [Problem(file, lines.get(path + (i,), where), _join(path + (i,)),
                        f"expected a single value (number, string or true/false), got {type(v).__name__}")
                for i, v in enumerate(raw) if isinstance(v, (dict, list)) or v is None]
    if len(set(map(repr, raw))) != len(raw):
        problems.append(Problem(file, where, _join(path), "a value appears twice; each point would run twice"))
    return list(raw), problems


def resolve_relative(name: str, base_dir: Path) -> str:
    """A chip/workload path written in a sweep file is relative to that file."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        p = Path(name)
        if not p.is_absolute() and (base_dir / p).exists():
            return str((base_dir / p).resolve())
    return name


class ValueChecker:
    """Checks axis values against the chips, mapper and scenario schema, collecting problems."""

    def __init__(self, file: str, lines: Lines, systems: dict, mapper: str):
        self.file, self.lines = file, lines
        self.systems = systems  # chip name -> loaded System (no overrides)
        self.mapper = mapper
        self.problems: list[Problem] = []

    def problem(self, path: tuple, message: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines and self.lines[path[:cut]] is not None:
                line = self.lines[path[:cut]]
                break
        self.problems.append(Problem(self.file, line, _join(path), message))

    def check(self, kind: str, name: str, values: list) -> tuple:
        """-> parsed values (for constraints); records a problem for each bad value."""
        path = ("axes", name)
        if kind == "scenario":
            out = []
            for i, v in enumerate(values):
                ok, parsed, problems = check_value(v, SCENARIO[name.split(".", 1)[1]], self.file, self.lines,
                                                   path + (i,))
                self.problems += problems
                out.append(parsed if ok else v)
            return tuple(out)
        if kind == "option":
            for kind_name in sorted({s.kind for s in self.systems.values()}):
                for i, v in enumerate(values):
                    self._check_options({name.split(".", 1)[1]: v}, kind_name, path + (i,))
            return tuple(values)
        if kind in ("chip_key", "system_key"):
            return self._check_chip_values(kind, name, values, path)
        if kind == "serving":
            from archsim.sweep.serving import check_values

            parsed, problems = check_values(name, values, self.file, self.lines)
            self.problems += problems
            return parsed
        return tuple(values)  # chip and workload names are checked when loaded

    def check_mapper(self, options: dict) -> bool:
        """The mapper exists for every chip kind in play, and takes the base options."""
        from archsim.mapping.base import resolve_mapper

        for kind_name in sorted({s.kind for s in self.systems.values()}):
            try:
                resolve_mapper(self.mapper, kind_name)
            except ArchsimInputError as exc:
                self.problem(("mapper",), str(exc))
                return False
            self._check_options(options, kind_name, ("options",))
        return True

    def _check_options(self, options: dict, chip_kind: str, path: tuple) -> None:
        from archsim.mapping.base import resolve_mapper

        try:
            resolve_mapper(self.mapper, chip_kind).parse_options(options)
        except ArchsimInputError as exc:
            self.problem(path, f"{exc} (chip kind {chip_kind})")

    def _check_chip_values(self, kind: str, name: str, values: list, path: tuple) -> tuple:
        from archsim.hw.load import load_system

        axis = Axis(name, kind, tuple(values), ())
        parsed: list[Any] = list(values)
        for chip, system in self.systems.items():
            if kind == "system_key" and system.count == 1 and system.interconnect is None:
                self.problem(path, f"{chip!r} is a single chip: system.<key> axes need a system "
                                   f"(like dgx-h100) as the chip; a chip's own keys are chip.<key>")
                continue
            field = _field_at(system, kind, axis.key)
            for i, v in enumerate(values):
                if i > 0 and field is not None:  # the path is known good: check the value alone (fast)
                    ok, value, problems = check_value(v, field, self.file, self.lines, path + (i,))
                    for p in problems:
                        self.problem(path + (i,), f"{p.message} (chip {chip})")
                    if ok and i < len(parsed) and parsed[i] is v:
                        parsed[i] = value
                    continue
                try:
                    loaded = load_system(chip, [(axis.override, v)])
                except SpecError as exc:
                    overrides_wrong = any(p.file == "--set" for p in exc.problems)
                    for p in exc.problems:
                        message = p.message.removesuffix(OVERRIDE_NOTE)  # the value is the axis's
                        text = message if p.line is None else str(p)
                        self.problem(path if overrides_wrong else path + (i,), f"{text} (chip {chip})")
                    if overrides_wrong:
                        break  # the key path itself is wrong: one message, not one per value
                    continue
                if i < len(parsed) and parsed[i] is v:
                    parsed[i] = _value_at(loaded, kind, axis.key)
        return tuple(parsed)


def _field_at(system, kind: str, key: str) -> Field | None:
    """The schema Field an axis sets (chip.<key> on the chip, or on a system's member chip;
    system.<key> on the system), or None if the path names no value."""
    from archsim.hw.schema import chip_schema, system_schema

    node: Any = chip_schema(system.kind) if kind == "chip_key" else system_schema()
    for k in key.split("."):
        node = node.get(k) if isinstance(node, dict) else None
    return node if isinstance(node, Field) else None


def _value_at(system, kind: str, key: str):
    node: Any = system.chip if kind == "chip_key" else system
    for k in key.split("."):
        node = node.get(k) if isinstance(node, SpecNode) else getattr(node, k, None)
    return node


def _join(path: tuple) -> str:
    return ".".join(str(p) for p in path)
