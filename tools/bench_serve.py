"""Benchmark of the serving loop (prints figures; not a test).

    .venv/bin/python tools/bench_serve.py [--trace azure-conv] [--policy continuous] [--no-compile]
        [--speculative draft=llama3.2-1b,k=4,alpha=0.8] [--disaggregate prefill=h100-sxm,decode=h100-sxm,link=nvlink]
        [--chip cs3x4 --model llama3.1-70b --weight-dtype int8 --requests 1000]

1. Cold compile: the kernel compiled from nothing (a fresh numba cache in a temporary directory, in
   a subprocess), then loaded from that cache by a second subprocess.
2. The whole trace for Llama-3.1-8B on one H100 (provisional cost, task fidelity): a first run fills
   the cost table (pipeline runs), a second run with the filled table is the warm figure: simulated
   requests per wall second, iterations, table fills and hit rate.
   --requests N: the trace's first N requests only; --weight-dtype: as archsim serve (the LPU and wafer cases
   of docs/serving.md: `--chip cs3x4 --model llama3.1-70b --weight-dtype int8 --requests 1000`, the same with
   `--chip groq-lpu-576`).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

COMPILE_SNIPPET = """
import time
t = time.perf_counter()
from archsim.serving.loop import LoopConfig, simulate_requests
simulate_requests([0.0], [8], [2], lambda p, d, c: (0.01, 0.0), LoopConfig(kv_capacity_tokens=64, max_context=64))
print(time.perf_counter() - t)
"""


def compile_seconds() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                                 check=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trace", default="azure-conv")
    p.add_argument("--chip", default="h100-sxm")
    p.add_argument("--model", default="llama3.1-8b")
    p.add_argument("--policy", default="continuous", choices=("static", "continuous", "chunked"))
    p.add_argument("--fidelity", default="task")
    p.add_argument("--no-compile", action="store_true", help="skip the cold-compile measurement")
    p.add_argument("--requests", type=int, help="the trace's first N requests only")
    p.add_argument("--weight-dtype", default="bf16", help="weight dtype, as archsim serve --weight-dtype")
    p.add_argument("--speculative", help="speculative decoding, as archsim serve --speculative")
    p.add_argument("--disaggregate", help="disaggregated pools, as archsim serve --disaggregate")
    args = p.parse_args()

    if not args.no_compile:
        cold, cached = compile_seconds()
        print(f"kernel compile, cold (empty numba cache): {cold:.1f} s; from the cache: {cached:.2f} s "
              "(each includes importing archsim.serving and a one-request run)")

    from archsim.serving.serve import prepare, serve
    from archsim.serving.spec import load_serving
    from archsim.workload.model import Scenario

    spec = load_serving(flags={"trace": args.trace, "scheduler": args.policy, "speculative": args.speculative,
                               "disaggregate": args.disaggregate, "requests": args.requests})
    scenario = Scenario(weight_dtype=args.weight_dtype)
    t0 = time.perf_counter()
    if args.disaggregate:
        from archsim.serving.disagg import prepare_disaggregated, serve_disaggregated

        dsetup = prepare_disaggregated(args.chip, args.model, spec, fidelity=args.fidelity, scenario=scenario)
        first = serve_disaggregated(dsetup, spec)
        t1 = time.perf_counter()
        warm = serve_disaggregated(dsetup, spec)
    else:
        setup = prepare(args.chip, args.model, spec, fidelity=args.fidelity, scenario=scenario)
        first = serve(args.chip, args.model, spec, setup=setup)
        t1 = time.perf_counter()
        warm = serve(args.chip, args.model, spec, setup=setup)
    t2 = time.perf_counter()
    n = warm.summary["requests"]
    table = first.table
    print(f"{args.trace}: {n:,} requests, {args.model} on {args.chip}, {args.policy} batching, "
          f"{warm.summary['simulated_s']:,.0f} s simulated, {warm.summary['iterations']:,} iterations")
    print(f"first run (fills the cost table): {t1 - t0:.2f} s wall, of which {table['fill_wall_s']:.2f} s in "
          f"{table['cost_fn_calls']} cost_fn calls ({table.get('pipeline_runs', 0)} pipeline runs); table hit "
          f"rate {table['hit_rate']:.4%} over {table['lookups']:,} lookups ({table['misses']} misses); grid "
          f"{table['grid_filled']:,} of {table['grid_points']:,} points filled")
    wall = t2 - t1
    loop = warm.table["loop_wall_s"]
    print(f"warm run (table filled): {wall:.2f} s wall ({loop:.2f} s in the loop, the rest generating requests "
          f"and metrics): {n / wall:,.0f} simulated requests per wall second "
          f"({n / loop:,.0f} in the loop alone); {warm.summary['iterations'] / loop:,.0f} iterations/s")


if __name__ == "__main__":
    main()
