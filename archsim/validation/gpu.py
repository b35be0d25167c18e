"""Validation cases of the GPU family (mapper gpu-tiled); the table is in docs/gpu.md.

- gpu-a100-matmul-MxNxK: LLMCompass's measured A100 80GB fp16 torch.bmm
  latencies (a100_matmul_measured.csv: median wall time of one op, launch and
  synchronize included), each within 25%, predicted by
  `archsim run a100-sxm-80gb gemm:MxNxK --dtype fp16` (defaults: one launch
  with its host dispatch, which for one kernel is the same in eager and
  CUDA-graph mode). gpu-a100-matmul-median: the median of predicted/measured
  over those rows, within 10% of 1.
- gpu-a100-7b-tp1, gpu-a100-70b-tp8: gpt-fast decode (torch.compile with
  CUDA graphs, batch 1). gpt-fast's benchmark prompt is a few tokens and it
  generates 200, attending over a KV cache sized to the sequence, so the
  cases use 200 tokens of context. The A100s ran at a 330 W power cap; the
  model does not know that, and the error is reported as it comes.
- gpu-h100-8b-best: Artificial Analysis' best H100 endpoint (low confidence,
  configuration unknown; reported, not required), default 1,024 tokens of
  context, one GPU.
- gpu-*-gemm-peak: the best shapes of stas00/ml-engineering's matmul search,
  timed over back-to-back launches with CUDA events, hence
  `-o host_overhead=false`.
"""
from __future__ import annotations

import statistics
from functools import lru_cache

from archsim.validation.base import reference_rows, validation_case
from archsim.workload.model import Scenario

MATMUL_FILE = "a100_matmul_measured.csv"
GPT_FAST_CONTEXT = 200


@lru_cache(maxsize=None)
def _latency_s(chip: str, workload: str, dtype: str, options: tuple = ()) -> float:
    from archsim.pipeline import run

    return run(chip, workload, Scenario(weight_dtype=dtype, act_dtype=dtype, kv_dtype=dtype),
               options=dict(options)).latency_s


def _matmul_rows() -> list[tuple[int, int, int, float]]:
    return [(int(r["M"]), int(r["N"]), int(r["K"]), float(r["latency_ms"])) for r in reference_rows(MATMUL_FILE)]


def _matmul_ms(m: int, n: int, k: int) -> float:
    return _latency_s("a100-sxm-80gb", f"gemm:{m}x{n}x{k}", "fp16") * 1e3


def _register_matmul_cases() -> None:
    for m, n, k, measured in _matmul_rows():
        validation_case(f"gpu-a100-matmul-{m}x{n}x{k}", family="gpu", tolerance=0.25,
                        command=f"archsim run a100-sxm-80gb gemm:{m}x{n}x{k} --dtype fp16",
                        measured=measured, unit="ms",
                        source="LLMCompass artifact, A100 80GB torch.bmm fp16 (a100_matmul_measured.csv)")(
            lambda m=m, n=n, k=k: _matmul_ms(m, n, k))


_register_matmul_cases()


@validation_case("gpu-a100-matmul-median", family="gpu", tolerance=0.10,
                 command="archsim validate --family gpu  (median of the gpu-a100-matmul-* ratios)",
                 measured=1.0, unit="pred/meas",
                 source="median over a100_matmul_measured.csv of predicted / measured latency")
def a100_matmul_median() -> float:
    return statistics.median(_matmul_ms(m, n, k) / measured for m, n, k, measured in _matmul_rows())


def _decode_tok_s(chip: str, workload: str, context: int, options: dict) -> float:
    from archsim.pipeline import run

    result = run(chip, workload, Scenario(phase="decode", batch=1, context_len=context), options=options)
    return result.tokens_per_s_per_user


@validation_case("gpu-a100-7b-tp1", family="gpu", tolerance=0.20,
                 command=f"archsim run a100-sxm-80gb llama2-7b --phase decode --context-len {GPT_FAST_CONTEXT}")
def a100_7b() -> float:
    return _decode_tok_s("a100-sxm-80gb", "llama2-7b", GPT_FAST_CONTEXT, {})


@validation_case("gpu-a100-70b-tp8", family="gpu", tolerance=0.20,
                 command=f"archsim run dgx-a100 llama2-70b --phase decode --context-len {GPT_FAST_CONTEXT} -o tp=8")
def a100_70b_tp8() -> float:
    return _decode_tok_s("dgx-a100", "llama2-70b", GPT_FAST_CONTEXT, {"tp": 8})


@validation_case("gpu-h100-8b-best", family="gpu", tolerance=0.20, required=False,
                 command="archsim run h100-sxm llama3.1-8b --phase decode")
def h100_8b() -> float:
    return _decode_tok_s("h100-sxm", "llama3.1-8b", Scenario().context_len, {})


def _peak_tflops(chip: str, m: int, n: int, k: int) -> float:
    latency = _latency_s(chip, f"gemm:{m}x{n}x{k}", "bf16", (("host_overhead", False),))
    return 2.0 * m * n * k / latency / 1e12


@validation_case("gpu-h100-gemm-peak", family="gpu", tolerance=0.20,
                 calibrates="clock_under_load (derived from a like H100 GEMM measurement, [N9])",
                 command="archsim run h100-sxm gemm:2048x2048x13312 -o host_overhead=false")
def h100_gemm_peak() -> float:
    return _peak_tflops("h100-sxm", 2048, 2048, 13312)


@validation_case("gpu-a100-gemm-peak", family="gpu", tolerance=0.20,
                 command="archsim run a100-sxm-80gb gemm:1024x10240x5120 -o host_overhead=false")
def a100_gemm_peak() -> float:
    return _peak_tflops("a100-sxm-80gb", 1024, 10240, 5120)
