"""Exactness check for the wafer's serving cost (prints nothing to judge by eye: writes a JSON to compare).

    .venv/bin/python tools/wafer_serve_check.py OUT.json [--requests 1000] [--cells-only]

Writes the 1,000-request summary of `tools/bench_serve.py --chip cs3x4 --model llama3.1-70b --weight-dtype int8`
and the seconds and joules (as repr, so bit for bit) of a set of iteration cells on the same setup: prefills of
1 to 8,192 tokens after prefixes of 0 to 20,000, decodes, mixed cells, each once on the served setup's cost
(its chunk store warm) and once on a fresh one (cold, cells in reverse order). Run it on the code before and
after a change and compare the files (`cmp`): a change to the wafer's serving cost must leave them identical.
"""
from __future__ import annotations

import argparse
import json
import time

PREFILLS = [(p, x) for p in (1, 2, 7, 33, 128, 744, 2048, 8192) for x in (0, 1, 513, 4096, 20000)
            if p + x <= 28672]
DECODES = [(d, c) for d in (1, 8, 64, 256) for c in (1, 1000, 20000)]
MIXED = [(p, d, c) for p, d, c in ((1, 1, 500), (17, 4, 3000), (512, 32, 9000), (2000, 200, 60000))]


def cells(cost) -> dict:
    out = {}
    for p, x in PREFILLS:
        out[f"prefill p={p} x={x}"] = [repr(v) for v in cost(p, 0, x)]
    for d, c in DECODES:
        out[f"decode d={d} c={c}"] = [repr(v) for v in cost(0, d, c)]
    for p, d, c in MIXED:
        out[f"mixed p={p} d={d} c={c}"] = [repr(v) for v in cost(p, d, c)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--cells-only", action="store_true")
    args = ap.parse_args()
    from archsim.serving.serve import prepare, serve
    from archsim.serving.spec import load_serving
    from archsim.workload.model import Scenario

    spec = load_serving(flags={"trace": "azure-conv", "scheduler": "continuous", "requests": args.requests})
    scenario = Scenario(weight_dtype="int8")
    result = {}
    t = time.perf_counter()
    setup = prepare("cs3x4", "llama3.1-70b", spec, fidelity="task", scenario=scenario)
    if not args.cells_only:
        run = serve("cs3x4", "llama3.1-70b", spec, setup=setup)
        result["summary"] = run.summary
    else:
        setup.cost_fn.prompt_cap = 1024
    result["prompt_cap"] = setup.cost_fn.prompt_cap
    result["warm"] = cells(setup.cost_fn)
    fresh = prepare("cs3x4", "llama3.1-70b", spec, fidelity="task", scenario=scenario)
    fresh.cost_fn.prompt_cap = setup.cost_fn.prompt_cap
    rev = {}
    for p, x in PREFILLS[::-1]:
        rev[f"prefill p={p} x={x}"] = [repr(v) for v in fresh.cost_fn(p, 0, x)]
    for d, c in DECODES[::-1]:
        rev[f"decode d={d} c={c}"] = [repr(v) for v in fresh.cost_fn(0, d, c)]
    for p, d, c in MIXED[::-1]:
        rev[f"mixed p={p} d={d} c={c}"] = [repr(v) for v in fresh.cost_fn(p, d, c)]
    result["cold_reversed"] = dict(sorted(rev.items()))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True, default=repr)
    print(f"{time.perf_counter() - t:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
