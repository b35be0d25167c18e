"""Single-operator workloads for kernel studies: `gemm:MxNxK`, `gemv:NxK`."""
from __future__ import annotations

import re

from archsim.errors import ArchsimInputError
from archsim.limits import MAX_GEMM_DIM
from archsim.workload.model import DTYPE_BYTES
from archsim.workload.ops import Op, OpGraph

_GEMM = re.compile(r"gemm:(\d+)x(\d+)x(\d+)$")
_GEMV = re.compile(r"gemv:(\d+)x(\d+)$")


def is_inline(name: str) -> bool:
    return name.startswith(("gemm:", "gemv:"))


def inline_graph(name: str, dtype: str) -> OpGraph:
    """C[M x N] = A[M x K] B[K x N]; B plays the weight (read once), A and C activations."""
    if dtype not in DTYPE_BYTES:
        raise ArchsimInputError(f"--dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    if m := _GEMM.match(name):
        M, N, K = (int(g) for g in m.groups())
    elif m := _GEMV.match(name):
        N, K = (int(g) for g in m.groups())
        M = 1
    else:
        raise ArchsimInputError(f"inline workload {name!r} must look like gemm:MxNxK or gemv:NxK")
    if min(M, N, K) < 1:
        raise ArchsimInputError(f"{name}: every dimension must be at least 1")
    if max(M, N, K) > MAX_GEMM_DIM:
        raise ArchsimInputError(f"{name}: every dimension must be at most {MAX_GEMM_DIM:,} (archsim's limit)")
    b = DTYPE_BYTES[dtype]
    op = Op(name, 0, "gemm", flops=2.0 * M * N * K, weight_bytes=K * N * b,
            act_read_bytes=M * K * b, act_write_bytes=M * N * b, m=M, n=N, k=K)
    return OpGraph(name, (op,), layers=1, tokens=M, phase="gemm", batch=1)
