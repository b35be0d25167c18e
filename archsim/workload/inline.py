"""Single-operator workloads for kernel studies: `gemm:MxNxK`, `gemv:NxK`, `stream:BYTES` (one elementwise
kernel that reads and writes BYTES in total, half each way), `allreduce:BYTES` (one all-reduce of BYTES over
the system's GPUs, as nccl-tests times it) and `alltoall:BYTES` (one all-to-all, BYTES sent per GPU, 1/n of
them to each GPU, as nccl-tests' alltoall_perf). BYTES takes nccl-tests' suffixes K, M, G (powers of 1024)."""
from __future__ import annotations

import re

from archsim.errors import ArchsimInputError
from archsim.limits import MAX_GEMM_DIM
from archsim.workload.model import DTYPE_BYTES
from archsim.workload.ops import Op, OpGraph

_GEMM = re.compile(r"gemm:(\d+)x(\d+)x(\d+)$")
_GEMV = re.compile(r"gemv:(\d+)x(\d+)$")
_SIZED = re.compile(r"(stream|allreduce|alltoall):(\d+)([KMG]?)$", re.IGNORECASE)
_SUFFIX = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def is_inline(name: str) -> bool:
    return name.startswith(("gemm:", "gemv:", "stream:", "allreduce:", "alltoall:"))


def _sized_graph(kind: str, size: int) -> OpGraph:
    if kind == "stream":  # read size/2, write size/2: a scale kernel A = c * B
        op = Op("stream", 0, "elementwise", flops=size / 4, act_read_bytes=size / 2, act_write_bytes=size / 2)
    else:  # one all-reduce or all-to-all: each GPU reads and writes its buffer once
        op = Op(kind, 0, "collective", flops=0.0, act_read_bytes=size, act_write_bytes=size,
                attrs={"bytes": float(size), "collective": kind})
    return OpGraph(f"{kind}:{size}", (op,), layers=1, tokens=1, phase=kind, batch=1)


def inline_graph(name: str, dtype: str) -> OpGraph:
    """C[M x N] = A[M x K] B[K x N]; B plays the weight (read once), A and C activations."""
    if dtype not in DTYPE_BYTES:
        raise ArchsimInputError(f"--dtype must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    if name.startswith(("stream:", "allreduce:", "alltoall:")):
        sized = _SIZED.match(name)
        if not sized or int(sized.group(2)) < 1:
            raise ArchsimInputError(f"inline workload {name!r} must look like {name.split(':')[0]}:BYTES "
                                    "(a positive integer, optionally with K, M or G: allreduce:8G, alltoall:64M)")
        return _sized_graph(sized.group(1).lower(), int(sized.group(2)) * _SUFFIX[sized.group(3).upper()])
    if m := _GEMM.match(name):
        M, N, K = (int(g) for g in m.groups())
    elif m := _GEMV.match(name):
        N, K = (int(g) for g in m.groups())
        M = 1
    else:
        raise ArchsimInputError(f"inline workload {name!r} must look like gemm:MxNxK, gemv:NxK, stream:BYTES "
                                "allreduce:BYTES or alltoall:BYTES")
    if min(M, N, K) < 1:
        raise ArchsimInputError(f"{name}: every dimension must be at least 1")
    if max(M, N, K) > MAX_GEMM_DIM:
        raise ArchsimInputError(f"{name}: every dimension must be at most {MAX_GEMM_DIM:,} (archsim's limit)")
    b = DTYPE_BYTES[dtype]
    op = Op(name, 0, "gemm", flops=2.0 * M * N * K, weight_bytes=K * N * b,
            act_read_bytes=M * K * b, act_write_bytes=M * N * b, m=M, n=N, k=K)
    return OpGraph(name, (op,), layers=1, tokens=M, phase="gemm", batch=1)


def reject_collective(graph: OpGraph, mapper: str) -> None:
    """Mappers that do not model a single collective say so (allreduce:BYTES is NCCL on GPU systems)."""
    if any(op.kind == "collective" for op in graph.ops):
        raise ArchsimInputError(f"mapper {mapper!r} does not run {graph.workload}: the allreduce:BYTES workload "
                                "models NCCL and custom all-reduce on multi-GPU systems (e.g. dgx-h100)")


def require_uniform_layers(graph: OpGraph, mapper: str) -> None:
    """Mappers that simulate one decoder layer for all say so for models whose layers differ (dense layers
    before the MoE ones, multi-head latent attention): the GPU family models those."""
    model = graph.model
    if model is not None and not model.uniform_layers:
        what = ("multi-head latent attention" if model.is_mla
                else f"{model.dense_layers} dense layers before its MoE layers")
        raise ArchsimInputError(f"mapper {mapper!r} does not model {model.name}: it simulates one decoder layer for "
                                f"all, and {model.name} has {what}; run it on a GPU system (e.g. dgx-b200x2)")
