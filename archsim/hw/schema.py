"""Schemas of chip and system files, one per chip kind (`kind:` in the YAML).

Every value is a unit string parsed once (archsim.units). Each bundled file
cites the source of each number in a comment next to it.
"""
from __future__ import annotations

from archsim.registry import Registry
from archsim.spec import Field

SUPPORTED_VERSIONS = (1,)

CHIP_KINDS: Registry[dict] = Registry("chip kind")


def _header(kind: str) -> dict:
    return {
        "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
        "kind": Field("choice", "chip family", choices=(kind,)),
        "name": Field("str", "short name used on the command line"),
        "description": Field("str", "one line for `archsim list`"),
    }


POWER = {
    "tdp": Field("power", "thermal design power of one chip (or one system for a wafer)", positive=True),
    "idle": Field("power", "power drawn when idle; defaults to none (unknown)", required=False),
}

GPU = {
    **_header("gpu"),
    "clock": Field("frequency", "SM clock at which the tensor-core peak is quoted", positive=True),
    "sm": {
        "count": Field("int", "streaming multiprocessors", positive=True),
        "shared_memory": Field("bytes", "shared memory (configurable L1) per SM", positive=True),
        "registers": Field("bytes", "register file per SM", positive=True),
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
}

TSP = {
    **_header("tsp"),
    "clock": Field("frequency", "core clock", positive=True),
    "sram": {
        "capacity": Field("bytes", "on-chip SRAM (MEM slices), the only memory", positive=True),
        "bandwidth": Field("bandwidth", "aggregate SRAM bandwidth", positive=True),
    },
    "mxm": {
        "rows": Field("int", "rows of one weight-stationary matrix plane", positive=True),
        "cols": Field("int", "columns of one matrix plane", positive=True),
        "planes": Field("int", "independent matrix planes", positive=True),
        "fp16": Field("flops", "dense FP16 peak of the matrix unit", positive=True),
        "int8": Field("flops", "INT8 peak of the matrix unit", positive=True),
    },
    "vxm": {
        "alus": Field("int", "vector ALUs", positive=True),
    },
    "c2c": {
        "links": Field("int", "chip-to-chip links per chip", positive=True),
        "bandwidth": Field("bandwidth", "per link, per direction", positive=True),
    },
    "power": POWER,
}

MESH = {
    **_header("mesh"),
    "clock": Field("frequency", "core and fabric clock", positive=True),
    "grid": {
        "width": Field("int", "cores along x usable by programs", positive=True),
        "height": Field("int", "cores along y usable by programs", positive=True),
    },
    "core": {
        "sram": Field("bytes", "SRAM per core", positive=True),
        "sram_read": Field("bytes_per_cycle", "SRAM read bandwidth per core", positive=True),
        "sram_write": Field("bytes_per_cycle", "SRAM write bandwidth per core", positive=True),
        "fp16_fmac": Field("int", "FP16 fused multiply-accumulates per cycle per core (SIMD width)",
                           positive=True),
    },
    "router": {
        "link_width": Field("bytes_per_cycle", "bytes per link per direction per cycle", positive=True),
        "hop_latency": Field("int", "cycles for a wavelet to cross one router and link", positive=True),
        "colors": Field("int", "routable colors (virtual channels) per router", positive=True),
    },
    "io": {
        "bandwidth": Field("bandwidth", "system I/O off the wafer, per direction", positive=True),
    },
    "power": POWER,
}

SYSTEM = {
    "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
    "kind": Field("choice", "a system of several chips", choices=("system",)),
    "name": Field("str", "short name used on the command line"),
    "description": Field("str", "one line for `archsim list`"),
    "chip": Field("str", "name or path of the member chip file"),
    "count": Field("int", "number of chips", positive=True),
    "interconnect": {
        "topology": Field("choice", "how the chips are connected",
                          choices=("switch", "all-to-all", "dragonfly", "chain")),
        "link_bandwidth": Field("bandwidth", "per chip port, per direction", positive=True),
        "links_per_chip": Field("int", "ports per chip used by this topology", positive=True),
        "hop_latency": Field("time", "latency of one chip-to-chip hop", positive=True),
        "group_size": Field("int", "chips per all-to-all group (dragonfly); default: all", required=False),
    },
}

CHIP_KINDS.add("gpu", GPU)
CHIP_KINDS.add("tsp", TSP)
CHIP_KINDS.add("mesh", MESH)
