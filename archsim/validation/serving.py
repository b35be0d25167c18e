"""Serving cases: MLPerf Inference v4.1 Llama-2-70B on 8 x H100 SXM and 8 x H200 SXM (archsim serve;
docs/serving.md).

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

from archsim.validation.base import validation_case

REFERENCE = "serving_results.csv"
FP8 = dict(weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8")
# gpu -> (system, tp, instances, offline batch, server batch, server_target_qps), from the configs above
SUBMISSIONS = {"h100": ("dgx-h100", 2, 4, 896, 1024, 75.0), "h200": ("dgx-h200", 1, 8, 806, 896, 102.5)}


@lru_cache(maxsize=None)
def _mlperf(gpu: str, kind: str) -> float:
    from archsim.serving.api import run_serving

    system, tp, instances, offline_batch, server_batch, target = SUBMISSIONS[gpu]
    flags = {"replicas": instances, "router": "least_tokens",
             "max_seqs": offline_batch if kind == "offline" else server_batch}
    if kind == "server":
        flags["rate"] = target
    result, _ = run_serving(system, "llama2-70b", scenario_name=f"mlperf-{kind}", dtypes=FP8, options={"tp": tp},
                            flags=flags, find_max_rate=kind == "server")
    return 0.0 if result is None else float(result.summary["throughput"]["output_tokens_per_s"])


def _command(gpu: str, kind: str) -> str:
    system, tp, instances, offline_batch, server_batch, target = SUBMISSIONS[gpu]
    common = (f"archsim serve {system} llama2-70b --scenario mlperf-{kind} --dtype fp16 --weight-dtype fp8 "
              f"--kv-dtype fp8 -o tp={tp} --replicas {instances} --router least_tokens")
    if kind == "offline":
        return f"{common} --max-seqs {offline_batch}"
    return (f"{common} --max-seqs {server_batch} --find-max-rate --rate {target:g}  (output tokens/s at the "
            "highest rate meeting the SLO)")


def _register() -> None:
    for gpu in SUBMISSIONS:
        for kind in ("offline", "server"):
            validation_case(f"mlperf-v4.1-{gpu}-70b-{kind}", family="gpu", tolerance=0.20, reference=REFERENCE,
                            command=_command(gpu, kind))(lambda gpu=gpu, kind=kind: _mlperf(gpu, kind))


_register()
