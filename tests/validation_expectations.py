"""What the tests expect of reported-only validation cases (low-confidence references that never fail
`archsim validate`): each is within its tolerance unless listed here with the sign of its known error.
A reported case that moves in or out of tolerance, or flips sign, fails its test, so a change to the
model that moves one is seen and this table updated on purpose (with the reason in the commit).
Errors as of the [families] reorganisation (TensorRT-LLM rows: after the FP8 GEMM ceiling, fidelity2 branch);
docs/gpu.md, docs/economics.md and docs/tsp.md explain each."""
from __future__ import annotations

KNOWN_OUTSIDE = {
    "gpu-h100-8b-best": "-",  # endpoint configuration unknown (Artificial Analysis)
    "gpu-h100-power-b1": "+",  # 3P quote of a serving benchmark; the per-byte energy is fitted on scalar loads
    "gpu-h200-stream-64kb": "+",  # tiny kernels on that H200 took 2.2 us each in a graph, the A100's 1.3 us  # model and context unknown; batch-128 power under the quote
    "trtllm-a100-70b-fp16-tp4-ttft-128": "-",  # 2023 TensorRT-LLM short-prompt TTFT: a fixed cost not modelled
    "trtllm-a100-7b-fp16-ttft-128": "-",
    "trtllm-h100-70b-fp8-tp4-ttft-128": "-",
    "trtllm-h100-7b-fp8-ttft-128": "-",
    "trtllm-h100-70b-fp8-tp4-b480-thru": "+",  # measured step 3x memory + compute time
    "waferllm-energy-decode-13b-x1-dir": "-",  # activity-based energy vs WaferLLM's nameplate arithmetic
    "waferllm-energy-decode-13b-x1-x": "+",
    "waferllm-energy-decode-13b-x8-dir": "-",
    "waferllm-energy-decode-13b-x8-x": "+",
    "waferllm-energy-decode-8b-2x8-dir": "-",
    "waferllm-energy-decode-8b-2x8-x": "+",
    "waferllm-energy-decode-8b-x1-x": "+",
    "waferllm-energy-decode-8b-x8-dir": "-",
    "waferllm-energy-decode-8b-x8-x": "+",
    "waferllm-tdp-decode-8b-2x8-x": "+",
    # TensorRT-LLM 0.9.0 static batch (validation_trtllm.py): fast at large batch, mostly Hopper FP8; first-token
    # rows at 128 tokens carry the harness's 4-8 ms; NIM 1.8.0 at concurrency 1 (serving runtime per step)
    "nim-h100-70b-fp8-tp2-itl-500": "-",
    "trtllm09-static-a100-llama270b-bs512-tp8-128_2048": "+",
    "trtllm09-static-a100-llama270b-bs64-tp4-2048_2048": "+",
    "trtllm09-static-h100-llama270b-bs512-tp4-128_2048": "+",
    "trtllm09-static-h100-llama270b-bs64-tp2-2048_2048": "+",
    "trtllm09-static-h200-llama270b-bs512-tp2-128_2048": "+",
    "trtllm09-static-h200-llama270b-bs64-tp1-2048_2048": "+",
    "trtllm09-static-h200-llama27b-bs120-tp1-128_2048": "+",
    "trtllm09-static-h200-llama27b-bs896-tp1-128_128": "+",
    "trtllm09-ttft-a100-llama27b-tp1-isl128": "-",
    "trtllm09-ttft-h100-llama270b-tp4-isl128": "-",
    "trtllm09-ttft-h100-llama27b-tp1-isl128": "-",
    "trtllm09-ttft-h200-llama270b-tp4-isl128": "-",
    "trtllm09-ttft-h200-llama27b-tp1-isl128": "-",
    # TensorRT-LLM v1.0 perf-overview through serve's offline mode (validation_trtllm10.py; batching by trtllm-bench's
    # default rule, ASSUMED memory fraction): fast where compute-bound (short outputs, large batches; B200 FP4 most),
    # B200 20000/2000 slow (docs/gpu.md)
    "trtllm10-llama31-405b-b200-tp4-1000_2000": "+",
    "trtllm10-llama31-405b-b200-tp4-128_128": "+",
    "trtllm10-llama31-405b-b200-tp4-2048_128": "+",
    "trtllm10-llama31-405b-h100-tp8-1000_2000": "+",
    "trtllm10-llama31-405b-h100-tp8-128_2048": "+",
    "trtllm10-llama31-405b-h100-tp8-128_4096": "+",
    "trtllm10-llama31-405b-h200-tp8-1000_2000": "+",
    "trtllm10-llama31-405b-h200-tp8-128_2048": "+",
    "trtllm10-llama31-8b-h200-tp1-128_128": "+",
    "trtllm10-llama31-8b-h200-tp1-500_2000": "+",
    "trtllm10-llama33-70b-b200-tp1-128_128": "+",
    "trtllm10-llama33-70b-b200-tp1-128_2048": "+",
    "trtllm10-llama33-70b-b200-tp1-20000_2000": "-",
    "trtllm10-llama33-70b-b200-tp1-2048_128": "+",
    "trtllm10-llama33-70b-b200-tp1-500_2000": "+",
    "trtllm10-llama33-70b-h100-tp2-1000_1000": "+",  # +18.9% -> +22.6% with 16-bit vocabulary tables: their KV pool
    # is 515K tokens, not 535K, the mean batch 165, not 172, and the step 40.3 ms, not 43.0: more tokens per second
    "trtllm10-llama33-70b-h100-tp2-1000_2000": "+",
    "trtllm10-llama33-70b-h100-tp2-128_2048": "+",
    "trtllm10-llama33-70b-h100-tp2-500_2000": "+",
    "trtllm10-llama33-70b-h200-tp1-128_128": "+",
    "trtllm10-llama33-70b-h200-tp1-128_2048": "+",
    # MLPerf v5.0 on DGX H100 with NVIDIA's v4.1 harness config ASSUMED: the v4.1 -> v5.0 software gain (x1.44 at the
    # same hardware) is not modelled (validation/serving.py)
    "mlperf-v5.0-h100-70b-server": "-",
    # NIM 1.8.0 concurrency sweep through the closed loop (validation_nim.py): decode 12-19% fast at low
    # concurrency (the batch-1 gap), the start-up of N prompts at t = 0 in the mean TTFT at 50 clients
    "nim180-70b-h100-tp2-5000_500-c1-throughput": "+",
    "nim180-70b-h100-tp2-5000_500-c5-throughput": "+",
    "nim180-70b-h100-tp2-5000_500-c50-ttft": "+",
    "groq-7b": "+",  # latency-first single-sequence speed vs a 2024 service figure
    "groq-mixtral": "+",
    "specbench-a100-vicuna13b-sps": "+",  # the 68M draft's eager steps cost more than modelled (docs/serving.md)
}


def check_case(result) -> None:
    """Assert what a case's result must be: required and fitted cases within tolerance; reported-only
    cases as KNOWN_OUTSIDE says."""
    case = result.case
    assert result.predicted is not None, f"{case.case_id}: {result.message}"
    detail = f"{case.case_id}: predicted {result.predicted:.4g}, measured {case.measured:.4g}, error {result.error:+.1%}"
    if case.required or case.case_id not in KNOWN_OUTSIDE:
        assert result.passed, detail
    else:
        assert not result.passed, detail + " (now within tolerance: update tests/validation_expectations.py)"
        assert (result.error > 0) == (KNOWN_OUTSIDE[case.case_id] == "+"), detail
