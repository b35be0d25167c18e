"""TensorRT-LLM v1.0's published throughput tables (docs/source/performance/perf-overview.md at 00f37686) through
archsim serve's offline mode: Llama-3.3-70B (Llama-3.1-70B's shapes) on 1 B200 (FP4), 1 H200 (FP8) and 2 H100
(FP8, TP2); Llama-3.1-405B on 4 B200 (FP4, TP4), 8 H200 and 8 H100 (FP8, TP8); Llama-3.1-8B on 1 H200 and 1 H100
(FP8); ten uniform ISL/OSL pairs each. Measured values in trtllm_perf_overview.csv (trtllm10-*).

What the page states and what the cases do:
- trtllm-bench throughput, PyTorch backend, every request queued at t = 0 ("infinite rate"): archsim's offline
  arrivals, the page's $num_requests for each ISL/OSL (30,000 at 128/128 ... 1,000 at 20000/2000), fixed lengths
  (stdev 0). Metric: Total Output Throughput, output tokens per second of all the run's GPUs.
- NVIDIA's ModelOpt checkpoints: FP8 weights with FP8 KV cache on Hopper; NVFP4 weights (FP4 tensor cores) with
  FP8 KV cache on B200. GEMM outputs, norms and all-reduces in 16-bit (--dtype fp16).
- In-flight batching without chunked prefill (the LLM API's default): archsim's continuous scheduler; TensorRT-LLM's
  default capacity policy guaranteed-no-evict reserves a request's whole KV at admission: --admission reserve.
- Not stated: max batch size and max tokens per iteration. The page leaves them at trtllm-bench's defaults, which
  its source derives from the KV memory (tensorrt_llm/bench/build/tuning.py, calc_engine_setting and
  finetune_setting): requests that fit = 0.95 x (GPU memory x GPUs - weights) / (KV bytes per token x (ISL +
  OSL)), capped at 4096; max batch rounded up (to 32 under 256, 128 under 1024, else 256; at least 64); max
  tokens = requests x (1 + ISL / OSL) capped at 32,768, rounded up (256 / 512 / 1024 steps, at least 2048).
  `trtllm_bench_settings` applies that rule with archsim's own weights and KV bytes. ASSUMED, the same for every
  case: memory fraction 0.95 (the page: "in many cases" 0.95, falling back to 0.90 or lower on out-of-memory, per
  case and unrecorded); GPU memory = the chip file's HBM capacity; a prompt longer than the max tokens runs in one
  iteration of its own (ISL 20000: the page's runs completed without chunked prefill, so the runtime must have
  admitted it; how is not stated).
Because the batching is not stated, every case is reported-only (the rule: required when hardware, precision,
lengths and batching are all stated). Tolerance 20%, as for the MLPerf serving cases, set before any prediction
was looked at.
"""
from __future__ import annotations

import math
from functools import lru_cache

from archsim.validation.base import reference_rows, serve_command, validation_case

REFERENCE = "trtllm_perf_overview.csv"
MEMORY_FRACTION = 0.95  # ASSUMED for every case (see above)
GIB = 1024 ** 3


def _dtypes(precision: str) -> dict:
    weights = "fp4" if precision == "fp4" else "fp8"
    return dict(weight_dtype=weights, act_dtype="fp16", kv_dtype="fp8")


def _round_up(value: float, steps: tuple[tuple[float, int], ...]) -> int:
    """`value` rounded up to the step of the first (below, step) band it falls below (tuning.py's rounding)."""
    step = next(step for below, step in steps if value < below)
    return step * math.ceil(value / step)


def trtllm_bench_settings(system: str, model: str, precision: str, tp: int, isl: int, osl: int) -> tuple[int, int]:
    """(max batch size, max tokens per iteration) by trtllm-bench's default rule (docstring), from archsim's
    weights, KV bytes per token and the chip's HBM capacity."""
    from archsim.hw.load import load_system
    from archsim.workload.lower import parameter_count
    from archsim.workload.model import DTYPE_BYTES, load_transformer

    m = load_transformer(model)
    memory = float(load_system(system).chip.hbm.capacity) * tp / GIB
    # trtllm-bench's own estimate: parameters x 1 byte (FP8) or 0.5 (NVFP4)
    engine = parameter_count(m) * (0.5 if precision == "fp4" else 1.0) / GIB
    kv_heads = max(tp, m.kv_heads)
    per_token = 2 * m.layers * kv_heads * m.head_dim * DTYPE_BYTES["fp8"] / GIB
    requests = (memory - engine) * MEMORY_FRACTION / (per_token * (isl + osl))
    raw_bs = min(requests, 4096)
    raw_tokens = min(raw_bs * (1 + isl / osl), 32768)
    batch = max(64, _round_up(raw_bs, ((256, 32), (1024, 128), (math.inf, 256))))
    tokens = max(2048, _round_up(raw_tokens, ((4096, 256), (8192, 512), (math.inf, 1024))))
    return batch, tokens


def _flags(row: dict) -> dict:
    tp, isl, osl = int(row["tp"]), int(row["isl"]), int(row["osl"])
    batch, tokens = trtllm_bench_settings(row["system"], row["model"], row["precision"], tp, isl, osl)
    return dict(arrivals="offline", requests=int(row["requests"]), prompt_tokens=isl, output_tokens=osl,
                max_seqs=batch, max_batched_tokens=max(tokens, isl), admission="reserve")


@lru_cache(maxsize=None)
def offline_throughput(case_id: str) -> float:
    from archsim.serving.api import run_serving

    row = next(r for r in reference_rows(REFERENCE) if r["case_id"] == case_id)
    result, _ = run_serving(row["system"], row["model"], flags=_flags(row), dtypes=_dtypes(row["precision"]),
                            options={"tp": int(row["tp"])})
    return 0.0 if result is None else float(result.summary["throughput"]["output_tokens_per_s"])


def _command(row: dict) -> str:
    return serve_command(row["system"], row["model"], _dtypes(row["precision"]), {"tp": row["tp"]}, _flags(row),
                         "output tokens/s")


def _register() -> None:
    for row in reference_rows(REFERENCE):
        validation_case(row["case_id"], family="gpu", tolerance=0.20, required=False, reference=REFERENCE,
                        command=_command(row))(lambda c=row["case_id"]: offline_throughput(c))


_register()
