"""Sweep files (`version: 1`): a base chip, workload, scenario and mapper, and the axes to vary.

    version: 1
    chip: h100-sxm
    workload: llama3.1-8b
    scenario: {phase: decode, batch: 1, context_len: 1024}
    axes:
      chip.hbm.bandwidth: ["2 TB/s", "3.35 TB/s", "5 TB/s"]
      scenario.batch: {start: 1, stop: 64, factor: 4}
    constraints: ["scenario.batch <= 16 or chip.hbm.bandwidth > 3e12"]

The whole file is checked before any point runs: every problem is reported
together with its file, line and key path (unknown keys with a did-you-mean),
and every axis value is checked against the chip schema, the scenario fields
and the mapper's options. See docs/sweep.md.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from archsim import __version__
from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.limits import MAX_SWEEP_POINTS
from archsim.spec import Field, check_section, config_hash, did_you_mean, read_spec_file
from archsim.sweep.axes import (SCENARIO, Axis, ValueChecker, axis_kind, axis_values, resolve_relative,
                                unknown_axis_message)
from archsim.sweep.constraints import Constraint, ConstraintError, parse_constraint

FIDELITIES = ("roofline", "task", "cycle")

SWEEP = {
    "version": Field("choice", "schema version of this file", choices=(1,)),
    "name": Field("str", "name of the sweep (default: the file name)", required=False),
    "description": Field("str", "one line about what the sweep asks", required=False, default=""),
    "chip": Field("str", "base chip or system: bundled name or path", required=False),
    "workload": Field("str", "model name, path, gemm:MxNxK or gemv:NxK", required=False),
    "scenario": SCENARIO,
    "mapper": Field("str", "mapper name (default: the chip family's)", required=False, default="auto"),
    "options": Field("mapping", "mapper options, like {tp: 8}", required=False),
    "fidelity": Field("choice", "roofline, task or cycle (the command's --fidelity wins)", required=False,
                      default="task", choices=FIDELITIES),
    "axes": Field("mapping", "axis name -> list of values or a range", required=False),
    "combine": Field("choice", "product of the axes, or zip them in step", required=False, default="product",
                     choices=("product", "zip")),
    "constraints": Field("list_str", "expressions a point must satisfy to run", required=False, default=()),
    "serving": Field("mapping", "a serving description (the keys of a --serving file): each point is a serving "
                                "run, with serving.<key> axes", required=False),
    "find_max_rate": Field("bool", "serving: each point searches the highest rate meeting serving.slo",
                           required=False, default=False),
    "rate_tolerance": Field("float", "serving: the rate search stops at this relative width", required=False,
                            default=0.02, positive=True),
}


@dataclass(frozen=True)
class Point:
    """One configuration to run. `config()` is what a worker needs; `key` identifies its result."""

    index: int
    key: str
    params: dict  # axis name -> value as written in the sweep file
    chip: str
    overrides: tuple  # ((path, value), ...) for load_system
    workload: str
    scenario: dict
    mapper: str
    options: dict
    fidelity: str
    serving: dict | None = None  # a serving point: description (as written), find_max_rate, rate_tolerance

    def config(self) -> dict:
        config = dict(chip=self.chip, overrides=[list(o) for o in self.overrides], workload=self.workload,
                      scenario=dict(self.scenario), mapper=self.mapper, options=dict(self.options),
                      fidelity=self.fidelity)
        if self.serving is not None:
            config["serving"] = dict(self.serving)
        return config


@dataclass(frozen=True)
class SweepSpec:
    file: str
    name: str
    description: str
    chip: str | None
    workload: str | None
    scenario: dict
    mapper: str
    options: dict
    fidelity: str
    axes: tuple[Axis, ...]
    combine: str
    constraints: tuple[tuple[Constraint, int | None], ...]  # (constraint, line in the file)
    digests: dict  # chip/workload name -> digest of its effective configuration
    _expanded: dict = field(default_factory=dict, compare=False, repr=False)  # fidelity -> (points, dropped)
    serving: dict | None = None  # the serving block as written (None: each point is one step)
    serving_env: dict = field(default_factory=dict)  # the block's values by key path, units parsed
    find_max_rate: bool = False
    rate_tolerance: float = 0.02
    lines: dict = field(default_factory=dict, compare=False, repr=False)  # key path -> line (serving checks)
    _serving_checked: dict = field(default_factory=dict, compare=False, repr=False)  # axis values -> checked

    def points(self, fidelity: str | None = None) -> list[Point]:
        """Every point that satisfies the constraints, in axis order (the last axis varies fastest)."""
        return self._expand(fidelity or self.fidelity)[0]

    def size(self) -> tuple[int, int]:
        """(points kept, points dropped by constraints)."""
        kept, dropped = self._expand(self.fidelity)
        return len(kept), dropped

    def _combos(self):
        ranges = [range(len(a.values)) for a in self.axes]
        if self.combine == "zip":
            return zip(*ranges) if ranges else iter([()])
        return itertools.product(*ranges)

    def _expand(self, fidelity: str) -> tuple[list[Point], int]:
        if fidelity in self._expanded:
            return self._expanded[fidelity]
        points, dropped, problems = [], 0, {}
        for combo in self._combos():
            point, env = self._point(len(points), combo, fidelity)
            if not self._keep(env):
                dropped += 1
                continue
            if self.serving is not None:
                point, found = self._serving_point(point, combo)
                problems.update({(p.path, p.message.split(" (at ")[0]): p for p in found})  # once per problem
                if point is None:
                    continue
            points.append(point)
        if problems:
            raise SpecError(list(problems.values()))
        self._expanded[fidelity] = (points, dropped)
        return points, dropped

    def _serving_point(self, point: Point, combo: tuple) -> tuple[Point | None, list]:
        """The point as a serving run: its description checked (once per combination of serving values) and
        its key over the effective description; or None and the problems."""
        from archsim.sweep.serving import apply, check_point, file_digests

        chosen = tuple((a.serving_key, a.name, i, a.values[i]) for a, i in zip(self.axes, combo)
                       if a.kind == "serving")
        if chosen not in self._serving_checked:
            self._serving_checked[chosen] = check_point(self.serving, list(chosen), self.file, self.lines,
                                                        self.find_max_rate)
        effective, problems = self._serving_checked[chosen]
        if effective is None:
            return None, problems
        run = dict(description=apply(self.serving, [(k, v) for k, _, _, v in chosen]),
                   find_max_rate=self.find_max_rate, rate_tolerance=self.rate_tolerance)
        keyed = dict(effective=effective, files=file_digests(effective), find_max_rate=self.find_max_rate,
                     rate_tolerance=self.rate_tolerance if self.find_max_rate else None)
        key = point_key(self.digests[point.chip], self.digests[point.workload], list(point.overrides),
                        point.scenario, point.mapper, point.options, point.fidelity, serving=keyed)
        return replace(point, key=key, serving=run), []

    def _keep(self, env: dict) -> bool:
        for i, (c, line) in enumerate(self.constraints):
            try:
                if not c.holds(env):
                    return False
            except ConstraintError as exc:
                raise SpecError([Problem(self.file, line, f"constraints.{i}", str(exc))]) from None
        return True

    def _point(self, index: int, combo: tuple, fidelity: str) -> tuple[Point, dict]:
        chip, workload = self.chip, self.workload
        scenario, options, overrides, params = dict(self.scenario), dict(self.options), [], {}
        env = {}
        for axis, i in zip(self.axes, combo):
            value = axis.values[i]
            params[axis.name] = value
            env[axis.name] = axis.parsed[i]
            if axis.kind == "chip":
                chip = value
            elif axis.kind == "workload":
                workload = value
            elif axis.kind in ("chip_key", "system_key"):
                overrides.append((axis.override, value))
            elif axis.kind == "scenario":
                scenario[axis.key] = axis.parsed[i]
            elif axis.kind == "serving":
                env[f"serving.{axis.serving_key}"] = axis.parsed[i]
            else:
                options[axis.key] = value
        if self.serving is not None:  # a serving run takes the dtypes of the scenario, nothing else
            from archsim.sweep.serving import SERVING_SCENARIO

            scenario = {k: scenario[k] for k in SERVING_SCENARIO}
            env.update({f"serving.{k}": v for k, v in self.serving_env.items() if f"serving.{k}" not in env})
        env.update({f"scenario.{k}": v for k, v in scenario.items()})
        env.update({f"options.{k}": v for k, v in options.items()})
        env.update(chip=chip, workload=workload, mapper=self.mapper)
        overrides.sort(key=lambda o: o[0])
        key = point_key(self.digests[chip], self.digests[workload], overrides, scenario, self.mapper, options,
                        fidelity)
        return Point(index, key, params, chip, tuple(overrides), workload, scenario, self.mapper, options,
                     fidelity), env


def point_key(chip_digest: str, workload_digest: str, overrides: list, scenario: dict, mapper: str, options: dict,
              fidelity: str, serving: dict | None = None) -> str:
    """The key of a point's result: a hash of its effective configuration and the archsim version (a search's
    points are keyed the same way, so sweeps and searches share one store). `serving`: a serving point's
    effective description and rate search (a step point's key has no such entry, so it did not change)."""
    config = dict(archsim=__version__, chip=chip_digest, workload=workload_digest,
                  overrides=[list(o) for o in overrides], scenario=scenario, mapper=mapper, options=options,
                  fidelity=fidelity)
    if serving is not None:
        config["serving"] = serving
    return config_hash(config)


def workload_digest(workload: str) -> str:
    """What a point's key records of its workload: the validated model file's content, or the inline name."""
    from archsim.workload.inline import inline_graph, is_inline
    from archsim.workload.model import load_transformer

    if is_inline(workload):
        inline_graph(workload, "bf16")
        return workload
    return config_hash(asdict(load_transformer(workload)))


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; raise SpecError listing every problem."""
    file = str(path)
    data, lines = read_spec_file(Path(path))
    if not isinstance(data, dict):
        raise SpecError([Problem(file, 1, "", "expected a mapping with version, chip, workload, axes, ...")])
    if "kind" in data:  # sweep files have no kind; chips, systems and workloads do
        raise SpecError([Problem(file, lines.get(("kind",)), "kind",
                                 f"a sweep file has no 'kind'; this is a {data['kind']!r} file (a chip, system "
                                 f"or workload): name it as the sweep's `chip:` or `workload:` instead")])
    data = dict(data)
    if data.get("scenario") is None:
        data["scenario"] = {}
    node, problems = check_section(data, SWEEP, file, lines)
    base_dir = Path(path).resolve().parent
    raw_axes = (node.get("axes") or {}) if node is not None else {}
    chip = resolve_relative(node.chip, base_dir) if node and node.get("chip") else None
    workload = resolve_relative(node.workload, base_dir) if node and node.get("workload") else None
    kinds, values = _read_axes(raw_axes, file, lines, base_dir, problems)
    combine = node.get("combine", "product") if node is not None else "product"
    too_many = _count_points(values, combine, file, lines)
    if too_many:  # before any value is checked or any point is made
        raise SpecError(problems + [too_many])
    chips = values.get("chip") or ([chip] if chip else [])
    workloads = values.get("workload") or ([workload] if workload else [])
    if not chips and "chip" not in raw_axes:
        problems.append(Problem(file, None, "chip", "missing: give a base `chip:` or a `chip` axis"))
    if not workloads and "workload" not in raw_axes:
        problems.append(Problem(file, None, "workload", "missing: give a base `workload:` or a `workload` axis"))

    mapper = node.get("mapper", "auto") if node is not None else "auto"
    systems, digests = _load_chips(chips, file, lines, problems)
    digests.update(_load_workloads(workloads, file, lines, problems))
    checker = ValueChecker(file, lines, systems, mapper)
    mapper_ok = bool(systems) and checker.check_mapper(dict(node.get("options") or {}) if node else {})
    axes = []
    if systems:
        for name, vals in values.items():
            if kinds[name] == "option" and not mapper_ok:
                continue
            axes.append(Axis(name, kinds[name], tuple(vals), checker.check(kinds[name], name, vals)))
    problems += checker.problems
    if combine == "zip" and len({len(a.values) for a in axes}) > 1:
        problems.append(Problem(file, lines.get(("combine",)), "combine",
                                "zip needs every axis to have the same number of values; got "
                                + ", ".join(f"{a.name}: {len(a.values)}" for a in axes)))
    constraints = _parse_constraints(node.get("constraints", ()) if node is not None else (), file, lines,
                                     problems)
    from archsim.sweep.serving import read_block

    serving, serving_env = read_block(data, node, kinds, mapper, workloads, file, lines,
                                      lambda name: resolve_relative(name, base_dir), problems)
    if problems:
        raise SpecError(problems)
    spec = SweepSpec(file, node.get("name") or Path(path).stem, node.description, chip, workload,
                     node.scenario.to_dict(), mapper, dict(node.get("options") or {}), node.fidelity,
                     tuple(axes), combine, constraints, digests, serving=serving, serving_env=serving_env,
                     find_max_rate=node.find_max_rate, rate_tolerance=node.rate_tolerance, lines=lines)
    _check_constraints(spec)
    if serving is not None:
        spec.size()  # checks every combination of serving values the sweep runs (SpecError with each problem)
    return spec


def _read_axes(raw_axes: dict, file: str, lines, base_dir: Path, problems: list) -> tuple[dict, dict]:
    """Axis names -> (kind of each, values of each well-formed axis, in file order)."""
    kinds = {name: axis_kind(name) for name in raw_axes}
    values: dict[str, list] = {}
    for name, raw in raw_axes.items():
        if kinds[name] is None:
            problems.append(Problem(file, lines.get(("axes", name)), f"axes.{name}", unknown_axis_message(name)))
            continue
        vals, more = axis_values(raw, file, lines, ("axes", name))
        if kinds[name] in ("chip", "workload"):  # names or paths: a number there is no chip or model
            more += [Problem(file, lines.get(("axes", name, i), lines.get(("axes", name))), f"axes.{name}.{i}",
                             f"expected a {kinds[name]} name or path (a string), got {v!r}")
                     for i, v in enumerate(vals) if not isinstance(v, str)]
        problems += more
        if not more:
            values[name] = [resolve_relative(v, base_dir) if kinds[name] in ("chip", "workload") and
                            isinstance(v, str) else v for v in vals]
    return kinds, values


def _count_points(values: dict, combine: str, file: str, lines) -> Problem | None:
    """The sweep's size before constraints, against archsim's limit (a problem, or None)."""
    sizes = [len(v) for v in values.values()]
    total = (min(sizes) if sizes else 1) if combine == "zip" else math.prod(sizes)
    if total <= MAX_SWEEP_POINTS:
        return None
    shape = " x ".join(f"{len(v):,} ({name})" for name, v in values.items())
    return Problem(file, lines.get(("axes",)), "axes", f"the sweep has {total:,} points ({shape}); archsim runs at "
                                                       f"most {MAX_SWEEP_POINTS:,} per sweep: split it, or use "
                                                       "fewer values per axis")


def _load_chips(chips: list, file: str, lines, problems: list) -> tuple[dict, dict]:
    from archsim.hw.load import load_system

    systems, digests = {}, {}
    for i, chip in enumerate(chips):
        path = ("axes", "chip", i) if ("axes", "chip", i) in lines else ("chip",)
        try:
            systems[chip] = load_system(chip)
            digests[chip] = systems[chip].config_hash  # the effective config, not the file's comments
        except ArchsimInputError as exc:
            problems.append(Problem(file, lines.get(path), ".".join(map(str, path)), str(exc)))
    return systems, digests


def _load_workloads(workloads: list, file: str, lines, problems: list) -> dict:
    digests = {}
    for i, workload in enumerate(workloads):
        path = ("axes", "workload", i) if ("axes", "workload", i) in lines else ("workload",)
        try:
            digests[workload] = workload_digest(workload)
        except ArchsimInputError as exc:
            problems.append(Problem(file, lines.get(path), ".".join(map(str, path)), str(exc)))
    return digests


def _parse_constraints(texts, file: str, lines, problems: list) -> tuple:
    out = []
    for i, text in enumerate(texts):
        try:
            out.append((parse_constraint(text), lines.get(("constraints", i))))
        except ConstraintError as exc:
            problems.append(Problem(file, lines.get(("constraints", i)), f"constraints.{i}", str(exc)))
    return tuple(out)


def _check_constraints(spec: SweepSpec) -> None:
    """Names must exist; every point must evaluate to true or false; some point must survive."""
    _, env = spec._point(0, next(iter(spec._combos())), spec.fidelity)
    problems = []
    for i, (c, line) in enumerate(spec.constraints):
        for name in c.names:
            if name not in env:
                problems.append(Problem(spec.file, line, f"constraints.{i}",
                                        f"unknown name {name!r}{did_you_mean(name, env)}; names: "
                                        + ", ".join(sorted(env))))
    if problems:
        raise SpecError(problems)
    if spec.constraints and spec.size()[0] == 0:  # expands once; a constraint that cannot be evaluated raises
        raise SpecError([Problem(spec.file, spec.constraints[0][1], "constraints",
                                 "the constraints drop every point of the sweep")])
