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
        "fp6": Field("flops", "dense FP6 (MXFP6) tensor-core peak; absent if unsupported", required=False),
        "fp4": Field("flops", "dense FP4 (NVFP4 / MXFP4) tensor-core peak; absent if unsupported", required=False),
        "int8": Field("flops", "dense INT8 tensor-core peak (OP/s)", required=False),
        "fp32": Field("flops", "FP32 non-tensor (CUDA core) peak, used by vector kernels", positive=True),
    },
    "matmul_ceiling": {  # measured, not a datasheet figure: MAMF (stas00/ml-engineering), docs/gpu.md
        key: Field("flops", f"{key.upper()} GEMM throughput no shape exceeds with the vendor library (cuBLASLt, as "
                            "torch and TensorRT-LLM call it): the best of a measured shape search; absent: no ceiling "
                            "beyond the tile model", required=False, positive=True)
        for key in ("bf16", "fp16", "fp8", "fp6", "fp4", "int8")
    },
    "l2": {
        "capacity": Field("bytes", "L2 cache size", positive=True),
        "bandwidth": Field("bandwidth", "L2 read bandwidth", positive=True),
        "latency": Field("time", "load-to-use latency of an L2 hit; default: hbm.latency", required=False,
                         positive=True),
    },
    "hbm": {
        "capacity": Field("bytes", "device memory", positive=True),
        "bandwidth": Field("bandwidth", "peak device memory bandwidth", positive=True),
        "latency": Field("time", "load-to-use latency of a DRAM access", positive=True),
        "stream_fraction": Field("float", "share of the peak a streaming kernel sustains (measured); default: "
                                 "the calibration table's HBM_FRACTION", required=False, positive=True),
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
            "fp6": energy_per_op("tensor-core FP6 FLOP"),
            "fp4": energy_per_op("tensor-core FP4 FLOP"),
            "int8": energy_per_op("tensor-core INT8 operation"),
            "fp32": energy_per_op("CUDA-core FP32 FLOP (vector kernels: norms, softmax, elementwise)"),
        },
        "l2": energy_per_byte("one byte through L2 to the SMs (L2 SRAM access and the on-chip crossbar)"),
        "hbm": energy_per_byte("one byte from HBM to the SMs: DRAM access, PHY and the on-chip path"),
        "link": energy_per_byte("one byte sent over NVLink (SerDes at both ends and the switch)"),
    },
    "price": PRICE,
}



# The tensor-core rate each stored dtype runs at when the chip has it (mxfp4 runs on the FP4 pipes).
RATE_KEY = {"fp32": "fp32", "bf16": "bf16", "fp16": "fp16", "fp8": "fp8", "int8": "int8", "fp6": "fp6",
            "fp4": "fp4", "mxfp4": "fp4"}
WIDE = ("fp32", "bf16", "fp16")


def tensor_rate(chip, key: str) -> float | None:
    value = chip.compute.get(key)
    return float(value) if value is not None else None


def math_dtype(chip, weight_dtype: str, act_dtype: str = "bf16") -> str:
    """The rate key a GEMM with `weight_dtype` weights runs at on `chip`:
    - weight and activation quantization (FP8, FP6, NVFP4/MXFP4, INT8 W8A8) where the chip has tensor cores
      for the weight dtype: serving stacks quantize the activations on the fly (TensorRT-LLM's FP8 and NVFP4
      GEMMs, vLLM's FP8 W8A8);
    - weight-only otherwise (int4 AWQ/GPTQ always; fp8 on A100; fp4/fp6 before Blackwell): the weights are
      dequantized in the GEMM main loop and the math runs at the activations' 16-bit rate (Marlin, AWQ,
      FP8-Marlin kernels)."""
    key = RATE_KEY.get(weight_dtype)
    if weight_dtype != "int4" and key and tensor_rate(chip, key) is not None:
        return key
    return act_dtype if act_dtype in WIDE and tensor_rate(chip, act_dtype) is not None else "bf16"


def _gpu_matrix_flops(chip, dtype: str) -> float:
    value = tensor_rate(chip, math_dtype(chip, dtype))
    if value is None:
        raise ArchsimInputError(f"{chip.name} has no {dtype} tensor-core rate in its spec")
    return value


def gpu_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    return Peaks(_gpu_matrix_flops(c, dtype) * n, float(c.compute.fp32) * n,
                 float(c.hbm.bandwidth) * n, float(c.hbm.capacity) * n, "HBM")


# Keys a GPU system adds to its `interconnect` section (archsim.family.Family.interconnect): the NVLink domain
# and the scale-out network beyond it (the collective algorithms of mapper/collectives read them).
GPU_INTERCONNECT = {
    "group_size": Field("int", "GPUs per NVLink domain (a node), at least 2; default: all", required=False,
                        minimum=2),
    "switch_reduction": Field("bool", "the switch adds the chips' data in the network (NVLink SHARP, NVSwitch 3 "
                              "and later)", required=False, default=False),
    "scale_out_bandwidth": Field("bandwidth", "per chip, per direction, to chips of other groups (its NIC)",
                                 required=False),
    "scale_out_latency": Field("time", "one step between groups over the scale-out network", required=False),
}
