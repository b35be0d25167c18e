"""NVIDIA NIM 1.8.0's concurrency sweep for Llama-3.3-70B (Llama-3.1-70B's shapes) on 2 H100 80G, FP8, TP2,
5000 input / 500 output tokens, through archsim serve's closed loop (`--arrivals concurrency`). Measured values in
nim_concurrency.csv (nim180-*).

What the page states and what the cases do:
- AIPerf at a fixed concurrency of 1 ... 250: that many clients, each sending its next request when its last one
  ends (archsim's closed loop); metrics TTFT (avg), ITL (avg, archsim's mean TPOT: (end - first token) /
  (outputs - 1) per request, averaged) and throughput (output tokens/s of all requests).
- FP8 weights and (ASSUMED) FP8 KV cache, 16-bit activations; TensorRT-LLM's in-flight batching (--scheduler
  inflight: running decodes and whole prompts in one iteration) with its default guaranteed-no-evict capacity
  policy (--admission reserve).
- Not stated, ASSUMED the same at every concurrency: the engine's max batch and max tokens per iteration (archsim's
  defaults, 256 and 8,192: a 5,000-token prompt runs in one iteration), the KV pool (archsim's, from memory), the
  request count (8 per client, at least 50: past the closed loop's start-up), no HTTP or tokenizer time.
Because the engine's batching and KV pool are not stated, every case is reported-only. Tolerances, set before any
prediction was looked at: 30% for first-token latencies (they carry the HTTP path), 20% for inter-token latency
and throughput (as the MLPerf serving cases).
"""
from __future__ import annotations

from functools import lru_cache

from archsim.validation.base import reference_rows, serve_command, validation_case

REFERENCE = "nim_concurrency.csv"
REQUESTS_PER_CLIENT = 8  # ASSUMED (the page does not state AIPerf's request count)
MIN_REQUESTS = 50
TOLERANCE = {"ttft_ms": 0.30, "itl_ms": 0.20, "output_tok_s": 0.20}
DTYPES = dict(weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8")
PREDICTED_AS = {"ttft_ms": "TTFT mean", "itl_ms": "TPOT mean", "output_tok_s": "output tokens/s"}


def _requests(concurrency: int) -> int:
    return max(MIN_REQUESTS, REQUESTS_PER_CLIENT * concurrency)


def _flags(row: dict) -> dict:
    c = int(row["concurrency"])
    return dict(arrivals="concurrency", concurrency=c, requests=_requests(c), prompt_tokens=int(row["isl"]),
                output_tokens=int(row["osl"]), scheduler="inflight", admission="reserve")


@lru_cache(maxsize=None)
def _summary(system: str, model: str, tp: int, isl: int, osl: int, concurrency: int) -> dict:
    from archsim.serving.api import run_serving

    row = dict(concurrency=concurrency, isl=isl, osl=osl)
    result, _ = run_serving(system, model, flags=_flags(row), options={"tp": tp}, dtypes=DTYPES)
    return result.summary


def predicted(case_id: str) -> float:
    row = next(r for r in reference_rows(REFERENCE) if r["case_id"] == case_id)
    s = _summary(row["system"], row["model"], int(row["tp"]), int(row["isl"]), int(row["osl"]),
                 int(row["concurrency"]))
    metric = row["metric"]
    if metric == "ttft_ms":
        return s["latency"]["ttft_s"]["mean"] * 1e3
    if metric == "itl_ms":
        return s["latency"]["tpot_s"]["mean"] * 1e3
    return s["throughput"]["output_tokens_per_s"]


def _command(row: dict) -> str:
    return serve_command(row["system"], row["model"], DTYPES, {"tp": row["tp"]}, _flags(row),
                         PREDICTED_AS[row["metric"]])


def _register() -> None:
    for row in reference_rows(REFERENCE):
        validation_case(row["case_id"], family="gpu", tolerance=TOLERANCE[row["metric"]], required=False,
                        reference=REFERENCE, command=_command(row))(lambda c=row["case_id"]: predicted(c))


_register()
