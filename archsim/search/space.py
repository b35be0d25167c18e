"""Search spaces (`version: 1`): the keys of a family's mapping file to vary, and their values.

    version: 1
    name: wse3-decode
    family: mesh                     # optional: checked against the chip
    fixed: {strategy: meshgemv}      # mapping keys held fixed (the rest default as in a mapping file)
    axes:
      region: [152x168, 127x196, 190x130]
      tree_levels: {start: 1, stop: 3}
      microbatch: auto               # the candidates the mapper's own auto compares
      operators.qkv.tile: [32x128x64, 64x128x64]
    constraints:
      - tp * pp <= 8                 # over axes and fixed keys: a point that fails is never run
      - chips_used <= 64             # over a run's metrics: a point that fails is not a result

Axis names are key paths of the family's mapping file (archsim/families/<kind>/mapping.py). Every value is
checked against the mapping schema before anything runs, every problem reported together with the file,
line and key path; a point is a mapping file's content, turned into mapper options the way `--mapping`
turns a file. docs/mapping.md.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from archsim.errors import Problem, SpecError
from archsim.mapping.file import MappingSchema, check_body, schema_for
from archsim.spec import Field, check_section, did_you_mean, read_spec_file
from archsim.sweep.axes import axis_values
from archsim.sweep.constraints import ConstraintError, parse_constraint

SPACE = {
    "version": Field("choice", "schema version of this file", choices=(1,)),
    "name": Field("str", "name of the search (default: the file name)", required=False),
    "description": Field("str", "one line", required=False, default=""),
    "family": Field("str", "the chip kind the space is for (checked against the chip)", required=False),
    "mapper": Field("str", "mapper (default: the family schema's)", required=False),
    "fixed": Field("mapping", "mapping keys held fixed", required=False),
    "axes": Field("mapping", "mapping key path -> a list of values, a range, or auto", required=False),
    "constraints": Field("list_str", "expressions over axes (before a run) or metrics (after)", required=False,
                         default=()),
}

# Metrics a constraint may name (a run's JSON result: archsim.sweep.worker.metrics_of).
METRICS = ("latency_s", "ttft_s", "tpot_s", "tokens_per_s", "tokens_per_s_per_user", "chips_used",
           "energy_j", "energy_per_token_j", "avg_power_w", "cost_per_million_tokens", "compute_s", "memory_s",
           "comm_s", "wait_s", "roofline_latency_s")


@dataclass(frozen=True)
class SpaceAxis:
    key: str  # dotted key path of the mapping file
    values: tuple  # as written (or the mapper's auto candidates)
    auto: bool = False  # `KEY: auto`: values filled in by resolve()
    line: int | None = None


@dataclass
class SearchSpace:
    file: str
    name: str
    description: str
    family: str
    mapper: str
    fixed: dict
    axes: list[SpaceAxis]
    pre: list = field(default_factory=list)  # [(Constraint, where)] over axes and fixed keys
    post: list = field(default_factory=list)  # [(Constraint, where)] over metrics

    @property
    def schema(self) -> MappingSchema:
        return schema_for(self.family)

    def size(self) -> int:
        n = 1
        for a in self.axes:
            n *= len(a.values)
        return n

    def combos(self):
        """Every combination of axis values, in file order (the last axis varies fastest)."""
        return itertools.product(*(a.values for a in self.axes))

    def body(self, values: tuple) -> dict:
        """The mapping file's content of one point: the fixed keys with each axis's value set."""
        data = copy.deepcopy(self.fixed)
        for axis, value in zip(self.axes, values):
            set_path(data, axis.key.split("."), value)
        return data

    def params(self, values: tuple) -> dict:
        return {a.key: v for a, v in zip(self.axes, values)}

    def holds(self, values: tuple) -> tuple[bool, str]:
        """Whether the constraints over axes and fixed keys allow the point, and the first that does not."""
        plain, _ = check_body(self.schema, self.body(values), self.file, {})
        env = dict(_flatten(plain))
        env.update(self.params(values))
        for c, where in self.pre:
            try:
                if not c.holds(env):
                    return False, f"constraint {c.text!r} ({where})"
            except ConstraintError as exc:
                raise SpecError([Problem(self.file, None, where, str(exc))]) from None
        return True, ""

    def resolve(self, system, graph, scenario) -> "SearchSpace":
        """The space with every `KEY: auto` axis replaced by the candidates the mapper's auto compares."""
        if not any(a.auto for a in self.axes):
            return self
        schema = self.schema
        if schema.auto_space is None:
            raise SpecError([Problem(self.file, a.line, f"axes.{a.key}", f"the {self.family} mapping schema "
                                     "offers no auto candidates") for a in self.axes if a.auto])
        options = schema.to_options(check_body(schema, self.fixed, self.file, {})[0])
        found = schema.auto_space(system, graph, scenario, options)
        axes = []
        for a in self.axes:
            if a.auto:
                parts = a.key.split(".")
                wild = ".".join([parts[0], "*", *parts[2:]]) if len(parts) > 2 else a.key
                values = found.get(a.key, found.get(wild))
                if not values:
                    raise SpecError([Problem(self.file, a.line, f"axes.{a.key}", f"the {self.family} mapping "
                                             f"schema has no auto candidates for {a.key!r}; it has: "
                                             f"{', '.join(found) or 'none'}")])
                a = SpaceAxis(a.key, tuple(values), False, a.line)
            axes.append(a)
        return SearchSpace(self.file, self.name, self.description, self.family, self.mapper, self.fixed, axes,
                           self.pre, self.post)


def set_path(data: dict, keys: list[str], value) -> None:
    for k in keys[:-1]:
        data = data.setdefault(k, {})
    data[keys[-1]] = value


def _flatten(data: dict, prefix: str = ""):
    for k, v in data.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def load_space(path: str | Path, kind: str, constraints: tuple[str, ...] = ()) -> SearchSpace:
    """Read and check a space file for chip kind `kind` (plus `--constraint` expressions); SpecError lists
    every problem with its file, line and key path."""
    file = str(path)
    data, lines = read_spec_file(Path(path))
    if not isinstance(data, dict):
        raise SpecError([Problem(file, 1, "", "expected a mapping with version, axes, ...")])
    node, problems = check_section(data, SPACE, file, lines)
    if node is None or problems:
        raise SpecError(problems or [Problem(file, 1, "", "not a search space")])
    family = node.get("family") or kind
    if family != kind:
        raise SpecError([Problem(file, lines.get(("family",)), "family",
                                 f"this space is for {family} chips; the chip is a {kind!r} chip")])
    schema = schema_for(kind)
    fixed = dict(node.get("fixed") or {})
    _, more = check_body(schema, fixed, file, _shift(lines, "fixed"))
    problems += [Problem(p.file, p.line, f"fixed.{p.path}", p.message) for p in more]
    axes = []
    for key, raw in (node.get("axes") or {}).items():
        where = lines.get(("axes", key))
        bad = _key_problem(schema, key)
        if bad:
            problems.append(Problem(file, where, f"axes.{key}", bad))
            continue
        if raw == "auto":
            axes.append(SpaceAxis(key, (), True, where))
            continue
        values, more = axis_values(raw, file, lines, ("axes", key))
        problems += more
        for i, value in enumerate(values):
            probe = copy.deepcopy(fixed)
            set_path(probe, key.split("."), value)
            _, errs = check_body(schema, probe, file, {})
            for p in errs:
                if p.path == key or p.path.startswith(key.split(".")[0]):
                    problems.append(Problem(file, lines.get(("axes", key, i), where), f"axes.{key}.{i}", p.message))
        axes.append(SpaceAxis(key, tuple(values), False, where))
    names = {k for k, _ in _flatten(fixed)} | {a.key for a in axes} | set(schema.fields)
    pre, post = [], []
    texts = [(t, f"constraints.{i}", lines.get(("constraints", i))) for i, t in enumerate(node.constraints)]
    texts += [(t, f"--constraint {t}", None) for t in constraints]
    for text, where, line in texts:
        try:
            c = parse_constraint(text)
        except ConstraintError as exc:
            problems.append(Problem(file if line else "--constraint", line, where, str(exc)))
            continue
        unknown = [n for n in c.names if n not in names and n not in METRICS]
        if unknown:
            known = sorted(names | set(METRICS))
            problems.append(Problem(file if line else "--constraint", line, where,
                                    f"unknown name {unknown[0]!r}{did_you_mean(unknown[0], known)}; names: "
                                    f"mapping keys ({', '.join(sorted(names))}) and metrics ({', '.join(METRICS)})"))
            continue
        (post if any(n in METRICS for n in c.names) else pre).append((c, where))
    if problems:
        raise SpecError(problems)
    mapper = node.get("mapper") or schema.mapper
    return SearchSpace(file, node.get("name") or Path(path).stem, node.description, kind, mapper, fixed, axes,
                       pre, post)


def _shift(lines: dict, section: str) -> dict:
    """Line numbers of a section's keys, re-rooted so a checker of the section finds them."""
    return {k[1:]: v for k, v in lines.items() if k and k[0] == section}


def _key_problem(schema: MappingSchema, key: str) -> str:
    """Why `key` is not a key path of the family's mapping files ('' if it is)."""
    parts = key.split(".")
    head = parts[0]
    if head in schema.entries:
        entry, _ = schema.entries[head]
        if len(parts) != 3 or parts[2] not in entry:
            return (f"{head} axes are {head}.NAME.FIELD with FIELD one of {', '.join(entry)} "
                    f"(like {head}.qkv.{next(iter(entry))}), got {key!r}")
        return ""
    if head not in schema.fields or len(parts) > 1:
        known = list(schema.fields) + [f"{k}.NAME.FIELD" for k in schema.entries]
        return (f"unknown mapping key {key!r}{did_you_mean(head, schema.fields)}; the {schema.family} mapping "
                f"keys: {', '.join(known)}")
    return ""
