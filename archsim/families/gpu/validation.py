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
  model does not know that, and the error is reported as it comes. gpt-fast's
  tensor parallelism all-reduces through torch.distributed's functional
  collectives (tp.py: funcol.all_reduce), that is NCCL, hence -o allreduce=nccl.
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

from archsim.validation.base import reference_row, reference_rows, validation_case
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
                 command=f"archsim run dgx-a100 llama2-70b --phase decode --context-len {GPT_FAST_CONTEXT} -o tp=8 "
                         "-o allreduce=nccl")
def a100_70b_tp8() -> float:
    return _decode_tok_s("dgx-a100", "llama2-70b", GPT_FAST_CONTEXT, {"tp": 8, "allreduce": "nccl"})


@validation_case("gpu-h100-8b-best", family="gpu", tolerance=0.20, required=False,
                 command="archsim run h100-sxm llama3.1-8b --phase decode")
def h100_8b() -> float:
    return _decode_tok_s("h100-sxm", "llama3.1-8b", Scenario().context_len, {})


def _peak_tflops(chip: str, m: int, n: int, k: int) -> float:
    latency = _latency_s(chip, f"gemm:{m}x{n}x{k}", "bf16", (("host_overhead", False),))
    return 2.0 * m * n * k / latency / 1e12


@validation_case("gpu-h100-gemm-peak", family="gpu", tolerance=0.20,
                 command="archsim run h100-sxm gemm:2048x2048x13312 -o host_overhead=false")
def h100_gemm_peak() -> float:
    return _peak_tflops("h100-sxm", 2048, 2048, 13312)


@validation_case("gpu-a100-gemm-peak", family="gpu", tolerance=0.20,
                 command="archsim run a100-sxm-80gb gemm:1024x10240x5120 -o host_overhead=false")
def a100_gemm_peak() -> float:
    return _peak_tflops("a100-sxm-80gb", 1024, 10240, 5120)


# ---- Public measurements beyond the calibration set (docs/gpu.md, "Public GPU measurements").
# Tolerances were set before any prediction was looked at: 30% for serving-stack
# tables (one number per configuration, the stack's own overheads included),
# 20% for GEMM throughput as for the peak-GEMM rows above. The TensorRT-LLM rows
# are reported, not required: the tables come from TensorRT-LLM v0.5/v0.6.1
# (2023), rounded (first-token latency to whole ms), and the benchmark's timing
# boundary (what host work the session's generate() includes) is not stated.

# (case id, chip, workload, dtype, tp, prompt tokens), batch 1; measured first-token latencies (ms) in
# published_results.csv
TRTLLM_TTFT = (
    ("trtllm-h100-7b-fp8-ttft-128", "h100-sxm", "llama2-7b", "fp8", 1, 128),
    ("trtllm-h100-7b-fp8-ttft-2048", "h100-sxm", "llama2-7b", "fp8", 1, 2048),
    ("trtllm-h100-70b-fp8-tp4-ttft-128", "dgx-h100", "llama2-70b", "fp8", 4, 128),
    ("trtllm-h100-70b-fp8-tp4-ttft-2048", "dgx-h100", "llama2-70b", "fp8", 4, 2048),
    ("trtllm-a100-7b-fp16-ttft-128", "a100-sxm-80gb", "llama2-7b", "fp16", 1, 128),
    ("trtllm-a100-7b-fp16-ttft-2048", "a100-sxm-80gb", "llama2-7b", "fp16", 1, 2048),
    ("trtllm-a100-70b-fp16-tp4-ttft-128", "dgx-a100", "llama2-70b", "fp16", 4, 128),
    ("trtllm-a100-70b-fp16-tp4-ttft-2048", "dgx-a100", "llama2-70b", "fp16", 4, 2048),
)

# Static-batch throughput, input 128 / output 2048 tokens: (case id, chip, workload, dtype, tp, batch);
# measured output tok/s per GPU in published_results.csv. Compared quantity: batch / TPOT at the mean context of the
# generation (128 + 2048/2 = 1152 tokens); TPOT grows linearly with context, so this is the mean
# step time. The prefill of 128 tokens per sequence is <1% of the 2048 steps and is left out.
TRTLLM_THROUGHPUT_CONTEXT = 128 + 2048 // 2
TRTLLM_THROUGHPUT = (
    ("trtllm-h100-7b-fp8-b112-thru", "h100-sxm", "llama2-7b", "fp8", 1, 112),
    ("trtllm-h100-70b-fp8-tp4-b480-thru", "dgx-h100", "llama2-70b", "fp8", 4, 480),
    ("trtllm-a100-7b-fp16-b60-thru", "a100-sxm-80gb", "llama2-7b", "fp16", 1, 60),
)


def _trtllm_dtypes(dtype: str) -> dict:
    """TensorRT-LLM's FP8 engines (performance.md build commands: `--dtype float16 --enable_fp8
    --fp8_kv_cache`): FP8 weights and KV cache, FP16 activations (GEMM outputs, all-reduces)."""
    if dtype == "fp8":
        return dict(weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8")
    return dict(weight_dtype=dtype, act_dtype=dtype, kv_dtype=dtype)


def _dtype_flags(dtype: str) -> str:
    return "--dtype fp16 --weight-dtype fp8 --kv-dtype fp8" if dtype == "fp8" else f"--dtype {dtype}"


def _ttft_ms(chip: str, workload: str, dtype: str, tp: int, prompt: int) -> float:
    from archsim.pipeline import run

    scenario = Scenario(phase="prefill", batch=1, prompt_len=prompt, **_trtllm_dtypes(dtype))
    return run(chip, workload, scenario, options={"tp": tp}).latency_s * 1e3


def _throughput_per_gpu(chip: str, workload: str, dtype: str, tp: int, batch: int) -> float:
    from archsim.pipeline import run

    scenario = Scenario(phase="decode", batch=batch, context_len=TRTLLM_THROUGHPUT_CONTEXT, **_trtllm_dtypes(dtype))
    return batch / run(chip, workload, scenario, options={"tp": tp}).latency_s / tp


def _tp_flag(tp: int) -> str:
    return f" -o tp={tp}" if tp > 1 else ""


def _register_trtllm_cases() -> None:
    for case, chip, workload, dtype, tp, prompt in TRTLLM_TTFT:
        validation_case(case, family="gpu", tolerance=0.30, required=False,
                        command=f"archsim run {chip} {workload} --phase prefill --prompt-len {prompt} "
                                f"{_dtype_flags(dtype)}{_tp_flag(tp)}")(
            lambda c=chip, w=workload, d=dtype, t=tp, p=prompt: _ttft_ms(c, w, d, t, p))
    for case, chip, workload, dtype, tp, batch in TRTLLM_THROUGHPUT:
        validation_case(case, family="gpu", tolerance=0.30, required=False,
                        command=f"archsim run {chip} {workload} --phase decode --batch {batch} --context-len "
                                f"{TRTLLM_THROUGHPUT_CONTEXT} {_dtype_flags(dtype)}{_tp_flag(tp)}  "
                                f"(batch / TPOT / tp)")(
            lambda c=chip, w=workload, d=dtype, t=tp, b=batch: _throughput_per_gpu(c, w, d, t, b))


_register_trtllm_cases()

# FP8 GEMMs, 8192 x 8192 x K, on an H800 SXM (the H100 SXM die with its 132 SMs, FP8 peak and
# HBM3; only NVLink is cut): tilelang's autotuned FP8 matmul, latency of the kernel
# (tile-ai/tilelang benchmark/matmul_fp8/README.md, run at tilelang commit 6b1faf71, driver 560.35.05;
# read from the xwhzz/tilelang mirror at b2acfc37). Hence h100-sxm and -o host_overhead=false.
TILELANG_FP8_K = (8192, 16384)  # measured TFLOP/s in published_results.csv


def _register_fp8_gemm_cases() -> None:
    for k in TILELANG_FP8_K:
        validation_case(f"gpu-h800-fp8-gemm-8192x8192x{k}", family="gpu", tolerance=0.20,
                        command=f"archsim run h100-sxm gemm:8192x8192x{k} --dtype fp8 -o host_overhead=false")(
            lambda k=k: 2.0 * 8192 * 8192 * k / _latency_s("h100-sxm", f"gemm:8192x8192x{k}", "fp8",
                                                            (("host_overhead", False),)) / 1e12)


_register_fp8_gemm_cases()

# MAMF, the best of a shape search with torch.mm (stas00/ml-engineering, "Maximum Achievable Matmul FLOPS
# comparison table"; published_results.csv), at the best shape each row names; timed over back-to-back
# launches, hence -o host_overhead=false. gpu-b200-gemm-peak is the fit anchor of b200's clock_under_load;
# the FP8 rows are predictions at the clocks fitted on bf16. Tolerance 20%, as for the other GEMM peaks,
# set before the predictions were looked at.
MAMF = (("gpu-b200-gemm-peak", "b200", (1792, 16128, 3072), "bf16"),
        ("gpu-b200-fp8-gemm-peak", "b200", (15360, 4096, 3072), "fp8"),
        ("gpu-h200-fp8-gemm-peak", "h200", (1280, 4096, 12032), "fp8"),
        ("gpu-h100-fp8-gemm-peak", "h100-sxm", (1024, 9216, 14336), "fp8"))


def _register_mamf_cases() -> None:
    for case, chip, (m, n, k), dtype in MAMF:
        validation_case(case, family="gpu", tolerance=0.20,
                        command=f"archsim run {chip} gemm:{m}x{n}x{k} --dtype {dtype} -o host_overhead=false")(
            lambda c=chip, m=m, n=n, k=k, d=dtype: 2.0 * m * n * k / _latency_s(
                c, f"gemm:{m}x{n}x{k}", d, (("host_overhead", False),)) / 1e12)


_register_mamf_cases()


def refit_h100_clock(scope: str = "full") -> dict[str, float]:
    """Re-derive h100-sxm's clock_under_load (calibration table): the clock at which this model's 8192^3
    bf16 GEMM runs at [N9]'s measured TFLOP/s, scaling the nominal clock by measured / predicted."""
    return {"h100-sxm clock_under_load": _refit_clock("h100-sxm", (8192, 8192, 8192), "calib-h100-gemm-8192-bf16")}


def refit_a100_clock(scope: str = "full") -> dict[str, float]:
    """a100-sxm-80gb's clock_under_load by the same procedure, on MAMF's best bf16 shape and TFLOP/s
    (gpu-a100-gemm-peak)."""
    return {"a100-sxm-80gb clock_under_load": _refit_clock("a100-sxm-80gb", (1024, 10240, 5120), "gpu-a100-gemm-peak")}


def refit_b200_clock(scope: str = "full") -> dict[str, float]:
    """b200's clock_under_load by the same procedure, on MAMF's best bf16 shape and TFLOP/s (gpu-b200-gemm-peak)."""
    return {"b200 clock_under_load": _refit_clock("b200", (1792, 16128, 3072), "gpu-b200-gemm-peak")}


def _refit_clock(chip: str, shape: tuple[int, int, int], row: str) -> float:
    from archsim.hw.load import load_system

    nominal_mhz = load_system(chip).chip.clock / 1e6
    predicted = _peak_tflops_at(chip, *shape, f"clock_under_load={nominal_mhz:g} MHz")
    return float(round(nominal_mhz * float(reference_row(row)["value"]) / predicted))


def _peak_tflops_at(chip: str, m: int, n: int, k: int, override: str) -> float:
    from archsim.pipeline import run
    from archsim.spec import parse_override

    latency = run(chip, f"gemm:{m}x{n}x{k}", Scenario(), options={"host_overhead": False},
                  overrides=[parse_override(override)]).latency_s
    return 2.0 * m * n * k / latency / 1e12
