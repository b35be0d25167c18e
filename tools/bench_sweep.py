"""Benchmark of sweeps (a benchmark, not a test): points/s and the overhead per point.

Two sweeps of Llama-3.1-8B on an H100 (HBM bandwidth x batch x context):
1,000 points at roofline fidelity and 200 at task fidelity, each run with
`run_sweep` on -j local worker processes into a fresh SQLite database. For each:
- points/s: points / wall time, from the call to the last row written
  (worker start-up included);
- sim ms/point: the mean time a worker spends on one point (chip from the
  per-worker cache, the pipeline, the metrics), measured inside the worker;
- overhead ms/point: (wall x jobs - sum of sim time) / points: core time per
  point spent on anything but the simulation (start-up, messages, SQLite,
  progress, idle cores), the target being < 10 ms;
- CPU overhead ms/point: CPU time of this process and its workers during the
  sweep, minus the workers' CPU time on the points themselves, per point:
  the machinery's own cost, which other users of a shared machine do not
  inflate (they inflate the wall-clock figures above);
- naive ms/point: the same points as a plain loop over archsim.run(chip name,
  ..., overrides) in one process (no cache), on --naive points spread over
  the sweep, for comparison.

Usage: python tools/bench_sweep.py [--jobs N] [--roofline N] [--task N] [--naive N] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.pipeline import run  # noqa: E402
from archsim.sweep.runner import run_sweep  # noqa: E402
from archsim.sweep.spec import load_sweep  # noqa: E402
from archsim.workload.model import Scenario  # noqa: E402

SPEC = """version: 1
name: bench-{fidelity}
chip: h100-sxm
workload: llama3.1-8b
fidelity: {fidelity}
scenario: {{phase: decode}}
axes:
  chip.hbm.bandwidth: {{start: "1 TB/s", stop: "8 TB/s", num: {n_bw}}}
  scenario.batch: {{start: 1, stop: 512, factor: 2}}
  scenario.context_len: {{start: 128, stop: {ctx_stop}, factor: 2}}
"""


def spec_text(fidelity: str, points: int) -> str:
    # 10 batches x (contexts) x (bandwidths) = points
    contexts = 10 if points >= 1000 else 2
    n_bw = max(1, points // (10 * contexts))
    return SPEC.format(fidelity=fidelity, n_bw=n_bw, ctx_stop=128 * 2 ** (contexts - 1))


def bench(fidelity: str, points: int, jobs: int, naive_points: int, tmp: Path) -> dict:
    path = tmp / f"{fidelity}.yaml"
    path.write_text(spec_text(fidelity, points))
    t0 = time.perf_counter()
    spec = load_sweep(path)
    pts = spec.points()
    load_s = time.perf_counter() - t0
    cpu_before = _cpu()
    summary = run_sweep(spec, tmp / f"{fidelity}.sqlite", jobs=jobs, progress=False)
    cpu_total = _cpu() - cpu_before
    assert summary.complete, summary.text()
    n = summary.ran
    sim_ms = summary.run_s / n * 1e3
    overhead_ms = (summary.wall_s * jobs - summary.run_s) / n * 1e3
    cpu_overhead_ms = (cpu_total - summary.cpu_s) / n * 1e3
    sample = pts[::max(1, len(pts) // naive_points)][:naive_points]  # spread over the whole sweep
    start = time.perf_counter()
    for p in sample:
        try:
            run(p.chip, p.workload, Scenario(**p.scenario), mapper=p.mapper, options=p.options,
                overrides=list(p.overrides), fidelity=p.fidelity)
        except Exception:  # infeasible points cost what they cost
            pass
    naive_ms = (time.perf_counter() - start) / max(1, len(sample)) * 1e3
    return dict(fidelity=fidelity, points=n, jobs=jobs, ok=summary.ok, failed=summary.failed,
                load_s=round(load_s, 3), wall_s=round(summary.wall_s, 3),
                points_per_s=round(n / summary.wall_s, 1), sim_ms_per_point=round(sim_ms, 2),
                overhead_ms_per_point=round(overhead_ms, 2), cpu_overhead_ms_per_point=round(cpu_overhead_ms, 2),
                naive_ms_per_point=round(naive_ms, 2))


def _cpu() -> float:
    """CPU seconds of this process and its finished (joined) children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--roofline", type=int, default=1000, help="points in the roofline sweep")
    ap.add_argument("--task", type=int, default=200, help="points in the task-fidelity sweep")
    ap.add_argument("--naive", type=int, default=100, help="points timed in the plain loop, per sweep")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench("roofline", args.roofline, args.jobs, args.naive, Path(tmp)),
                   bench("task", args.task, args.jobs, args.naive, Path(tmp))]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"sweep benchmark, {args.jobs} jobs, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    head = f"{'fidelity':<9}{'points':>7}{'wall s':>8}{'points/s':>10}{'sim ms/pt':>11}{'overhead ms/pt':>16}" \
           f"{'CPU overhead':>14}{'naive ms/pt':>13}  failed"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['fidelity']:<9}{r['points']:>7}{r['wall_s']:>8.2f}{r['points_per_s']:>10.1f}"
              f"{r['sim_ms_per_point']:>11.2f}{r['overhead_ms_per_point']:>16.2f}"
              f"{r['cpu_overhead_ms_per_point']:>14.2f}{r['naive_ms_per_point']:>13.2f}"
              f"  {r['failed'] or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
