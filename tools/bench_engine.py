"""Benchmark of the task-level engine (a benchmark, not a test).

On a random layered DAG (default: 1,000,000 tasks over 1,000 resources, 1,000
tasks per layer, each depending on two tasks of the layer before; 10% of them
cut-through transfers over 2-4 links, 2% delays; random rates, latencies and
capacities 1-2, so resources are contended) it prints:
- tasks/s of `simulate` after warm-up (best of --repeat runs, wall clock; also
  per CPU second of the calling thread, which other load disturbs less);
- tasks/s of the pure-Python reference (tests/engine_reference.py) on a smaller
  graph from the same generator, after checking both give the same cycles;
- their ratio;
- seconds from process start to the first result (import archsim.engine, build
  a small graph, simulate) in a fresh process, with a warm disk cache.

Usage: python tools/bench_engine.py [--json] [--tasks N] [--reference-tasks N]
Targets on a 2-core machine: >= 5e6 tasks/s, >= 100x the reference, < 2 s to
the first result.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from archsim.engine import TaskGraphBuilder, simulate  # noqa: E402

FIRST_RESULT_SCRIPT = """
from archsim.engine import TaskGraphBuilder, simulate
b = TaskGraphBuilder(clock_hz=1e9)
r = b.add_resource("r", "compute", rate=1.0)
l0 = b.add_resource("l0", "noc", rate=1.0)
t = b.add_task(r, 4.0)
b.add_transfer([l0, r], 8.0, deps=[t])
b.add_delay(3, deps=[t])
print(simulate(b.build()).makespan_cycles)
"""


def layered_dag(n_tasks: int, n_resources: int, width: int, rng: np.random.Generator):
    """The benchmark graph, built through the bulk builder API, one layer at a time."""
    b = TaskGraphBuilder(clock_hz=1e9)
    rates = rng.uniform(1.0, 8.0, n_resources)
    latencies = rng.integers(0, 20, n_resources)
    capacities = rng.integers(1, 3, n_resources)
    for r in range(n_resources):
        b.add_resource(f"r{r}", ("compute", "memory", "noc")[r % 3], rate=float(rates[r]),
                       latency=int(latencies[r]), capacity=int(capacities[r]))
    op = b.op_id("bench")
    previous = None
    done = 0
    while done < n_tasks:
        w = min(width, n_tasks - done)
        shape = rng.random(w)
        n_transfer = int(np.count_nonzero(shape < 0.10))
        n_plain = w - n_transfer
        deps = [_deps(previous, n, rng) for n in (n_plain, n_transfer)]
        resources = rng.integers(0, n_resources, n_plain)
        resources[rng.random(n_plain) < 0.02] = -1
        work = np.where(resources >= 0, rng.integers(1, 1000, n_plain), 0).astype(float)
        plain = b.add_tasks(resources, work, latency=np.where(resources < 0, 5, 0), op=op, **deps[0])
        lengths = rng.integers(2, 5, n_transfer)
        route_ptr = np.concatenate([[0], np.cumsum(lengths)])
        first_link = np.repeat(rng.integers(0, n_resources, n_transfer), lengths)
        hop = np.arange(route_ptr[-1]) - np.repeat(route_ptr[:-1], lengths)
        transfers = b.add_transfers(route_ptr, (first_link + hop) % n_resources,
                                    rng.integers(1, 4000, n_transfer).astype(float), op=op, **deps[1])
        previous = (plain.start, transfers.stop)
        done += w
    return b.build()


def _deps(previous, n: int, rng: np.random.Generator) -> dict:
    if previous is None:
        return {}
    lo, hi = previous
    return dict(dep_ptr=np.arange(0, 2 * n + 1, 2), dep_idx=rng.integers(lo, hi, 2 * n))


def time_engine(g, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `simulate(g)` over `repeat` runs
    (CPU time is less disturbed by other processes on a shared machine)."""
    best_wall = best_cpu = np.inf
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        simulate(g)
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    return best_wall, best_cpu


def time_reference(g) -> float:
    from engine_reference import reference_simulate

    t0 = time.perf_counter()
    ref = reference_simulate(g)
    elapsed = time.perf_counter() - t0
    res = simulate(g)
    if res.end_cycle.tolist() != ref["end"] or res.start_cycle.tolist() != ref["start"]:
        raise SystemExit("engine and reference disagree on the benchmark graph")
    return elapsed


def first_result_seconds() -> float:
    """Wall time of a fresh interpreter up to the first simulated result."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    best = np.inf
    for _ in range(3):  # the first run may still write the disk cache
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", FIRST_RESULT_SCRIPT], check=True, env=env, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--resources", type=int, default=1_000)
    p.add_argument("--width", type=int, default=1_000, help="tasks per layer")
    p.add_argument("--reference-tasks", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    warm = layered_dag(2_000, 50, 100, np.random.default_rng(args.seed))
    simulate(warm)  # compiles, or loads the disk cache
    t0 = time.perf_counter()
    g = layered_dag(args.tasks, args.resources, args.width, np.random.default_rng(args.seed))
    build_s = time.perf_counter() - t0
    engine_s, engine_cpu_s = time_engine(g, args.repeat)
    small = layered_dag(args.reference_tasks, args.resources, args.width, np.random.default_rng(args.seed))
    reference_s = time_reference(small)
    out = dict(
        tasks=g.n_tasks,
        resources=g.n_resources,
        makespan_cycles=simulate(g).makespan_cycles,
        build_s=round(build_s, 3),
        engine_s=round(engine_s, 4),
        tasks_per_s=round(g.n_tasks / engine_s),
        engine_cpu_s=round(engine_cpu_s, 4),
        tasks_per_cpu_s=round(g.n_tasks / engine_cpu_s),
        reference_tasks=small.n_tasks,
        reference_s=round(reference_s, 3),
        reference_tasks_per_s=round(small.n_tasks / reference_s),
        speedup=round((g.n_tasks / engine_s) / (small.n_tasks / reference_s), 1),
        first_result_s=round(first_result_seconds(), 3),
        load_average_1min=round(os.getloadavg()[0], 2),
        cpus=os.cpu_count(),
    )
    if args.json:
        print(json.dumps(out))
    else:
        print(f"graph: {out['tasks']:,} tasks over {out['resources']:,} resources "
              f"(built in {out['build_s']} s), makespan {out['makespan_cycles']:,} cycles")
        print(f"engine:    {out['tasks_per_s']:>12,} tasks/s  ({out['engine_s']} s wall, best of {args.repeat}; "
              f"{out['tasks_per_cpu_s']:,} tasks per CPU second)")
        print(f"reference: {out['reference_tasks_per_s']:>12,} tasks/s  ({out['reference_tasks']:,} tasks, "
              f"{out['reference_s']} s)")
        print(f"speedup:   {out['speedup']:>12,}x")
        print(f"first result in a fresh process (warm cache): {out['first_result_s']} s")
        print(f"machine: {out['cpus']} CPUs, load average {out['load_average_1min']} "
              "(other work on the machine slows the wall-clock figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
