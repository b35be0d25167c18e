"""Kernel- and collective-level validation cases of the GPU family (docs/gpu.md, "Microbenchmarks").

- gpu-*-stream-*: te42kyfo/gpu-benches gpu-small-kernels, a streaming scale kernel repeated in a CUDA graph
  (gpu_stream_kernels.csv), `archsim run CHIP stream:BYTES -o host_overhead=false`, in GB/s = bytes / time.
  The two A100 DRAM-resident sizes are the fit data of STREAM_KERNEL_OVERHEAD_S and the A100's stream
  fraction (listed apart as fitted). The smallest size (64 KB, L2-resident, launch-bound) is a prediction of
  the launch gap on both GPUs, reported only: the gap comes from a third GPU (KERNEL_LAUNCH_S).
- gpu-h100-oneshot-*: SGLang's measured one-shot all-reduce latencies (custom_allreduce.csv), the fit data of
  CUSTOM_AR_BASE_S and CUSTOM_AR_PER_PEER_S (listed apart as fitted).
- nccl-*: nccl-tests all_reduce_perf figures (published_results.csv), `archsim run SYSTEM allreduce:BYTES -o
  allreduce=nccl -o host_overhead=false`. Bus bandwidth = algorithm bandwidth x 2(n-1)/n at 8 GiB, the largest
  size nccl-tests is usually run at; latency = the out-of-place time.
Tolerances, fixed before the predictions were looked at: 15% for bus bandwidth at large sizes, 25% for the
latency of small messages (NCCL's tuning model, whose latencies archsim uses, is itself an approximation),
30% for the launch-bound stream kernels.
"""
from __future__ import annotations

from archsim.families.gpu.fits import STREAM_FILE
from archsim.validation.base import reference_rows, validation_case
from archsim.workload.model import Scenario

LARGE = 8 * 2**30  # nccl-tests' usual largest size (-e 8G)


def _seconds(system: str, workload: str, options: dict, overrides: tuple[str, ...] = ()) -> float:
    from archsim.pipeline import run
    from archsim.spec import parse_override

    return run(system, workload, Scenario(weight_dtype="fp32", act_dtype="fp32", kv_dtype="fp32"),
               options=dict(options, host_overhead=False),
               overrides=[parse_override(o) for o in overrides]).latency_s


def stream_gbs(chip: str, volume: int) -> float:
    return volume / _seconds(chip, f"stream:{volume}", {}) / 1e9


STREAM_CASES = (  # (case id, gpu, bytes, required)
    ("gpu-a100-stream-84mb", "a100-sxm-80gb", 84000528, True),
    ("gpu-a100-stream-986mb", "a100-sxm-80gb", 985920144, True),
    ("gpu-a100-stream-64kb", "a100-sxm-80gb", 65536, False),
    ("gpu-h200-stream-64kb", "h200", 65536, False),
)


def _register_stream_cases() -> None:
    measured = {(r["gpu"], int(r["volume_bytes"])): float(r["gbs"]) for r in reference_rows(STREAM_FILE)}
    for case, chip, volume, required in STREAM_CASES:
        validation_case(case, family="gpu", tolerance=0.30 if volume < 2**20 else 0.15, required=required,
                        command=f"archsim run {chip} stream:{volume} -o host_overhead=false  (bytes / latency)",
                        measured=measured[(chip, volume)], unit="GB/s",
                        source=f"te42kyfo/gpu-benches gpu-small-kernels, CUDA graph ({STREAM_FILE})")(
            lambda c=chip, v=volume: stream_gbs(c, v))


_register_stream_cases()


def busbw_gbs(system: str, ranks: int, options: dict, overrides: tuple[str, ...] = ()) -> float:
    """nccl-tests' bus bandwidth of an all-reduce of LARGE bytes: size / time x 2(n-1)/n."""
    seconds = _seconds(system, f"allreduce:{LARGE}", dict(options, tp=ranks), overrides)
    return LARGE / seconds * 2 * (ranks - 1) / ranks / 1e9


@validation_case("nccl-dgxh100-allreduce-nvls-busbw", family="gpu", tolerance=0.15,
                 command="archsim run dgx-h100 allreduce:8G -o allreduce=nccl -o host_overhead=false  (bus bandwidth)")
def dgxh100_nvls() -> float:
    return busbw_gbs("dgx-h100", 8, {"allreduce": "nccl"})


@validation_case("nccl-dgxh100-allreduce-ring-busbw", family="gpu", tolerance=0.15,
                 command="archsim run dgx-h100 allreduce:8G -o allreduce=ring -o host_overhead=false  (bus bandwidth)")
def dgxh100_ring() -> float:
    return busbw_gbs("dgx-h100", 8, {"allreduce": "ring"})


H800_LINK = "interconnect.link_bandwidth=200 GB/s"  # H800: NVLink cut to 400 GB/s bidirectional


@validation_case("nccl-h800-allreduce-nvls-busbw", family="gpu", tolerance=0.15,
                 command="archsim run dgx-h100 allreduce:8G --set 'interconnect.link_bandwidth=200 GB/s' "
                         "-o allreduce=nccl -o host_overhead=false  (bus bandwidth)")
def h800_nvls() -> float:
    return busbw_gbs("dgx-h100", 8, {"allreduce": "nccl"}, (H800_LINK,))


@validation_case("nccl-dgxa100-2gpu-allreduce-32b", family="gpu", tolerance=0.25,
                 command="archsim run dgx-a100 allreduce:32 -o tp=2 -o allreduce=nccl -o host_overhead=false")
def dgxa100_small() -> float:
    return _seconds("dgx-a100", "allreduce:32", {"tp": 2, "allreduce": "nccl"}) * 1e6


def _register_custom_allreduce_cases() -> None:
    from archsim.families.gpu.fits import CUSTOM_AR_FILE

    for row in reference_rows(CUSTOM_AR_FILE):
        ranks, elements = int(row["ranks"]), int(row["data_size"])
        size = 2 * elements  # bf16/fp16 elements (the table prints no unit)
        validation_case(row["case_id"], family="gpu", tolerance=0.25,
                        command=f"archsim run dgx-h100 allreduce:{size} -o tp={ranks} -o allreduce=oneshot "
                                "-o host_overhead=false", measured=float(row["latency_us"]), unit="us",
                        source=f"sgl-project/sglang PR #2904, custom all-reduce on H100 ({CUSTOM_AR_FILE})")(
            lambda n=ranks, s=size: _seconds("dgx-h100", f"allreduce:{s}", {"tp": n, "allreduce": "oneshot"}) * 1e6)


_register_custom_allreduce_cases()
