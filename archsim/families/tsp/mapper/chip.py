"""One TSP chip as the mapper sees it: per-unit rates in cycles, from the chip description.

Units (hardware.md 1.2, archsim/families/tsp/configs/groq-lpu.yaml): the matrix unit (MXM,
weight-stationary planes), the vector unit (VXM, one operation per ALU per
cycle), the switch unit (SXM, permutes), and the SRAM (MEM slices), which is
the only memory. The MXM multiplies two 8-bit operands (all `planes` planes)
or two 16-bit floats (the planes combine; the FP16 peak is a quarter of the
INT8 one [G3]); a stationary operand stored narrower than the compute format
is widened by the VXM as it streams in.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.models.systolic import install_cycles, mxm_cycles
from archsim.workload.model import DTYPE_BYTES


@dataclass(frozen=True)
class MatrixMode:
    element_bytes: int  # 1: 8-bit operands, 2: 16-bit floats
    planes: int
    install_cycles: int  # per tile, all planes installing at once
    widened: bool  # the stationary operand is widened on the VXM on its way in

    def describe(self) -> str:
        fmt = "8-bit" if self.element_bytes == 1 else "fp16"
        widen = ", stationary operand widened on the vector unit" if self.widened else ""
        return f"{fmt} mode, {self.planes} plane(s), {self.install_cycles}-cycle install{widen}"


@dataclass(frozen=True)
class TspChip:
    clock_hz: float
    rows: int
    cols: int
    planes: int
    fp16_planes: int
    install_bytes_per_cycle: float
    double_buffered: bool
    alus: int
    vxm_latency: int
    sxm_bytes_per_cycle: float
    sram_bytes_per_cycle: float
    sram_bytes: float

    @classmethod
    def from_system(cls, system) -> "TspChip":
        c = system.chip
        clock = float(c.clock)
        fp16_planes = max(1, round(c.mxm.planes * c.mxm.fp16 / c.mxm.int8))
        return cls(clock, c.mxm.rows, c.mxm.cols, c.mxm.planes, fp16_planes, float(c.mxm.install_bandwidth),
                   bool(c.mxm.double_buffered), c.vxm.alus, c.vxm.latency, float(c.sxm.bandwidth),
                   c.sram.bandwidth / clock, float(c.sram.capacity))

    def matrix_mode(self, stationary_dtype: str, streamed_dtype: str) -> MatrixMode:
        stationary, streamed = DTYPE_BYTES[stationary_dtype], DTYPE_BYTES[streamed_dtype]
        element = 1 if max(stationary, streamed) <= 1 else 2
        planes = self.planes if element == 1 else self.fp16_planes
        widened = stationary < element
        cycles = install_cycles(self.rows, self.cols, planes, element, self.install_bytes_per_cycle,
                                self.alus if widened else None)
        return MatrixMode(element, planes, cycles, widened)

    def matmul_cycles(self, mode: MatrixMode, m: int, n: int, k: int, count: int = 1) -> int:
        return mxm_cycles(self.rows, self.cols, mode.planes, m, n, k, mode.install_cycles, self.double_buffered,
                          count)
