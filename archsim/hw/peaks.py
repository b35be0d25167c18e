"""The roofline view of a system: peak compute, memory bandwidth and capacity.

One function per chip family (archsim/families/<kind>/schema.py) turns a validated spec into the few numbers an
analytic bound needs. Peaks are the hardware's; achievable fractions are the
mappers' business (and are named there).
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.hw.load import System
from archsim.family import get_family


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


def system_peaks(system: System, dtype: str) -> Peaks:
    """The roofline peaks of `system` at `dtype`, from its family's `peaks` function."""
    family = get_family(system.kind)
    return family.resolve(family.peaks)(system, dtype)
