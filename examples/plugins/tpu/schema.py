"""The `tpu` chip kind: its chip-file schema, the torus keys of its systems, and its roofline peaks."""
from __future__ import annotations

from archsim.hw.peaks import Peaks
from archsim.hw.schema import POWER, PRICE, energy_per_byte, energy_per_op, header
from archsim.spec import Field

TPU = {
    **header("tpu"),
    "clock": Field("frequency", "TensorCore clock", positive=True),
    "mxu": {
        "count": Field("int", "matrix units (MXUs) per chip", positive=True),
        "rows": Field("int", "rows of one MXU's systolic array (weights held stationary)", positive=True),
        "cols": Field("int", "columns of one MXU's systolic array", positive=True),
        "bf16": Field("flops", "dense bf16 peak of the chip's MXUs together", positive=True),
        "int8": Field("flops", "int8 peak of the chip's MXUs together (int8 weights run here)", positive=True),
        "install_cycles": Field("int", "cycles to shift one weight tile into an MXU", positive=True),
        "double_buffered": Field("bool", "an MXU shifts in its next weight tile while it computes with the "
                                 "current one"),
    },
    "vpu": {
        "alus": Field("int", "vector ALUs; one operation per ALU per cycle", positive=True),
    },
    "hbm": {
        "capacity": Field("bytes", "HBM per chip", positive=True),
        "bandwidth": Field("bandwidth", "HBM bandwidth per chip", positive=True),
        "latency": Field("time", "latency of an HBM access", positive=True),
    },
    "power": POWER,
    # Dynamic energy per unit of activity (energy.py); optional: without it a run reports no energy.
    "energy": {
        "flop": {
            "bf16": energy_per_op("MXU bf16 FLOP, operand streaming included"),
            "int8": energy_per_op("MXU int8 operation"),
        },
        "vector": energy_per_op("one vector-unit operation"),
        "hbm": energy_per_byte("one byte read or written in HBM"),
        "link": energy_per_byte("one byte over one ICI link (both ends)"),
    },
    "price": PRICE,
}

# Keys a `tpu` system file adds to its `interconnect` section (archsim.family.Family.interconnect).
TORUS = {
    "shape": Field("list_int", "chips along each dimension of the torus-2d (X, Y); their product is the count"),
}

# Weight dtypes that run in the MXUs' int8 mode (narrower ones are widened to 8 bits).
NARROW_DTYPES = ("int8", "fp8", "int4", "fp4")


def tpu_peaks(system, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    matrix = c.mxu.int8 if dtype in NARROW_DTYPES else c.mxu.bf16
    vector = c.vpu.alus * c.clock
    return Peaks(float(matrix) * n, float(vector) * n, float(c.hbm.bandwidth) * n, float(c.hbm.capacity) * n,
                 "HBM")
