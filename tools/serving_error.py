"""Interpolation error of the serving layer's iteration-cost table (a measurement, not a test).

A serving run prices each iteration (P prefill tokens, D decode sequences, C cached context tokens) from a
lazily filled grid over (T = P + q D tokens, D, C) instead of timing every iteration through the mapper
(archsim/serving/iteration_table.py). This tool serves a request stream, draws N of the iterations it
simulated (fixed seed), times each one directly through the family's mapper at the same (P, D, C), and
prints the relative error of the table's time against the direct one: mean, P95, max of its absolute
value, the signed mean, the cost_fn calls that filled the table, how many iterations sat at the
scheduler's token budget, and the iterations with the largest errors.

Usage: python tools/serving_error.py [CHIP MODEL] [--samples N] [--scheduler continuous|chunked]
       [--trace azure-conv] [--duration 300s] [--time-scale 0.2] [--weight-dtype fp8] [--act-dtype fp8]
       [--kv-dtype fp8] [-o tp=8] [--worst 5] [--json]

The figures in docs/serving.md, e.g. (chunked prefill at five times the trace's rate; 70B on 8 GPUs at four):
    python tools/serving_error.py --scheduler chunked --time-scale 0.2
    python tools/serving_error.py dgx-h100 llama3.1-70b -o tp=8 --time-scale 0.25
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
    errors, points, t0 = [], [], time.perf_counter()
    for k in sorted(pick):
        p, d, c = int(it["p"][k]), int(it["d"][k]), int(it["c"][k])
        interpolated, _ = table.lookup(p, d, c)
        direct, _ = cost_fn(p, d, c)
        errors.append((interpolated - direct) / direct)
        points.append((p, d, c))
    errors = np.array(errors)
    worst = [dict(zip(("p", "d", "c"), points[i]), error=float(errors[i])) for i in np.argsort(-np.abs(errors))]
    return {"chip": chip, "model": model, "iterations_simulated": n, "samples": len(errors),
            "cost_fn_calls": int(table.fills), "at_budget": int(np.sum(it["p"] + it["d"] * table.decode_tokens
                                                                       == setup.loop.token_budget)),
            "direct_s": time.perf_counter() - t0, "mean_abs_error": float(np.mean(np.abs(errors))),
            "p95_abs_error": float(np.percentile(np.abs(errors), 95)), "max_abs_error": float(np.max(np.abs(errors))),
            "mean_error": float(np.mean(errors)), "worst": worst}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chip", nargs="?", default="h100-sxm")
    ap.add_argument("model", nargs="?", default="llama3.1-8b")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--scheduler", default="continuous")
    ap.add_argument("--trace", default="azure-conv")
    ap.add_argument("--duration", default="300s")
    ap.add_argument("--time-scale", type=float, help="multiply the trace's arrival times (0.2: five times the rate)")
    for part in ("weight", "act", "kv"):
        ap.add_argument(f"--{part}-dtype")
    ap.add_argument("-o", "--option", action="append", default=[], help="mapper option KEY=VALUE (e.g. tp=8)")
    ap.add_argument("--worst", type=int, default=5, help="list the iterations with the largest errors")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    flags = {"trace": args.trace, "duration": args.duration, "scheduler": args.scheduler}
    if args.time_scale:
        flags["time_scale"] = args.time_scale
    dtypes = {f"{part}_dtype": getattr(args, f"{part}_dtype") for part in ("weight", "act", "kv")
              if getattr(args, f"{part}_dtype")}
    options = dict(o.split("=", 1) for o in args.option) or None
    out = measure(args.chip, args.model, args.samples, flags, dtypes=dtypes, options=options)
    out["worst"] = out["worst"][:args.worst]
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:<22}{value:.4%}" if key.endswith("error") else f"{key:<22}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
