"""Which form of the task engine's kernels runs a graph: interpreted for small graphs, compiled for large.

The kernels (archsim/engine/kernels.py) are plain functions; archsim/engine/jit.py says why a small graph
runs them as Python (numba's import and cache load cost more than the simulation) and how the compiled
twins are made. Both give the same cycles (tests/test_engine_properties.py, tests/test_jit_parity.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archsim.engine import kernels as kernel_module
from archsim.engine.jit import first_compile_notice, kernel_set

# Graphs up to this many tasks + route entries run the kernels as plain Python: measured, one task costs about
# 20 us interpreted, and loading numba with its cached machine code about 0.6 s (tools/bench_cli.py), so
# below ~10k tasks the interpreter finishes first. Bigger graphs run compiled.
INTERPRETED_MAX_ITEMS = 10_000


KERNEL_MODES = ("auto", "compiled", "interpreted")


def engine_kernels(items: int, mode: str = "auto"):
    """The kernel set for a graph of `items` tasks + route entries: `auto` picks by size."""
    if mode not in KERNEL_MODES:
        raise ValueError(f"kernels must be one of {', '.join(KERNEL_MODES)}. Got {mode!r} instead.")
    compiled = (items > INTERPRETED_MAX_ITEMS or bool(_WARM)) if mode == "auto" else mode == "compiled"
    kernels = kernel_set(kernel_module, compiled=compiled)
    if compiled and not _WARM:
        _WARM.append(True)
        with first_compile_notice("task engine", [Path(kernel_module.__file__)]):
            _warm_up(kernels)
    return kernels


_WARM: list = []  # set once the compiled kernels have run in this process (then `auto` always uses them)


def prefer_compiled() -> None:
    """Load the compiled kernels now (from the disk cache, or compiling them once), so every later `auto`
    simulation in this process runs compiled: what a job of many runs (serving, sweeps, validation,
    search) wants, once numba's start-up cost is paid."""
    engine_kernels(0, "compiled")


def _warm_up(k) -> None:
    """Run every compiled kernel once on a two-task graph (one task on resource 0, then a transfer over
    resources 1 and 0): compiles them, or loads them from the disk cache."""
    i64 = np.int64
    dep_ptr, dep_idx = np.array([0, 0, 1], i64), np.array([0], i64)
    route_ptr, route_res = np.array([0, 1, 3], i64), np.array([0, 1, 0], i64)
    work, latency = np.array([4.0, 8.0]), np.zeros(2, i64)
    rate, res_latency, capacity = np.ones(2), np.zeros(2, i64), np.ones(2, i64)
    hold = np.empty(3, i64)
    k.task_times(route_ptr, route_res, work, latency, rate, res_latency, hold)
    succ_ptr, succ_idx = np.empty(3, i64), np.empty(1, i64)
    ready, start, end, blocker, busy = (np.empty(2, i64) for _ in range(5))
    k.successors(dep_ptr, dep_idx, succ_ptr, succ_idx, ready)
    k.run(route_ptr, route_res, hold, latency, succ_ptr, succ_idx, capacity, ready, start, end, blocker, busy)
    path, reason = np.empty(2, i64), np.empty(2, i64)
    k.critical_path(start, end, ready, blocker, dep_ptr, dep_idx, path, reason)
    k.topological_order(dep_ptr, dep_idx, np.empty(2, i64))

REASON_NAMES = ("start", "dependency", "resource")
