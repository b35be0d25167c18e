"""`simulate(graph) -> SimResult`: the task-level discrete-event engine.

The public function prepares arrays (durations, successor lists) and calls the
kernels in `kernels.py`, compiled by numba for large graphs and interpreted for
small ones (the same source, the same cycles; archsim/engine/jit.py says why);
it holds no simulation logic of its own.
Semantics (ready time, FIFO queues, capacity, cut-through routes, critical
path): docs/engine.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.engine.ir import TaskGraph, TaskGraphError
from archsim.engine.kernel_choice import engine_kernels

@dataclass(frozen=True, eq=False)
class SimResult:
    """What the engine computed, in int64 cycles of the graph's clock.

    Per task: ready_cycle (all predecessors finished), start_cycle, end_cycle.
    Per resource: busy_cycles, the sum over tasks of the cycles each held one
    of its servers (so busy_cycles / (capacity * makespan) is utilization).
    critical_path: task indices in time order, the chain that sets the
    makespan; critical_reason[i] says why critical_path[i] started when it did
    (REASON_START, REASON_DEPENDENCY on critical_path[i-1], REASON_RESOURCE
    held by critical_path[i-1]). blocked_by[k]: for a task that waited past its
    ready cycle, the task whose release let it start; -1 otherwise.
    """

    clock_hz: float
    ready_cycle: np.ndarray
    start_cycle: np.ndarray
    end_cycle: np.ndarray
    busy_cycles: np.ndarray
    resource_capacity: np.ndarray
    makespan_cycles: int
    critical_path: np.ndarray
    critical_reason: np.ndarray
    blocked_by: np.ndarray

    @property
    def makespan_s(self) -> float:
        return self.makespan_cycles / self.clock_hz

    @property
    def duration_cycles(self) -> np.ndarray:
        return self.end_cycle - self.start_cycle

    @property
    def wait_cycles(self) -> np.ndarray:
        """Cycles each task spent ready but queued for a resource."""
        return self.start_cycle - self.ready_cycle

    @property
    def utilization(self) -> np.ndarray:
        """Per resource, busy server-cycles over capacity * makespan (0 if empty)."""
        denom = self.resource_capacity * max(self.makespan_cycles, 1)
        return self.busy_cycles / denom


def _size(graph: TaskGraph) -> int:
    return graph.n_tasks + graph.route_res.shape[0]


def _hold_cycles(graph: TaskGraph, mode: str = "auto") -> np.ndarray:
    kernels = engine_kernels(_size(graph), mode)
    hold = np.empty(graph.route_res.shape[0], dtype=np.int64)
    with np.errstate(all="ignore"):  # interpreted: numpy scalars warn where compiled code (error_model numpy) is silent
        bad = kernels.task_times(graph.route_ptr, graph.route_res, graph.task_work, graph.task_latency,
                                 graph.resource_rate, graph.resource_latency, hold)
    if bad >= 0:
        raise TaskGraphError([f"{graph.describe_task(bad)}: its duration does not fit in 2**62 cycles "
                              f"(work {graph.task_work[bad].item()!r} on route {graph.task_route(bad).tolist()})."])
    return hold


def task_durations(graph: TaskGraph) -> tuple[np.ndarray, np.ndarray]:
    """(duration per task, cycles from start to release per route entry), int64."""
    hold = _hold_cycles(graph)
    duration = graph.task_latency.copy()
    has_route = graph.route_ptr[1:] > graph.route_ptr[:-1]
    duration[has_route] = hold[graph.route_ptr[1:][has_route] - 1]
    return duration, hold


def simulate(graph: TaskGraph, kernels: str = "auto") -> SimResult:
    """Simulate `graph` and return per-task cycles, per-resource busy cycles
    and the critical path. Deterministic: the same graph gives the same arrays,
    whichever `kernels` run it (auto: by size; compiled; interpreted)."""
    if not isinstance(graph, TaskGraph):
        raise TypeError(f"simulate() expects a TaskGraph. Got {type(graph).__name__} instead.")
    n = graph.n_tasks
    mode = kernels
    kernels = engine_kernels(_size(graph), mode)
    hold = _hold_cycles(graph, mode)
    # Every task fits in 2**62 cycles; together they must too, or an end cycle would wrap around int64.
    bound = float(graph.task_latency.sum(dtype=np.float64)) + float(hold.sum(dtype=np.float64))
    if bound > 2.0**62:
        raise TaskGraphError([f"the tasks together last up to {bound:.3g} cycles, more than the engine's 2**62 "
                              "(a chip value, such as a latency, is far out of range)"])
    succ_ptr = np.empty(n + 1, dtype=np.int64)
    succ_idx = np.empty(graph.dep_idx.shape[0], dtype=np.int64)
    ready, start, end, blocker = (np.empty(n, dtype=np.int64) for _ in range(4))
    kernels.successors(graph.dep_ptr, graph.dep_idx, succ_ptr, succ_idx, ready)
    busy = np.empty(graph.n_resources, dtype=np.int64)
    finished = kernels.run(graph.route_ptr, graph.route_res, hold, graph.task_latency, succ_ptr, succ_idx,
                           graph.resource_capacity, ready, start, end, blocker, busy)
    if finished != n:  # validation guarantees a DAG, so this is a bug, not bad input
        raise RuntimeError(f"engine finished {finished} of {n} tasks; please report this graph")
    path = np.empty(n, dtype=np.int64)
    reason = np.empty(n, dtype=np.int64)
    length = kernels.critical_path(start, end, ready, blocker, graph.dep_ptr, graph.dep_idx, path, reason)
    return SimResult(
        clock_hz=graph.clock_hz,
        ready_cycle=ready,
        start_cycle=start,
        end_cycle=end,
        busy_cycles=busy,
        resource_capacity=graph.resource_capacity.copy(),
        makespan_cycles=int(end.max()) if n else 0,
        critical_path=path[:length].copy(),
        critical_reason=reason[:length].copy(),
        blocked_by=blocker,
    )
