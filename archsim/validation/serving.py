"""Serving cases: MLPerf Inference v4.1 Llama-2-70B on 8 x H100 SXM and 8 x H200 SXM (archsim serve;
docs/serving.md); v5.0/v5.1 rows on DGX H100, H200 and B200, reported-only (LATER, below).

Each case runs the configuration the submitter published, not one chosen here: NVIDIA's v4.1 closed
harness configs (mlcommons/inference_results_v4.1 closed/NVIDIA/configs/llama2-70b/{Offline,Server}/
__init__.py): H100_SXM_80GB_TP2x4, four TensorRT-LLM instances of tensor parallelism 2, batch (max
sequences) 896 offline and 1,024 server, server_target_qps 75; H200_SXM_141GBx8, eight instances of one
GPU, batch 806 offline and 896 server, server_target_qps 102.5. FP8 weights (use_fp8) with the FP8 KV
cache of its engines and FP16 activations. archsim's serving defaults otherwise (continuous batching,
8,192 tokens per iteration, routing to the least-loaded instance). The server search starts at the
submitter's own target rate (where it starts changes the path, not the answer). Lengths: the MLPerf
preset's (archsim/serving/scenarios.py: output mean published, input mean ASSUMED). Tolerance 20%, as the
issue set before any prediction was looked at; required.
"""
from __future__ import annotations

from functools import lru_cache

from archsim.validation.base import serve_command, validation_case

REFERENCE = "serving_results.csv"
FP8 = dict(weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8")
FP4 = dict(weight_dtype="fp4", act_dtype="fp16", kv_dtype="fp8")
# gpu -> (system, tp, instances, offline batch, server batch, server_target_qps), from the configs above
SUBMISSIONS = {"h100": ("dgx-h100", 2, 4, 896, 1024, 75.0), "h200": ("dgx-h200", 1, 8, 806, 896, 102.5)}


def _submission(gpu: str, kind: str) -> tuple[str, dict, dict, dict]:
    """(system, dtypes, mapper options, serving flags) of a submission's configuration (SUBMISSIONS)."""
    system, tp, instances, offline_batch, server_batch, target = SUBMISSIONS[gpu]
    flags = {"replicas": instances, "router": "least_tokens",
             "max_seqs": offline_batch if kind == "offline" else server_batch}
    if kind == "server":
        flags["rate"] = target
    return system, FP4 if gpu == "b200" else FP8, {"tp": tp}, flags


@lru_cache(maxsize=None)
def _mlperf(gpu: str, kind: str) -> float:
    from archsim.serving.api import run_serving

    system, dtypes, options, flags = _submission(gpu, kind)
    result, _ = run_serving(system, "llama2-70b", scenario_name=f"mlperf-{kind}", dtypes=dtypes, options=options,
                            flags=flags, find_max_rate=kind == "server")
    return 0.0 if result is None else float(result.summary["throughput"]["output_tokens_per_s"])


def _command(gpu: str, kind: str) -> str:
    system, dtypes, options, flags = _submission(gpu, kind)
    flags = {"scenario": f"mlperf-{kind}", **flags}
    if kind == "server":
        flags["find_max_rate"] = True
    return serve_command(system, "llama2-70b", dtypes, options, flags,
                         "output tokens/s" + (" at the highest rate meeting the SLO" if kind == "server" else ""))


def _register() -> None:
    for gpu in ("h100", "h200"):
        for kind in ("offline", "server"):
            validation_case(f"mlperf-v4.1-{gpu}-70b-{kind}", family="gpu", tolerance=0.20, reference=REFERENCE,
                            command=_command(gpu, kind))(lambda gpu=gpu, kind=kind: _mlperf(gpu, kind))
    for case, (gpu, kind) in LATER.items():
        validation_case(case, family="gpu", tolerance=0.20, required=False, reference=REFERENCE,
                        command=_command(gpu, kind))(lambda gpu=gpu, kind=kind: _mlperf(gpu, kind))


# MLPerf v5.0 and v5.1 Llama-2-70B on the systems archsim bundles (NVIDIA's DGX H100, H200 and B200 submissions).
# Their harness configs were not read, so batching and instances are ASSUMED: Hopper as NVIDIA's v4.1 configs above
# (the server search starts at the v4.1 target rate); B200 as eight one-GPU instances like the H200 (70B in NVFP4 is
# 40 GB), FP4 weights (NVIDIA's Blackwell submissions; the v5.1 table does not state it), FP8 KV cache, with the
# H200's v4.1 batches; its server search starts at the v5.0 submission's target_qps 364. Hence reported-only (the
# rule: required when hardware, precision, lengths and batching are all stated). Tolerance 20%, as for the v4.1
# cases, set before any prediction was looked at.
SUBMISSIONS["b200"] = ("dgx-b200", 1, 8, 806, 896, 364.0)
LATER = {"mlperf-v5.0-h100-70b-server": ("h100", "server"), "mlperf-v5.0-h200-70b-server": ("h200", "server"),
         "mlperf-v5.0-b200-70b-server": ("b200", "server"), "mlperf-v5.1-b200-70b-offline": ("b200", "offline")}


_register()
