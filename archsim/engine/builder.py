"""`TaskGraphBuilder`: how mappers emit the IR.

Two ways to add tasks, freely mixed, kept in call order:
- one at a time (`add_task`, `add_transfer`, `add_delay`): checked on the
  spot, fine for thousands of tasks;
- in bulk from numpy arrays (`add_tasks`, `add_transfers`): one call per batch,
  dependencies as CSR arrays; the way to emit millions of tasks.
`build()` concatenates everything into a validated `TaskGraph`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from archsim.engine.ir import CATEGORIES, RESOURCE_KINDS, TaskGraph, TaskGraphError

# Category a task gets when none is given: that of its resource's kind.
_KIND_CATEGORY = np.array([0, 1, 2, 2], dtype=np.int8)  # compute, memory, noc, interconnect
_DELAY_CATEGORY = 0  # delays (launch, software overhead) count as compute time


def _fail(message: str):
    raise TaskGraphError([message])


def _choice(what: str, value, options: tuple[str, ...]) -> int:
    if value not in options:
        _fail(f"{what} must be a str among {set(options)}. Got {value!r} instead.")
    return options.index(value)


def _count(what: str, value, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        _fail(f"{what} must be an integer >= {low}. Got {value!r} instead.")
    return int(value)


class TaskGraphBuilder:
    """Accumulates resources and tasks; `build()` returns the `TaskGraph`."""

    def __init__(self, clock_hz: float):
        if not (isinstance(clock_hz, (int, float)) and math.isfinite(clock_hz) and clock_hz > 0):
            _fail(f"clock_hz must be a positive number of cycles per second. Got {clock_hz!r} instead.")
        self.clock_hz = float(clock_hz)
        self._resources: list[tuple[str, int, float, int, int]] = []
        self._labels: dict[str, int] = {}
        self._chunks: list[dict[str, np.ndarray]] = []
        self._pending: dict[str, list] = self._empty_pending()
        self._n_tasks = 0

    @property
    def n_tasks(self) -> int:
        return self._n_tasks

    @property
    def n_resources(self) -> int:
        return len(self._resources)

    def add_resource(self, name: str, kind: str, rate: float, latency: int = 0, capacity: int = 1) -> int:
        """A resource serving `capacity` tasks at once, each at `rate` work units
        per cycle, each paying `latency` cycles; returns its index."""
        what = f"resource {name!r}"
        kind_code = _choice(f"{what}: kind", kind, RESOURCE_KINDS)
        if not (isinstance(rate, (int, float, np.number)) and math.isfinite(rate) and rate > 0):
            _fail(f"{what}: rate must be a positive finite number of work units per cycle. Got {rate!r} instead.")
        self._resources.append((str(name), kind_code, float(rate), _count(f"{what}: latency", latency, 0),
                                _count(f"{what}: capacity", capacity, 1)))
        return len(self._resources) - 1

    def op_id(self, op: str) -> int:
        """The label id of `op`, interned on first use (for bulk `op=` arrays)."""
        found = self._labels.get(op)
        if found is None:
            if not isinstance(op, str):
                _fail(f"op must be a str. Got {op!r} instead.")
            found = self._labels[op] = len(self._labels)
        return found

    def add_task(self, resource: int | None, work: float = 0.0, deps: Sequence[int] = (), op: str = "",
                 layer: int = -1, category: str | None = None, latency: int = 0) -> int:
        """A task doing `work` units on `resource` after all `deps` finish; it
        lasts resource latency + `latency` + ceil(work / rate) cycles.
        `resource=None` makes a delay: no resource, work 0, lasts `latency`.
        `category` defaults to the resource kind's (compute for delays)."""
        route = () if resource is None else (resource,)
        return self._add_one(route, work, deps, op, layer, category, latency)

    def add_delay(self, latency: int, deps: Sequence[int] = (), op: str = "", layer: int = -1,
                  category: str | None = None) -> int:
        """A pure latency (launch or software overhead) that holds no resource."""
        return self._add_one((), 0.0, deps, op, layer, category, latency)

    def add_transfer(self, route: Sequence[int], work: float, deps: Sequence[int] = (), op: str = "",
                     layer: int = -1, category: str | None = "communication", latency: int = 0) -> int:
        """`work` units (bytes) sent cut-through over the links of `route`, in
        order; timing in docs/engine.md."""
        if len(route) == 0:
            _fail(f"task {self._n_tasks}: a transfer route needs at least one link. Got {list(route)!r}.")
        return self._add_one(tuple(route), work, deps, op, layer, category, latency)

    def add_tasks(self, resources, work=0.0, *, dep_ptr=None, dep_idx=None, op="", layer=-1,
                  category=None, latency=0) -> range:
        """Bulk `add_task`: one task per entry of `resources` (-1: a delay).
        `work`, `op`, `layer`, `category` and `latency` are scalars or arrays of
        the same length; `op` may be label ids from `op_id`. Dependencies of
        task i of the batch: dep_idx[dep_ptr[i]:dep_ptr[i + 1]], global indices
        (earlier tasks or tasks of this batch). Returns the new indices."""
        resources = np.asarray(resources, dtype=np.int64).reshape(-1)
        n = resources.shape[0]
        if np.any((resources < -1) | (resources >= self.n_resources)):
            bad = resources[(resources < -1) | (resources >= self.n_resources)][0]
            _fail(f"add_tasks: resource index {bad} is out of range; expected -1 (delay) "
                  f"or 0 <= index < {self.n_resources}.")
        has = resources >= 0
        return self._add_batch(has.astype(np.int64), resources[has], work, dep_ptr, dep_idx, op, layer,
                               category, latency, n)

    def add_transfers(self, route_ptr, route_res, work, *, dep_ptr=None, dep_idx=None, op="", layer=-1,
                      category="communication", latency=0) -> range:
        """Bulk `add_transfer`: transfer i uses links route_res[route_ptr[i]:route_ptr[i + 1]]."""
        route_ptr = np.asarray(route_ptr, dtype=np.int64).reshape(-1)
        route_res = np.asarray(route_res, dtype=np.int64).reshape(-1)
        n = route_ptr.shape[0] - 1
        lengths = np.diff(route_ptr)
        if n < 0 or route_ptr[0] != 0 or route_ptr[-1] != route_res.shape[0] or np.any(lengths < 1):
            _fail("add_transfers: route_ptr must start at 0, grow by at least 1 per transfer and end "
                  f"at len(route_res) ({route_res.shape[0]}).")
        if np.any((route_res < 0) | (route_res >= self.n_resources)):
            _fail(f"add_transfers: route_res holds indices outside 0 <= index < {self.n_resources}.")
        return self._add_batch(lengths, route_res, work, dep_ptr, dep_idx, op, layer, category, latency, n)

    def build(self) -> TaskGraph:
        """The validated TaskGraph (raises TaskGraphError on a bad graph)."""
        self._flush()
        cat = {key: np.concatenate([c[key] for c in self._chunks]) if self._chunks else np.zeros(0, np.int64)
               for key in ("route_len", "route_res", "work", "latency", "dep_len", "dep_idx", "op", "layer",
                           "category")}
        res = self._resources
        return TaskGraph(
            clock_hz=self.clock_hz,
            resource_name=np.array([r[0] for r in res], dtype=str),
            resource_kind=np.array([r[1] for r in res], dtype=np.int8),
            resource_rate=np.array([r[2] for r in res], dtype=np.float64),
            resource_latency=np.array([r[3] for r in res], dtype=np.int64),
            resource_capacity=np.array([r[4] for r in res], dtype=np.int64),
            route_ptr=np.concatenate([[0], np.cumsum(cat["route_len"])]),
            route_res=cat["route_res"],
            task_work=cat["work"].astype(np.float64),
            task_latency=cat["latency"],
            dep_ptr=np.concatenate([[0], np.cumsum(cat["dep_len"])]),
            dep_idx=cat["dep_idx"],
            task_op=cat["op"],
            task_layer=cat["layer"],
            task_category=cat["category"].astype(np.int8),
            op_labels=np.array(list(self._labels), dtype=str),
        )

    # -- internals ---------------------------------------------------------

    @staticmethod
    def _empty_pending() -> dict[str, list]:
        return {key: [] for key in ("route_len", "route_res", "work", "latency", "dep_len", "dep_idx", "op",
                                    "layer", "category")}

    def _add_one(self, route, work, deps, op, layer, category, latency) -> int:
        k = self._n_tasks
        for r in route:
            if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)) \
                    or not 0 <= r < self.n_resources:
                _fail(f"task {k} (op {op!r}): resource {r!r} is not a resource index; "
                      f"expected 0 <= index < {self.n_resources} (from add_resource).")
        if not (isinstance(work, (int, float, np.number)) and math.isfinite(work) and work >= 0):
            _fail(f"task {k} (op {op!r}): work must be a finite number >= 0. Got {work!r} instead.")
        if not route and work != 0:
            _fail(f"task {k} (op {op!r}): a delay (resource=None) has no work. Got work={work!r}; "
                  "use latency= for its cycles.")
        for d in deps:
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or not 0 <= d < k:
                _fail(f"task {k} (op {op!r}): dependency {d!r} is not an earlier task; expected "
                      f"0 <= index < {k}.")
        if category is None:
            cat = int(_KIND_CATEGORY[self._resources[route[0]][1]]) if route else _DELAY_CATEGORY
        else:
            cat = _choice(f"task {k} (op {op!r}): category", category, CATEGORIES)
        p = self._pending
        p["route_len"].append(len(route))
        p["route_res"].extend(route)
        p["work"].append(float(work))
        p["latency"].append(_count(f"task {k} (op {op!r}): latency", latency, 0))
        p["dep_len"].append(len(deps))
        p["dep_idx"].extend(deps)
        p["op"].append(self.op_id(op))
        p["layer"].append(_count(f"task {k} (op {op!r}): layer", layer, -1))
        p["category"].append(cat)
        self._n_tasks += 1
        return k

    def _flush(self) -> None:
        p = self._pending
        if p["work"]:
            self._chunks.append({key: np.asarray(v, dtype=np.float64 if key == "work" else np.int64)
                                 for key, v in p.items()})
            self._pending = self._empty_pending()

    def _column(self, what: str, value, n: int, dtype) -> np.ndarray:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf" or (np.dtype(dtype).kind == "i" and arr.dtype.kind == "f"
                                           and not np.all(arr == np.round(arr))):
            _fail(f"{what} must be {'integers' if np.dtype(dtype).kind == 'i' else 'numbers'}. "
                  f"Got dtype {arr.dtype} instead.")
        if arr.ndim == 0:
            return np.full(n, arr, dtype=dtype)
        if arr.shape != (n,):
            _fail(f"{what} must be a scalar or have one entry per task ({n}). Got shape {arr.shape} instead.")
        return arr.astype(dtype)

    def _labels_column(self, op, n: int) -> np.ndarray:
        if isinstance(op, str):
            return np.full(n, self.op_id(op), dtype=np.int64)
        arr = np.asarray(op)
        if arr.ndim == 0 and arr.dtype.kind in "iu":
            arr = np.full(n, arr, dtype=np.int64)
        if arr.shape != (n,):
            _fail(f"op must be a str or have one entry per task ({n}). Got shape {arr.shape} instead.")
        if arr.dtype.kind in "iu":
            if n and (arr.min() < 0 or arr.max() >= len(self._labels)):
                _fail(f"op ids must come from op_id(); expected 0 <= id < {len(self._labels)}.")
            return arr.astype(np.int64)
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
        ids = np.array([self.op_id(str(u)) for u in uniq], dtype=np.int64)
        return ids[inverse.reshape(-1)]

    def _category_column(self, category, route_len, route_res, n) -> np.ndarray:
        if category is None:
            cat = np.full(n, _DELAY_CATEGORY, dtype=np.int64)
            first = np.concatenate([[0], np.cumsum(route_len)[:-1]])
            has = route_len > 0
            kinds = np.array([r[1] for r in self._resources], dtype=np.int64)
            cat[has] = _KIND_CATEGORY[kinds[route_res[first[has]]]]
            return cat
        if isinstance(category, str):
            return np.full(n, _choice("category", category, CATEGORIES), dtype=np.int64)
        arr = np.asarray(category)
        if arr.shape != (n,):
            _fail(f"category must be a str or have one entry per task ({n}). Got shape {arr.shape} instead.")
        if arr.dtype.kind in "iu":
            if n and (arr.min() < 0 or arr.max() >= len(CATEGORIES)):
                _fail(f"category codes must index {CATEGORIES}.")
            return arr.astype(np.int64)
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
        codes = np.array([_choice("category", str(u), CATEGORIES) for u in uniq], dtype=np.int64)
        return codes[inverse.reshape(-1)]

    def _deps_columns(self, dep_ptr, dep_idx, n: int, first: int) -> tuple[np.ndarray, np.ndarray]:
        if dep_ptr is None and dep_idx is None:
            return np.zeros(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if dep_ptr is None or dep_idx is None:
            _fail("give both dep_ptr and dep_idx (dependencies in CSR form), or neither.")
        ptr = np.asarray(dep_ptr, dtype=np.int64).reshape(-1)
        idx = np.asarray(dep_idx, dtype=np.int64).reshape(-1)
        if ptr.shape != (n + 1,) or ptr[0] != 0 or ptr[-1] != idx.shape[0] or np.any(np.diff(ptr) < 0):
            _fail(f"dep_ptr must have n + 1 ({n + 1}) entries, start at 0, never decrease and end at "
                  f"len(dep_idx) ({idx.shape[0]}).")
        if idx.size and (idx.min() < 0 or idx.max() >= first + n):
            _fail(f"dep_idx holds task indices outside 0 <= index < {first + n} (tasks so far plus this batch).")
        return np.diff(ptr), idx

    def _add_batch(self, route_len, route_res, work, dep_ptr, dep_idx, op, layer, category, latency, n) -> range:
        self._flush()
        first = self._n_tasks
        work = self._column("work", work, n, np.float64)
        if n and not (np.all(np.isfinite(work)) and work.min() >= 0):
            _fail("work must be finite and >= 0 for every task.")
        if np.any((route_len == 0) & (work != 0)):
            _fail("a delay task (resource -1) has no work; use latency= for its cycles.")
        latency = self._column("latency", latency, n, np.int64)
        layer = self._column("layer", layer, n, np.int64)
        if n and (latency.min() < 0 or layer.min() < -1):
            _fail("latency must be >= 0 and layer >= -1 for every task.")
        dep_len, dep_idx = self._deps_columns(dep_ptr, dep_idx, n, first)
        self._chunks.append(dict(
            route_len=route_len.astype(np.int64), route_res=route_res.astype(np.int64), work=work,
            latency=latency, dep_len=dep_len, dep_idx=dep_idx, op=self._labels_column(op, n), layer=layer,
            category=self._category_column(category, route_len, route_res, n)))
        self._n_tasks += n
        return range(first, first + n)
