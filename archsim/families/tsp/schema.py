"""The `tsp` chip kind (Groq-style tensor streaming processor): schema and roofline peaks."""
from __future__ import annotations

from typing import TYPE_CHECKING

from archsim.hw.peaks import Peaks
from archsim.hw.schema import POWER, PRICE, energy_per_byte, energy_per_op, header
from archsim.spec import Field

if TYPE_CHECKING:
    from archsim.hw.load import System

TSP = {
    **header("tsp"),
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
        "install_bandwidth": Field("bytes_per_cycle", "weights streamed into the matrix planes per cycle, "
                                   "all planes together (sets the weight-install time of a plane)", positive=True),
        "double_buffered": Field("bool", "a plane installs its next weights while it computes with the current "
                                 "ones (false: install, then stream, fold after fold, as SCALE-Sim models)"),
    },
    "vxm": {
        "alus": Field("int", "vector ALUs; one operation per ALU per cycle", positive=True),
        "latency": Field("int", "cycles a vector operation takes end to end (MEM to the VXM and back)",
                         minimum=0),
    },
    "sxm": {
        "bandwidth": Field("bytes_per_cycle", "switch unit: bytes permuted/shifted per cycle (RoPE rotation)",
                           positive=True),
    },
    "c2c": {
        "links": Field("int", "chip-to-chip links per chip", positive=True),
        "bandwidth": Field("bandwidth", "per link, per direction", positive=True),
    },
    "power": POWER,
    # Dynamic energy per unit of activity (archsim/families/tsp/energy.py, docs/economics.md); optional.
    "energy": {
        "flop": {
            "fp16": energy_per_op("matrix-unit FP16 FLOP, weight and activation streaming included"),
            "int8": energy_per_op("matrix-unit INT8 operation (also used for fp8/int4 weights)"),
        },
        "vector": energy_per_op("one vector-unit (VXM) operation"),
        "sram": energy_per_byte("one byte read or written in the MEM slices and streamed to a unit"),
        "c2c": energy_per_byte("one byte sent over a chip-to-chip link (SerDes and cable, both ends)"),
    },
    "price": PRICE,
}

# Keys a tsp system adds to its `interconnect` section (archsim.family.Family.interconnect).
TSP_INTERCONNECT = {
    "group_size": Field("int", "chips per all-to-all group (dragonfly); default: all", required=False),
}



# Weight dtypes that run on the MXM's 8-bit path (narrower ones are widened to 8 bits).
NARROW_DTYPES = ("int8", "fp8", "int4", "fp4", "mxfp4", "fp6")


def tsp_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    matrix = c.mxm.int8 if dtype in NARROW_DTYPES else c.mxm.fp16
    # The vector unit: one operation per ALU per cycle [G3: 5,120 ALUs].
    vector = c.vxm.alus * c.clock
    return Peaks(float(matrix) * n, float(vector) * n, float(c.sram.bandwidth) * n,
                 float(c.sram.capacity) * n, "SRAM")
