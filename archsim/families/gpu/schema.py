"""The `gpu` chip kind: schema of its YAML files and its roofline peaks."""
from __future__ import annotations

from typing import TYPE_CHECKING

from archsim.errors import ArchsimInputError
from archsim.hw.peaks import Peaks
from archsim.hw.schema import POWER, PRICE, energy_per_byte, energy_per_op, header
from archsim.limits import MAX_SMS
from archsim.spec import Field

if TYPE_CHECKING:
    from archsim.hw.load import System

GPU = {
    **header("gpu"),
    "clock": Field("frequency", "SM clock at which the tensor-core peak is quoted", positive=True),
    "clock_under_load": Field("frequency", "SM clock sustained under dense tensor-core load (power-limited); "
                              "scales the tensor-core rate; default: clock", required=False, positive=True),
    "sm": {
        "count": Field("int", "streaming multiprocessors", positive=True, maximum=MAX_SMS),
        "shared_memory": Field("bytes", "shared memory (configurable L1) per SM", positive=True),
        "registers": Field("bytes", "register file per SM", positive=True),
        "max_warps": Field("int", "resident warps per SM (CUDA programming guide, per compute capability)",
                           required=False, default=64, positive=True),
        "max_blocks": Field("int", "resident thread blocks per SM (CUDA programming guide)",
                            required=False, default=32, positive=True),
        "sfu_rate": Field("int", "special-function results (exp2, rcp) per clock per SM (CUDA programming "
                          "guide throughput table)", required=False, default=16, positive=True),
        "cluster_multicast": Field("int", "CTAs of a thread-block cluster that share one operand fetch from L2 "
                                   "(TMA multicast, sm_90+); 1 = none", required=False, default=1, positive=True),
    },
    "compute": {
        "fp16": Field("flops", "dense FP16 tensor-core peak (FLOP/s)", positive=True),
        "bf16": Field("flops", "dense BF16 tensor-core peak", positive=True),
        "fp8": Field("flops", "dense FP8 tensor-core peak; absent if unsupported", required=False),
        "int8": Field("flops", "dense INT8 tensor-core peak (OP/s)", required=False),
        "fp32": Field("flops", "FP32 non-tensor (CUDA core) peak, used by vector kernels", positive=True),
    },
    "l2": {
        "capacity": Field("bytes", "L2 cache size", positive=True),
        "bandwidth": Field("bandwidth", "L2 read bandwidth", positive=True),
    },
    "hbm": {
        "capacity": Field("bytes", "device memory", positive=True),
        "bandwidth": Field("bandwidth", "peak device memory bandwidth", positive=True),
        "latency": Field("time", "load-to-use latency of a DRAM access", positive=True),
    },
    "power": POWER,
    # Dynamic energy per unit of activity (archsim/families/gpu/energy.py, docs/economics.md). Optional so
    # older files still load; a run without them reports no energy and says which key is missing.
    "energy": {
        "flop": {
            "fp16": energy_per_op("tensor-core FP16 FLOP, operand delivery from registers and shared memory "
                                  "included"),
            "bf16": energy_per_op("tensor-core BF16 FLOP (as fp16)"),
            "fp8": energy_per_op("tensor-core FP8 FLOP"),
            "int8": energy_per_op("tensor-core INT8 operation"),
            "fp32": energy_per_op("CUDA-core FP32 FLOP (vector kernels: norms, softmax, elementwise)"),
        },
        "l2": energy_per_byte("one byte through L2 to the SMs (L2 SRAM access and the on-chip crossbar)"),
        "hbm": energy_per_byte("one byte from HBM to the SMs: DRAM access, PHY and the on-chip path"),
        "link": energy_per_byte("one byte sent over NVLink (SerDes at both ends and the switch)"),
    },
    "price": PRICE,
}



def _gpu_matrix_flops(chip, dtype: str) -> float:
    table = {"fp16": chip.compute.fp16, "bf16": chip.compute.bf16, "fp8": chip.compute.fp8,
             "int8": chip.compute.int8, "fp32": chip.compute.fp32}
    value = table.get(dtype)
    if value is None:
        raise ArchsimInputError(f"{chip.name} has no {dtype} tensor-core rate in its spec")
    return float(value)


def gpu_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    return Peaks(_gpu_matrix_flops(c, dtype) * n, float(c.compute.fp32) * n,
                 float(c.hbm.bandwidth) * n, float(c.hbm.capacity) * n, "HBM")
