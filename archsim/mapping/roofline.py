"""The analytic roofline bound of every operator on a system.

compute_s = FLOPs / peak (matrix units for matmul-like ops, vector units for
the rest); memory_s = bytes / memory bandwidth (every operator unfused, all
its bytes from the memory that holds the weights); time_s = the larger. No
operator can run faster on that hardware, which makes this the floor that
the simulated fidelities are checked against.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.hw.peaks import Peaks
from archsim.workload.ops import MATRIX_KINDS, Op, OpGraph


@dataclass(frozen=True)
class OpBound:
    op: Op
    compute_s: float
    memory_s: float

    @property
    def time_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


def op_bound(op: Op, peaks: Peaks) -> OpBound:
    rate = peaks.matrix_flops if op.kind in MATRIX_KINDS else peaks.vector_flops
    return OpBound(op, op.flops / rate, op.bytes / peaks.memory_bw)


def roofline(graph: OpGraph, peaks: Peaks) -> list[OpBound]:
    return [op_bound(op, peaks) for op in graph.ops]
