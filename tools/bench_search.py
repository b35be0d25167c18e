"""Benchmark of mapping search (a benchmark, not a test): a 500-point wafer decode search, and search vs auto.

1. A search of --points distinct points over examples/wse3_space.yaml (Llama-3.1-8B decode on wse3: region
   shape x collective strategy x tree levels x accumulator precision, 2,184 points; TPE with seed 0) at task
   fidelity on -j local worker processes, into a fresh SQLite store. Printed:
   - wall s and points/s: from the call to the best mapping written (the default mapping's run, the sampler,
     the checks, the workers, the store and the best point's replay included); target <= 60 s for 500;
   - simulated / checked / dropped: points run, points the family's check rejected without simulating,
     points a constraint over the axes dropped (those do not count against the budget);
   - sim ms/point: mean time a worker spent on a simulated point;
   - overhead ms/point: (wall x jobs - simulation time) / points looked at: the sampler, checks, store,
     forks and idle cores.
2. With --families: the three searches of docs/mapping.md (wse3, dgx-h100, groq-lpu-576; budget 200, one
   process each) and the best latency found against the default mapping's (auto).

Usage: python tools/bench_search.py [--points N] [--jobs N] [--families] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.search.api import search  # noqa: E402
from archsim.workload.model import Scenario  # noqa: E402

FAMILIES = (("wse3", "wse3_space.yaml"), ("dgx-h100", "dgx_h100_space.yaml"), ("groq-lpu-576", "groq_space.yaml"))


def wafer(points: int, jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        r = search("wse3", "llama3.1-8b", Scenario(phase="decode"), ROOT / "examples" / "wse3_space.yaml",
                   objective="latency", budget=points, db=Path(tmp) / "bench.sqlite", jobs=jobs)
        wall = time.perf_counter() - start
    looked = len(r.points)
    ran = [p for p in r.points if p.source == "ran"]
    sim = sum(p.run_s for p in ran)
    return {"points": looked, "wall_s": wall, "points_per_s": looked / wall, "simulated": len(ran),
            "checked": sum(p.source == "checked" for p in r.points),
            "dropped": sum(p.status == "dropped" for p in r.points),
            "sim_ms_per_point": 1e3 * sim / max(1, len(ran)),
            "overhead_ms_per_point": 1e3 * (wall * jobs - sim) / max(1, looked),
            "best_latency_s": r.best_result.latency_s, "auto_latency_s": r.baseline.latency_s}


def families(jobs: int) -> list[dict]:
    out = []
    for chip, space in FAMILIES:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            r = search(chip, "llama3.1-8b", Scenario(phase="decode"), ROOT / "examples" / space,
                       objective="latency", budget=200, db=Path(tmp) / "s.sqlite", jobs=jobs)
            out.append({"chip": chip, "space": space, "points": len(r.points), "strategy": r.strategy,
                        "wall_s": time.perf_counter() - start, "auto_latency_s": r.baseline.latency_s,
                        "best_latency_s": r.best_result.latency_s,
                        "speedup": r.baseline.latency_s / r.best_result.latency_s})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--families", action="store_true", help="also the three searches against auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    w = wafer(args.points, args.jobs)
    fam = families(args.jobs) if args.families else []
    if args.json:
        print(json.dumps({"wafer": w, "families": fam}, indent=2))
        return 0
    print(f"wafer decode search, {w['points']} points (-j {args.jobs}): {w['wall_s']:.1f} s, "
          f"{w['points_per_s']:.1f} points/s; {w['simulated']} simulated, {w['checked']} rejected by the check, "
          f"{w['dropped']} dropped by a constraint; sim {w['sim_ms_per_point']:.1f} ms/point, overhead "
          f"{w['overhead_ms_per_point']:.1f} ms/point; best {w['best_latency_s'] * 1e6:.2f} us vs auto "
          f"{w['auto_latency_s'] * 1e6:.2f} us")
    for f in fam:
        print(f"{f['chip']:<14} {f['space']:<22} {f['points']:>4} points in {f['wall_s']:5.1f} s: best "
              f"{f['best_latency_s'] * 1e6:9.2f} us vs auto {f['auto_latency_s'] * 1e6:9.2f} us "
              f"({f['speedup']:.3f}x)  [{f['strategy']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
