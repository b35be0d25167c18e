"""One TPU chip as the mapper sees it: rates per cycle, and the MXU timing from archsim's shared
systolic-array model (archsim/models/systolic.py, no family's code)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.models.systolic import mxm_cycles

from .schema import NARROW_DTYPES


@dataclass(frozen=True)
class TpuChip:
    clock_hz: float
    rows: int
    cols: int
    mxus: int
    bf16_flops: float
    int8_flops: float
    install_cycles: int
    double_buffered: bool
    alus: int
    hbm_bytes_per_cycle: float
    hbm_latency_cycles: int
    hbm_capacity: float

    @classmethod
    def from_system(cls, system) -> "TpuChip":
        c = system.chip
        clock = float(c.clock)
        return cls(clock, c.mxu.rows, c.mxu.cols, c.mxu.count, float(c.mxu.bf16), float(c.mxu.int8),
                   c.mxu.install_cycles, bool(c.mxu.double_buffered), c.vpu.alus, c.hbm.bandwidth / clock,
                   math.ceil(float(c.hbm.latency) * clock), float(c.hbm.capacity))

    def cycles(self, seconds: float) -> int:
        return math.ceil(seconds * self.clock_hz)

    def planes(self, dtype: str) -> int:
        """Independent weight tiles in flight: the MXUs, times the MACs per cell per cycle that the
        chip's peak at this dtype implies (int8 at twice the bf16 peak: two per cell)."""
        peak = self.int8_flops if dtype in NARROW_DTYPES else self.bf16_flops
        per_cycle = self.rows * self.cols * 2 * self.clock_hz  # one MXU, one MAC per cell per cycle
        return max(1, round(peak / per_cycle))

    def matmul_cycles(self, dtype: str, m: int, n: int, k: int, count: int = 1) -> int:
        """MXU cycles of `count` GEMMs C[m x n] = A[m x k] B[k x n], B stationary in `dtype`."""
        return mxm_cycles(self.rows, self.cols, self.planes(dtype), max(1, m), max(1, n), max(1, k),
                          self.install_cycles, self.double_buffered, max(1, count))
