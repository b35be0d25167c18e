"""The IR between mapping and engine: a task graph in structure-of-arrays form.

A `TaskGraph` holds plain numpy arrays and nothing else crosses into the
engine. Tasks occupy a *route*: an ordered list of resources (one resource for
an ordinary task, several links for a cut-through transfer, none for a pure
delay). Dependencies are in CSR form (predecessors of task k are
``dep_idx[dep_ptr[k]:dep_ptr[k+1]]``), routes likewise (``route_res`` sliced by
``route_ptr``). Labels (operator, layer, category) ride along for the report;
the engine ignores them.

A TaskGraph is validated when constructed, so every instance the engine sees
is well formed; bad input raises `TaskGraphError` naming the task or resource,
what was expected and what was given. Semantics: docs/engine.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

import numpy as np

from archsim.errors import ArchsimInputError

RESOURCE_KINDS = ("compute", "memory", "noc", "interconnect")
CATEGORIES = ("compute", "memory", "communication")
FORMAT_VERSION = 1
# Durations are int64 cycles; keep every single duration far from overflow.
MAX_CYCLES = 2**62

_INT_FIELDS = ("resource_latency", "resource_capacity", "route_ptr", "route_res",
               "task_latency", "dep_ptr", "dep_idx", "task_op", "task_layer")
_FLOAT_FIELDS = ("resource_rate", "task_work")
_CODE_FIELDS = ("resource_kind", "task_category")
_STR_FIELDS = ("resource_name", "op_labels")
_MAX_SHOWN = 8


class TaskGraphError(ArchsimInputError):
    """A task graph that the engine cannot simulate; the message lists why."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        n = len(self.problems)
        shown = self.problems[:_MAX_SHOWN]
        more = f"\n  ... and {n - len(shown)} more" if n > len(shown) else ""
        super().__init__(f"invalid task graph ({n} problem{'s' if n != 1 else ''}):\n"
                         + "\n".join(f"  {p}" for p in shown) + more)


@dataclass(frozen=True, eq=False)
class TaskGraph:
    """Tasks on resources, as arrays. Build with `TaskGraphBuilder`.

    Resources (index r): name, kind (code into RESOURCE_KINDS), rate in work
    units per cycle, fixed latency in cycles added to each task, capacity (tasks
    served at once, each at full rate).
    Tasks (index k): route (resources held, in order), work (units), extra
    fixed latency in cycles, predecessors, op label (index into op_labels),
    layer (-1: none), category (code into CATEGORIES).

    Treat it as immutable: to change it (a what-if, say), make a new one with
    `dataclasses.replace(g, resource_rate=g.resource_rate * 2)`, which
    validates again. Arrays passed in with the right dtype are not copied.
    """

    clock_hz: float
    resource_name: np.ndarray
    resource_kind: np.ndarray
    resource_rate: np.ndarray
    resource_latency: np.ndarray
    resource_capacity: np.ndarray
    route_ptr: np.ndarray
    route_res: np.ndarray
    task_work: np.ndarray
    task_latency: np.ndarray
    dep_ptr: np.ndarray
    dep_idx: np.ndarray
    task_op: np.ndarray
    task_layer: np.ndarray
    task_category: np.ndarray
    op_labels: np.ndarray

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "clock_hz", float(self.clock_hz))
        for name in _INT_FIELDS:
            set_(self, name, _as_array(name, getattr(self, name), np.int64))
        for name in _FLOAT_FIELDS:
            set_(self, name, _as_array(name, getattr(self, name), np.float64))
        for name in _CODE_FIELDS:
            set_(self, name, _as_array(name, getattr(self, name), np.int8))
        for name in _STR_FIELDS:
            set_(self, name, np.asarray(getattr(self, name), dtype=str).reshape(-1))
        problems = _check(self)
        if problems:
            raise TaskGraphError(problems)

    @property
    def n_tasks(self) -> int:
        return int(self.task_work.shape[0])

    @property
    def n_resources(self) -> int:
        return int(self.resource_rate.shape[0])

    @property
    def task_resource(self) -> np.ndarray:
        """First resource of each task's route; -1 for delay tasks."""
        first = np.full(self.n_tasks, -1, dtype=np.int64)
        has = self.route_ptr[1:] > self.route_ptr[:-1]
        first[has] = self.route_res[self.route_ptr[:-1][has]]
        return first

    def task_route(self, k: int) -> np.ndarray:
        return self.route_res[self.route_ptr[k]:self.route_ptr[k + 1]]

    def task_deps(self, k: int) -> np.ndarray:
        return self.dep_idx[self.dep_ptr[k]:self.dep_ptr[k + 1]]

    def describe_task(self, k: int) -> str:
        return f"task {k} (op {str(self.op_labels[self.task_op[k]])!r})"

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph to an uncompressed `.npz` file."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays["clock_hz"] = np.float64(self.clock_hz)
        arrays["format_version"] = np.int64(FORMAT_VERSION)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)


def load_task_graph(path: str | os.PathLike) -> TaskGraph:
    """Read a graph written by `TaskGraph.save`; it is validated on load."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ArchsimInputError(f"task graph file {str(path)!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ArchsimInputError(f"task graph file {str(path)!r} is not a readable .npz file: {exc}") from None
    with data:
        names = [f.name for f in fields(TaskGraph)]
        missing = [n for n in names + ["format_version"] if n not in data.files]
        if missing:
            raise TaskGraphError([f"{path}: missing arrays {missing}; a task graph file has {sorted(names)}"])
        version = int(data["format_version"])
        if version != FORMAT_VERSION:
            raise TaskGraphError([f"{path}: format_version must be {FORMAT_VERSION}. Got {version} instead."])
        try:
            arrays = {n: data[n] for n in names}
        except ValueError as exc:  # e.g. object arrays, which need pickle
            raise TaskGraphError([f"{path}: cannot read its arrays: {exc}"]) from None
        return TaskGraph(**arrays)


def _as_array(name: str, value, dtype) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise TaskGraphError([f"{name} must be a 1-D array. Got shape {arr.shape} instead."])
    if arr.dtype == dtype:
        return arr
    if arr.size and np.dtype(dtype).kind == "i":
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))
                                                & (np.abs(arr) <= MAX_CYCLES)):
            raise TaskGraphError([f"{name} must hold integers. Got dtype {arr.dtype} with non-integer "
                                  "or out-of-range values."])
        if arr.dtype.kind not in "iuf" and arr.dtype != bool:
            raise TaskGraphError([f"{name} must hold integers. Got dtype {arr.dtype} instead."])
    if arr.size and np.dtype(dtype).kind == "f" and arr.dtype.kind not in "iuf":
        raise TaskGraphError([f"{name} must hold numbers. Got dtype {arr.dtype} instead."])
    converted = arr.astype(dtype)
    if arr.size and arr.dtype.kind in "iu" and not np.array_equal(converted, arr):
        raise TaskGraphError([f"{name} has values out of range for {np.dtype(dtype).name}."])
    return converted


def _bad(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)[:_MAX_SHOWN]


def _check(g: TaskGraph) -> list[str]:
    """Every problem with the graph, as sentences; empty when it is valid."""
    if not (np.isfinite(g.clock_hz) and g.clock_hz > 0):
        return [f"clock_hz must be a positive number. Got {g.clock_hz!r} instead."]
    p = _check_shapes(g)
    if p:
        return p
    p += _check_resources(g)
    p += _check_tasks(g)
    if p:
        return p
    return _check_acyclic(g)


def _check_shapes(g: TaskGraph) -> list[str]:
    p = []
    nr, n = g.resource_rate.shape[0], g.task_work.shape[0]
    for name in ("resource_name", "resource_kind", "resource_latency", "resource_capacity"):
        if getattr(g, name).shape[0] != nr:
            p.append(f"{name} has {getattr(g, name).shape[0]} entries; expected one per resource ({nr}).")
    for name in ("task_latency", "task_op", "task_layer", "task_category"):
        if getattr(g, name).shape[0] != n:
            p.append(f"{name} has {getattr(g, name).shape[0]} entries; expected one per task ({n}).")
    for ptr, idx in (("route_ptr", "route_res"), ("dep_ptr", "dep_idx")):
        a, b = getattr(g, ptr), getattr(g, idx)
        if a.shape[0] != n + 1:
            p.append(f"{ptr} has {a.shape[0]} entries; expected n_tasks + 1 ({n + 1}).")
        elif a[0] != 0 or a[-1] != b.shape[0] or np.any(np.diff(a) < 0):
            p.append(f"{ptr} must start at 0, never decrease and end at len({idx}) ({b.shape[0]}).")
    return p


def _check_resources(g: TaskGraph) -> list[str]:
    p = []
    for r in _bad(~(np.isfinite(g.resource_rate) & (g.resource_rate > 0))):
        p.append(f"resource {r} ({str(g.resource_name[r])!r}): rate must be a positive finite number "
                 f"of work units per cycle. Got {g.resource_rate[r].item()!r} instead.")
    for r in _bad((g.resource_latency < 0) | (g.resource_latency > MAX_CYCLES)):
        p.append(f"resource {r} ({str(g.resource_name[r])!r}): latency must be an integer number of "
                 f"cycles >= 0. Got {g.resource_latency[r]} instead.")
    for r in _bad(g.resource_capacity < 1):
        p.append(f"resource {r} ({str(g.resource_name[r])!r}): capacity must be an integer >= 1. "
                 f"Got {g.resource_capacity[r]} instead.")
    for r in _bad((g.resource_kind < 0) | (g.resource_kind >= len(RESOURCE_KINDS))):
        p.append(f"resource {r} ({str(g.resource_name[r])!r}): kind code must index {RESOURCE_KINDS}. "
                 f"Got {g.resource_kind[r]} instead.")
    return p


def _check_tasks(g: TaskGraph) -> list[str]:
    p = []
    n, nr = g.n_tasks, g.n_resources
    for e in _bad((g.route_res < 0) | (g.route_res >= nr)):
        k = int(np.searchsorted(g.route_ptr, e, side="right") - 1)
        p.append(f"task {k}: route resource index {g.route_res[e]} is out of range; "
                 f"expected 0 <= index < {nr} (the number of resources).")
    for e in _bad((g.dep_idx < 0) | (g.dep_idx >= n)):
        k = int(np.searchsorted(g.dep_ptr, e, side="right") - 1)
        p.append(f"task {k}: dependency index {g.dep_idx[e]} is out of range; "
                 f"expected 0 <= index < {n} (the number of tasks).")
    for k in _bad(~(np.isfinite(g.task_work) & (g.task_work >= 0))):
        p.append(f"task {k}: work must be a finite number >= 0. Got {g.task_work[k].item()!r} instead.")
    for k in _bad((g.task_latency < 0) | (g.task_latency > MAX_CYCLES)):
        p.append(f"task {k}: latency must be an integer number of cycles >= 0. Got {g.task_latency[k]} instead.")
    for k in _bad((g.task_category < 0) | (g.task_category >= len(CATEGORIES))):
        p.append(f"task {k}: category code must index {CATEGORIES}. Got {g.task_category[k]} instead.")
    for k in _bad((g.task_op < 0) | (g.task_op >= max(len(g.op_labels), 0))):
        p.append(f"task {k}: op label index {g.task_op[k]} is out of range; "
                 f"expected 0 <= index < {len(g.op_labels)} (the number of op labels).")
    if p:
        return p
    delay = g.route_ptr[1:] == g.route_ptr[:-1]
    for k in _bad(delay & (g.task_work != 0)):
        p.append(f"{g.describe_task(k)}: a delay task (no resource) must have work 0. "
                 f"Got {g.task_work[k].item()!r} instead; give it a resource or use latency.")
    owner = np.repeat(np.arange(n), np.diff(g.dep_ptr))
    for e in _bad(g.dep_idx == owner):
        p.append(f"{g.describe_task(int(owner[e]))} depends on itself.")
    dup = _first_repeated_link(g)
    if dup >= 0:
        p.append(f"{g.describe_task(dup)}: route {g.task_route(dup).tolist()} names a resource twice; "
                 "a route holds each link once.")
    return p


def _first_repeated_link(g: TaskGraph) -> int:
    """Lowest task whose route names one resource twice, or -1."""
    length = np.diff(g.route_ptr)
    owner = np.repeat(np.arange(g.n_tasks), length)
    multi = length[owner] > 1
    if not np.any(multi):
        return -1
    key = np.sort(owner[multi] * g.n_resources + g.route_res[multi])
    same = np.flatnonzero(key[1:] == key[:-1])
    return int(key[same[0]] // g.n_resources) if same.size else -1


def _check_acyclic(g: TaskGraph) -> list[str]:
    owner = np.repeat(np.arange(g.n_tasks), np.diff(g.dep_ptr))
    if np.all(g.dep_idx < owner):
        return []  # every dependency points to an earlier task: trivially acyclic
    order = np.empty(g.n_tasks, dtype=np.int64)
    from archsim.engine.kernel_choice import engine_kernels

    n_sorted = engine_kernels(g.n_tasks + g.dep_idx.shape[0]).topological_order(g.dep_ptr, g.dep_idx, order)
    if n_sorted == g.n_tasks:
        return []
    left = np.ones(g.n_tasks, dtype=bool)
    left[order[:n_sorted]] = False
    cycle = _find_cycle(g, left)
    path = " -> ".join(str(k) for k in cycle)
    return [f"dependencies form a cycle: {path} (first: {g.describe_task(cycle[0])}); "
            f"{int(left.sum())} tasks can never start."]


def _find_cycle(g: TaskGraph, left: np.ndarray) -> list[int]:
    """Walk predecessors among tasks that never became ready until one repeats."""
    k = int(np.flatnonzero(left)[0])
    seen: dict[int, int] = {}
    walk: list[int] = []
    while k not in seen:
        seen[k] = len(walk)
        walk.append(k)
        k = int(next(d for d in g.task_deps(k) if left[d]))
    cycle = walk[seen[k]:]
    return list(reversed(cycle)) + [cycle[-1]]
