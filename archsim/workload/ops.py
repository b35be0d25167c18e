"""The operator graph: what a workload asks the chip to do.

Each `Op` knows its FLOPs and the bytes it reads and writes, split by what
they are (weights, KV cache, activations), so every operator has a roofline
bound and mappers can decide where each kind of byte lives.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Operator kinds. "gemm" covers GEMV (m = 1) and batched GEMMs (count > 1).
OP_KINDS = ("embedding", "norm", "gemm", "rope", "attn_score", "softmax", "attn_context",
            "elementwise", "moe_router", "moe_experts", "collective")
# Kinds that run on matrix units (tensor cores, MXM, FMAC arrays); the rest is vector work.
MATRIX_KINDS = frozenset({"gemm", "attn_score", "attn_context"})


@dataclass(frozen=True)
class Op:
    name: str  # "L3.qkv", "embed", "lm_head"
    layer: int  # decoder layer index; -1 before the first layer, `layers` after the last
    kind: str  # one of OP_KINDS
    flops: float
    weight_bytes: float = 0.0
    kv_read_bytes: float = 0.0
    kv_write_bytes: float = 0.0
    act_read_bytes: float = 0.0
    act_write_bytes: float = 0.0
    # GEMM shape: C[m x n] = A[m x k] B[k x n], `count` independent instances
    # (heads of an attention matmul, experts of an MoE layer).
    m: int = 0
    n: int = 0
    k: int = 0
    count: int = 1
    # Attention geometry (attn_* ops): sequences, query/KV lengths, heads.
    attrs: dict = field(default_factory=dict, compare=False)

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[-1]

    @property
    def bytes(self) -> float:
        return (self.weight_bytes + self.kv_read_bytes + self.kv_write_bytes
                + self.act_read_bytes + self.act_write_bytes)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per byte moved (unfused)."""
        return self.flops / self.bytes if self.bytes else float("inf")


@dataclass(frozen=True)
class OpGraph:
    """Operators in execution order; each depends on the one before it.

    A decoder layer's operators are identical across layers for dense and MoE
    models alike, which mappers exploit to simulate one layer and compose.
    """

    workload: str
    ops: tuple[Op, ...]
    layers: int
    tokens: int  # tokens processed in this step over the batch
    phase: str
    batch: int

    def layer_ops(self, layer: int) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.layer == layer)

    @property
    def pre_ops(self) -> tuple[Op, ...]:
        return self.layer_ops(-1)

    @property
    def post_ops(self) -> tuple[Op, ...]:
        return self.layer_ops(self.layers)

    @property
    def total_flops(self) -> float:
        return sum(op.flops for op in self.ops)

    @property
    def total_bytes(self) -> float:
        return sum(op.bytes for op in self.ops)

    @property
    def weight_bytes(self) -> float:
        return sum(op.weight_bytes for op in self.ops)

    @property
    def kv_bytes(self) -> float:
        return sum(op.kv_read_bytes + op.kv_write_bytes for op in self.ops)
