"""The measured FP8 GEMM ceiling (chip files' matmul_ceiling) and trtllm-bench's default batching rule that the
TensorRT-LLM v1.0 cases use (archsim/families/gpu/validation_trtllm10.py)."""
from __future__ import annotations

from archsim.pipeline import run
from archsim.workload.model import Scenario


def _tflops(chip: str, shape: str, dtype: str) -> float:
    m, n, k = (int(x) for x in shape.split("x"))
    r = run(chip, f"gemm:{shape}", Scenario(weight_dtype=dtype, act_dtype=dtype, kv_dtype=dtype),
            options={"host_overhead": False})
    return 2.0 * m * n * k / r.latency_s / 1e12


def test_no_fp8_gemm_runs_above_the_measured_ceiling_and_bf16_has_none():
    from archsim.hw.load import load_system

    ceiling = float(load_system("h100-sxm").chip.matmul_ceiling.fp8) / 1e12
    assert ceiling == 1402.6
    for shape in ("8192x8192x8192", "4096x57344x8192"):  # the tile model alone gives 1588 and 1632
        assert ceiling * 0.97 <= _tflops("h100-sxm", shape, "fp8") <= ceiling * 1.0001
    assert _tflops("h100-sxm", "8192x8192x8192", "bf16") > 795  # no bf16 ceiling: the tile model's 798
    assert _tflops("h100-sxm", "256x256x256", "fp8") < 0.5 * ceiling  # small GEMMs stay under it on their own


def test_trtllm_bench_default_rule():
    """tensorrt_llm/bench/build/tuning.py: requests that fit the KV memory, rounded up; tokens from the ISL/OSL mix."""
    from archsim.families.gpu.validation_trtllm10 import trtllm_bench_settings

    # 70B FP8 on one H200: (141e9 B - 70.55e9 params x 1 B) x 0.95 / (160 KiB per token x 256) -> 1,6xx requests
    assert trtllm_bench_settings("dgx-h200", "llama3.1-70b", "fp8", 1, 128, 128) == (1792, 3328)
    assert trtllm_bench_settings("dgx-h200", "llama3.1-70b", "fp8", 1, 20000, 2000) == (64, 2048)  # the minima
    assert trtllm_bench_settings("dgx-h100", "llama3.1-8b", "fp8", 1, 128, 128) == (4096, 8192)  # the 4096 cap
