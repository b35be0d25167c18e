"""The roofline view of a system: peak compute, memory bandwidth and capacity.

One function per chip kind turns a validated spec into the few numbers an
analytic bound needs. Peaks are the hardware's; achievable fractions are the
mappers' business (and are named there).
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import ArchsimInputError
from archsim.hw.load import System
from archsim.registry import Registry


@dataclass(frozen=True)
class Peaks:
    """Per system (all chips together)."""

    matrix_flops: float  # FLOP/s of the matrix units at the requested dtype
    vector_flops: float  # FLOP/s for elementwise/normalization work
    memory_bw: float  # bytes/s from where the weights live (HBM or SRAM)
    memory_capacity: float  # bytes where weights and KV cache live
    memory_name: str  # "HBM" or "SRAM"

    @property
    def ridge_point(self) -> float:
        """FLOPs per byte at which an operator turns from memory- to compute-bound."""
        return self.matrix_flops / self.memory_bw


PEAKS: Registry = Registry("chip kind")


def _gpu_matrix_flops(chip, dtype: str) -> float:
    table = {"fp16": chip.compute.fp16, "bf16": chip.compute.bf16, "fp8": chip.compute.fp8,
             "int8": chip.compute.int8, "fp32": chip.compute.fp32}
    value = table.get(dtype)
    if value is None:
        raise ArchsimInputError(f"{chip.name} has no {dtype} tensor-core rate in its spec")
    return float(value)


@PEAKS.register("gpu")
def _gpu_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    return Peaks(_gpu_matrix_flops(c, dtype) * n, float(c.compute.fp32) * n,
                 float(c.hbm.bandwidth) * n, float(c.hbm.capacity) * n, "HBM")


@PEAKS.register("tsp")
def _tsp_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    matrix = c.mxm.int8 if dtype in ("int8", "fp8", "int4", "fp4") else c.mxm.fp16
    # The vector unit: one operation per ALU per cycle [G3: 5,120 ALUs].
    vector = c.vxm.alus * c.clock
    return Peaks(float(matrix) * n, float(vector) * n, float(c.sram.bandwidth) * n,
                 float(c.sram.capacity) * n, "SRAM")


@PEAKS.register("mesh")
def _mesh_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    cores = c.grid.width * c.grid.height
    # fp16 FMAC lanes; 2 FLOPs per FMAC. Other dtypes run at the fp16 rate (stated assumption).
    flops = 2.0 * c.core.fp16_fmac * c.clock * cores
    return Peaks(flops * n, flops * n, c.core.sram_read * c.clock * cores * n,
                 float(c.core.sram) * cores * n, "SRAM")


def system_peaks(system: System, dtype: str) -> Peaks:
    return PEAKS.get(system.kind)(system, dtype)
