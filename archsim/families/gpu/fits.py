"""Fits of GPU calibration constants on measured microbenchmarks (archsim/calibration/table.py names them;
`archsim calibrate --check` re-runs them). Each returns {constant name: value}, rounded as stored."""
from __future__ import annotations

import numpy as np

from archsim.validation.base import reference_rows

STREAM_FILE = "gpu_stream_kernels.csv"


def stream_rows(region: str = "dram") -> list[dict]:
    return [r for r in reference_rows(STREAM_FILE) if r["region"] == region]


def fit_stream_kernel() -> tuple[float, dict[str, float]]:
    """Least squares of time = a + V / b_gpu over the DRAM-resident sizes of every GPU in the file:
    one shared intercept a (seconds), one bandwidth b per GPU (bytes/s)."""
    rows = stream_rows()
    gpus = sorted({r["gpu"] for r in rows})
    x = np.zeros((len(rows), 1 + len(gpus)))
    t = np.zeros(len(rows))
    for i, r in enumerate(rows):
        volume = float(r["volume_bytes"])
        x[i, 0] = 1.0
        x[i, 1 + gpus.index(r["gpu"])] = volume
        t[i] = volume / (float(r["gbs"]) * 1e9)
    sol, *_ = np.linalg.lstsq(x, t, rcond=None)
    return float(sol[0]), {g: 1.0 / float(sol[1 + k]) for k, g in enumerate(gpus)}


def refit_stream_kernel(scope: str = "full") -> dict[str, float]:
    """STREAM_KERNEL_OVERHEAD_S (to 0.1 us) and the A100's stream fraction (slope / HBM peak, to 0.01)."""
    from archsim.hw.load import load_system

    a, b = fit_stream_kernel()
    peak = float(load_system("a100-sxm-80gb").chip.hbm.bandwidth)
    return {"STREAM_KERNEL_OVERHEAD_S": round(a * 1e7) / 1e7,
            "a100-sxm-80gb hbm.stream_fraction": round(b["a100-sxm-80gb"] / peak, 2)}


def refit_nccl_bus(scope: str = "full") -> dict[str, float]:
    """NVLINK_PROTOCOL_EFFICIENCY and NVLS_BUS_EFFICIENCY: the measured ring and NVLS bus bandwidths of 8 H100s
    (published_results.csv) over the DGX H100's NVLink line rate per direction."""
    from archsim.hw.load import load_system
    from archsim.validation.base import reference_row

    line = float(load_system("dgx-h100").interconnect.link_bandwidth) / 1e9
    ring = float(reference_row("nccl-dgxh100-allreduce-ring-busbw")["value"])
    nvls = float(reference_row("nccl-dgxh100-allreduce-nvls-busbw")["value"])
    return {"NVLINK_PROTOCOL_EFFICIENCY": ring / line, "NVLS_BUS_EFFICIENCY": nvls / line}


CUSTOM_AR_FILE = "custom_allreduce.csv"


def refit_custom_allreduce(scope: str = "full") -> dict[str, float]:
    """CUSTOM_AR_BASE_S and CUSTOM_AR_PER_PEER_S: least squares of the measured one-shot latency over n - 1 peers
    (custom_allreduce.csv), less the launch gap archsim charges before every kernel; rounded to 0.01 us."""
    from archsim.calibration import KERNEL_LAUNCH_S

    rows = reference_rows(CUSTOM_AR_FILE)
    peers = np.array([int(r["ranks"]) - 1 for r in rows], dtype=float)
    t = np.array([float(r["latency_us"]) for r in rows]) * 1e-6
    slope, intercept = np.polyfit(peers, t, 1)
    return {"CUSTOM_AR_BASE_S": round((intercept - KERNEL_LAUNCH_S) * 1e8) / 1e8,
            "CUSTOM_AR_PER_PEER_S": round(slope * 1e8) / 1e8}


POWER_FILE = "gpu_power_roofline.csv"
# the GPU whose measured curve each chip file's power.active and energy.hbm come from
POWER_FITS = {"a100-sxm-80gb": "a100-40gb", "h200": "h200"}


def fit_power(gpu: str) -> tuple[float, float, float]:
    """Least squares of board power = P0 + e_byte x DRAM bytes/s + e_flop x FP64 FLOP/s over one GPU's rows of
    gpu_power_roofline.csv: (P0 in W, e_byte in J/byte, e_flop in J/FLOP)."""
    rows = [r for r in reference_rows(POWER_FILE) if r["gpu"] == gpu]
    x = np.array([[1.0, float(r["gbs"]), float(r["gflops"])] for r in rows])  # GB/s and GFLOP/s: well scaled
    w = np.array([float(r["watts"]) for r in rows])
    (p0, per_gbs, per_gflops), *_ = np.linalg.lstsq(x, w, rcond=None)
    return float(p0), float(per_gbs) * 1e-9, float(per_gflops) * 1e-9


def refit_power(scope: str = "full") -> dict[str, float]:
    """power.active (the intercept, to 1 W) and energy.hbm (the slope per DRAM byte less the L2 leg the model
    charges every streamed byte, energy.l2; to 0.1 pJ/bit) of the chips fitted on the measured curves."""
    from archsim.hw.load import load_system

    out = {}
    for chip, gpu in POWER_FITS.items():
        p0, e_byte, _ = fit_power(gpu)
        e_l2 = float(load_system(chip).chip.energy.l2)  # J/byte
        out[f"{chip} power.active"] = float(round(p0))
        out[f"{chip} energy.hbm"] = round((e_byte - e_l2) * 1e12 / 8, 1)
    return out


# chip -> {dtype: MAMF row}: the measured GEMM ceilings (chip files' matmul_ceiling; calibration table)
MATMUL_CEILING_ROWS = {"h100-sxm": {"fp8": "gpu-h100-fp8-gemm-peak"}, "h200": {"fp8": "gpu-h200-fp8-gemm-peak"},
                       "b200": {"fp8": "gpu-b200-fp8-gemm-peak"}}


def refit_matmul_ceiling(scope: str = "full") -> dict[str, float]:
    """Each chip's matmul_ceiling.<dtype>: MAMF's measured best TFLOP/s of that dtype (published_results.csv)."""
    from archsim.validation.base import reference_row

    return {f"{chip} matmul_ceiling.{dtype}": float(reference_row(row)["value"])
            for chip, rows in MATMUL_CEILING_ROWS.items() for dtype, row in rows.items()}
