"""Interpolation error of the serving layer's iteration-cost table (a measurement, not a test).

A serving run prices each iteration by interpolating a lazily filled grid over (P prefill tokens,
D decode sequences, C cached context tokens) instead of timing every iteration through the mapper
(archsim/serving/iteration_table.py). This tool serves a request stream, draws N of the iterations it
simulated (fixed seed), times each one directly through the family's mapper at the same (P, D, C), and
prints the relative error of the interpolated time against the direct one: mean, P95, max.

Usage: python tools/serving_error.py [CHIP MODEL] [--samples N] [--scheduler continuous|chunked]
       [--trace azure-conv] [--duration 300s] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def measure(chip: str, model: str, samples: int = 200, flags: dict | None = None, seed: int = 0,
            dtypes: dict | None = None, options: dict | None = None) -> dict:
    from archsim.serving.serve import prepare, serve
    from archsim.serving.spec import load_serving
    from archsim.workload.model import Scenario

    spec = load_serving(None, flags or {})
    setup = prepare(chip, model, spec, scenario=Scenario(**(dtypes or {})), options=options)
    result = serve(setup.system, model, spec, setup=setup)
    it = result.run.iterations
    table, cost_fn = setup.table, setup.cost_fn
    n = len(it["p"])
    pick = np.random.default_rng(seed).choice(n, size=min(samples, n), replace=False)
    errors, t0 = [], time.perf_counter()
    for k in sorted(pick):
        p, d, c = int(it["p"][k]), int(it["d"][k]), int(it["c"][k])
        interpolated, _ = table.lookup(p, d, c)
        direct, _ = cost_fn(p, d, c)
        errors.append((interpolated - direct) / direct)
    errors = np.array(errors)
    return {"chip": chip, "model": model, "iterations_simulated": n, "samples": len(errors),
            "direct_s": time.perf_counter() - t0, "mean_abs_error": float(np.mean(np.abs(errors))),
            "p95_abs_error": float(np.percentile(np.abs(errors), 95)), "max_abs_error": float(np.max(np.abs(errors))),
            "mean_error": float(np.mean(errors))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chip", nargs="?", default="h100-sxm")
    ap.add_argument("model", nargs="?", default="llama3.1-8b")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--scheduler", default="continuous")
    ap.add_argument("--trace", default="azure-conv")
    ap.add_argument("--duration", default="300s")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = measure(args.chip, args.model, args.samples,
                  {"trace": args.trace, "duration": args.duration, "scheduler": args.scheduler})
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:<22}{value:.4%}" if key.endswith("error") else f"{key:<22}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
