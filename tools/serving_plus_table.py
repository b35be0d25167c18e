"""Llama-3.1-70B served colocated, disaggregated and with speculative decoding on dgx-h100, cs3x4 and
groq-lpu-576: the highest Poisson rate meeting the SLO and the cost per million output tokens there (prints a
table; not a test; docs/serving.md has its figures).

    .venv/bin/python tools/serving_plus_table.py [--only dgx-h100] [--requests 400] [--json-dir DIR]

The setting (each choice stated, none tuned to a result):
- requests: Poisson, 1,000 prompt and 250 output tokens each (ASSUMED: a chat-like shape), 400 per rate, seed 0;
  SLO P99 TTFT 2 s and P99 TPOT 100 ms; rate search from 1/s to 5%.
- dgx-h100 and cs3x4 in bf16; groq-lpu-576 with int8 weights (bf16 does not fit 576 chips), bf16 activations
  and K/V (docs/tsp.md).
- colocated: each family's default replica (dgx-h100: tp 8; groq: the mapper's tp, stages over all chips;
  cs3x4: the whole system), continuous batching.
- speculative: draft Llama-3.2-1B, k = 4, alpha = 0.8 (the issue's example; no public figure for these models).
- disaggregated: dgx-h100 split 4 + 4 GPUs (tp 4 each) over NVLink; groq-lpu-576 and cs3x4 decode with a
  dgx-h100 (tp 8) prefilling over InfiniBand (70B in int8 needs more than half of the 576 LPUs, and a wafer
  system serves as one replica, so neither splits in two): the cost counts both systems.
- cs3x4: at most 16 sequences per iteration and a KV cache of 20,000 tokens (16 x 1,250, what these requests
  need; of the 31,282 the SRAM holds): the mesh mapper fits a decode of 16 sequences of the 70B beside its
  weights only up to about 1,700 tokens of context each (24 sequences, or 16 of 2,000 tokens, do not fit), and
  the cost table's corners must stay feasible. Chunked prefill of 1,024 tokens per iteration: prefills of more
  than two prompts at once fall back to a slow layout in the mapper, and continuous batching with a 1,024-token
  budget would reject every request (a recompute could need 1,249 tokens at once).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

FP = {"dgx-h100": dict(weight_dtype="bf16", act_dtype="bf16", kv_dtype="bf16"),
      "cs3x4": dict(weight_dtype="bf16", act_dtype="bf16", kv_dtype="bf16"),
      "groq-lpu-576": dict(weight_dtype="int8", act_dtype="bf16", kv_dtype="bf16")}
BASE = {"prompt_tokens": 1000, "output_tokens": 250, "slo_ttft": "2 s", "slo_tpot": "100 ms"}
SYSTEM_FLAGS = {"cs3x4": {"max_seqs": 16, "scheduler": "chunked", "chunk_tokens": 1024, "kv_capacity_tokens": 20000}}
SPECULATIVE = "draft=llama3.2-1b,k=4,alpha=0.8"
DISAGGREGATE = {"dgx-h100": "prefill_chips=4,decode_chips=4,prefill_tp=4,decode_tp=4,link=nvlink",
                "groq-lpu-576": "prefill=dgx-h100,prefill_tp=8,link=infiniband",
                "cs3x4": "prefill=dgx-h100,prefill_tp=8,link=infiniband"}


LOW_RATE = 0.5  # requests/s: a lightly loaded system, where each user's TPOT shows what speculation buys


def run_one(system: str, mode: str, requests: int, rate: float | None = None):
    """(result at the highest rate meeting the SLO, the search), or with `rate` (result at that rate, None)."""
    from archsim.serving.api import run_serving

    flags = dict(BASE, requests=requests, **SYSTEM_FLAGS.get(system, {}))
    if mode == "speculative":
        flags["speculative"] = SPECULATIVE
    if mode == "disaggregated":
        flags["disaggregate"] = DISAGGREGATE[system]
    if rate is not None:
        flags["rate"] = rate
    return run_serving(system, "llama3.1-70b", flags=flags, dtypes=FP[system], find_max_rate=rate is None,
                       rate_tolerance=0.05)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", help="a system (repeatable)")
    p.add_argument("--mode", action="append", help="colocated, disaggregated or speculative (repeatable)")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--json-dir", type=Path)
    args = p.parse_args()
    rows = []
    for system in args.only or ("dgx-h100", "groq-lpu-576", "cs3x4"):
        for mode in args.mode or ("colocated", "disaggregated", "speculative"):
            t0 = time.perf_counter()
            try:
                result, search = run_one(system, mode, args.requests)
            except Exception as exc:  # a row that cannot run says why
                rows.append((system, mode, None, None, None, None, f"{type(exc).__name__}: {exc}"[:300]))
                print(f"{system} {mode}: {exc}", file=sys.stderr, flush=True)
                continue
            low, _ = run_one(system, mode, 100, rate=LOW_RATE)
            low_tpot = low.summary["latency"]["tpot_s"]["p50"]
            wall = time.perf_counter() - t0
            rate = search.best_rate if search else None
            cost = result.cost.get("cost_per_million_tokens_usd") if result else None
            tps = result.summary["throughput"]["output_tokens_per_s"] if result else None
            chips = result.summary["efficiency"]["chips"] if result else None
            rows.append((system, mode, rate, tps, cost, chips, f"TPOT p50 at {LOW_RATE}/s {low_tpot * 1e3:.1f} ms; "
                                                               f"{wall:.0f} s wall"))
            print(f"{system} {mode}: rate {rate}, {tps} tok/s, ${cost}/Mtok, {chips} chips ({wall:.0f} s)",
                  file=sys.stderr, flush=True)
            if args.json_dir:
                args.json_dir.mkdir(parents=True, exist_ok=True)
                doc = result.to_dict() if result else {}
                doc["rate_search"] = search.to_dict() if search else None
                (args.json_dir / f"{system}-{mode}.json").write_text(json.dumps(doc, indent=1, default=str))
    print(f"{'system':<14}{'serving':<15}{'max rate/s':>11}{'out tok/s':>11}{'$/Mtok':>9}{'chips':>7}  note")
    for system, mode, rate, tps, cost, chips, note in rows:
        f = (lambda v, d: "-" if v is None else f"{v:,.{d}f}")
        print(f"{system:<14}{mode:<15}{f(rate, 2):>11}{f(tps, 0):>11}{f(cost, 2):>9}{f(chips, 0):>7}  {note}")


if __name__ == "__main__":
    main()
