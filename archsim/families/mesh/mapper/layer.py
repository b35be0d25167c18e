"""One region's operators as mesh algorithms, in one of two layouts for the whole layer.

Vector layout (decode, and prefill passes of a few tokens: mesh_lowering.py): the
activation vectors are spread along one axis of the region and copied along the
other. A weight matrix is cut into blocks, K along the axis that holds the input
and N along the other; each core multiplies its block, the partial sums are
reduced along the K axis (K-tree or gather) and the result broadcast back along
it, which leaves it spread along the N axis: the next GEMV reduces along the
other axis (WaferLLM's MeshGEMV). Attention keeps the KV cache spread over the
region: head dimensions along the axis that holds q, cached tokens along the other.

Block layout (prefill): activations are 2D blocks (tokens along y, features along
x) and every GEMM is MeshGEMM (Cannon's algorithm with 2-hop shifts; `gather`
strategy: SUMMA-style broadcasts over whole rows/columns instead). Attention heads
get square sub-regions of their own.

The layout is chosen per layer (one step or piece), never per operator, so no
operator finds its input in the other layout. The LM head sees one position per
sequence and is a GEMV in either.
"""
from __future__ import annotations

import math

from archsim.families.mesh.mapper.costs import MeshEmitter


def _ceil(a: float, b: float) -> int:
    return max(1, math.ceil(a / b - 1e-9))


def _causal_share(a: dict) -> float:
    """The share of a vector-layout score block that is not masked: q_len queries after kv_len - q_len cached
    tokens, each seeing the cache and, causally, the queries before it (1 for decode, q_len = 1)."""
    q, kv = a["q_len"], a["kv_len"]
    return (q * (kv - q) + q * (q + 1) / 2) / (q * kv)


class RegionLowering:
    """Emits operators onto a w x h region; `axis` tracks which axis holds the activation vector."""

    def __init__(self, em: MeshEmitter, w: int, h: int, phase: str, tokens: int, vector: bool | None = None):
        """`vector`: the layout (None: vector for decode, blocks for prefill)."""
        self.em, self.w, self.h = em, w, h
        self.vector = phase != "prefill" if vector is None else vector
        self.tokens = max(1, tokens)
        self.axis = "x"  # the hidden vector starts spread along x (over the w columns)
        self.attn: dict = {}  # geometry of the last attention operator (softmax has none of its own)

    def size(self, axis: str) -> int:
        return self.w if axis == "x" else self.h

    @staticmethod
    def other(axis: str) -> str:
        return "y" if axis == "x" else "x"

    def emit(self, op, deps) -> list[int]:
        """Tasks of operator `op` after `deps`; returns the tasks the next operator waits for."""
        label, kind = op.name, op.kind
        if kind == "gemm":  # the LM head sees only the last position, so it is a GEMV in prefill too
            vector = self.vector or op.short_name == "lm_head"
            return self.gemv(op, label, deps) if vector else self.gemm(op, label, deps)
        if kind in ("attn_score", "attn_context"):
            return self.attention(op, label, deps)
        if kind == "norm":
            return self.norm(op, label, deps)
        if kind == "softmax":
            return self.softmax(op, label, deps)
        return self.elementwise(op, label, deps)

    # -- vector layout: MeshGEMV ---------------------------------------------------

    def gemv(self, op, label: str, deps) -> list[int]:
        em, layer = self.em, op.layer
        kaxis = self.axis
        naxis = self.other(kaxis)
        k_loc = _ceil(op.k, self.size(kaxis))
        n_loc = _ceil(op.n * op.count, self.size(naxis))
        out = em.block_gemm(label, layer, op.m, k_loc, n_loc, deps)
        out = em.allreduce(label, layer, kaxis, self.size(kaxis), op.m * n_loc, out)
        if op.short_name == "router":  # logits for top-k: the activation stream is unchanged
            return em.allreduce(label, layer, naxis, self.size(naxis), 2 * op.m, out)
        self.axis = naxis
        return out

    def attention(self, op, label: str, deps) -> list[int]:
        self.attn = dict(op.attrs)
        if not self.vector:
            return self._attention_blocks(op, label, deps)
        em, a = self.em, op.attrs
        dims_axis = self.axis  # q (and the cached K/V dimensions) spread like the activation vector
        tok_axis = self.other(dims_axis)
        batch, group = a["batch"], a["heads"] // a["kv_heads"]
        tokens = _ceil(a["kv_len"], self.size(tok_axis))
        dims = _ceil(a["kv_heads"] * a["head_dim"], self.size(dims_axis))
        seg = max(1, math.ceil(self.size(dims_axis) / a["kv_heads"]))  # cores along one KV head's dimensions
        rows = batch * group * a["q_len"]
        share = _causal_share(a)
        if op.kind == "attn_score":  # q . K over this core's dims, summed over the head's segment
            out = em.block_gemm(label, op.layer, rows, dims, tokens, deps, share)
            return em.allreduce(label, op.layer, dims_axis, seg, rows * tokens, out)
        out = em.block_gemm(label, op.layer, rows, tokens, dims, deps, share)  # p . V over this core's tokens
        return em.allreduce(label, op.layer, tok_axis, self.size(tok_axis), rows * dims, out)

    def softmax(self, op, label: str, deps) -> list[int]:
        if not self.vector:
            return self._softmax_blocks(op, label, deps)
        em, d, a = self.em, self.em.c.dtype_bytes, self.attn
        if not a:
            return self.elementwise(op, label, deps)
        tok_axis = self.other(self.axis)
        rows = a["batch"] * a["q_len"] * a["heads"] // a["kv_heads"]
        elements = rows * _ceil(a["kv_len"], self.size(tok_axis)) * _causal_share(a)
        per = self._per_element(op)
        out = em.local(label, op.layer, per * elements, per * rows, 2 * d * elements, d * elements, deps)
        return em.allreduce(label, op.layer, tok_axis, self.size(tok_axis), 2 * rows, out)  # max and sum

    def norm(self, op, label: str, deps) -> list[int]:
        em, d = self.em, self.em.c.dtype_bytes
        hidden = op.act_write_bytes / d / self.tokens
        if self.vector:
            axis, rows = self.axis, self.tokens
        else:
            axis, rows = "x", _ceil(self.tokens, self.h)
        elements = rows * _ceil(hidden, self.size(axis))
        out = em.local(label, op.layer, elements, rows, d * elements, 0.0, deps)  # sum of squares
        out = em.allreduce(label, op.layer, axis, self.size(axis), rows, out)
        return em.local(label, op.layer, 2 * elements, 2 * rows, 2 * d * elements, d * elements, out)  # scale

    def elementwise(self, op, label: str, deps) -> list[int]:
        em, d = self.em, self.em.c.dtype_bytes
        total = op.act_write_bytes / d
        if total <= 0:
            return list(deps)
        per = self._per_element(op)
        if self.vector:
            rows, elements = self.tokens, _ceil(total, self.size(self.axis))
        else:
            rows, elements = _ceil(self.tokens, self.h), _ceil(total, self.w * self.h)
        reads = op.act_read_bytes / op.act_write_bytes if op.act_write_bytes else 1.0
        return em.local(label, op.layer, per * elements, per * rows, reads * d * elements, d * elements, deps)

    def _per_element(self, op) -> int:
        """Vector instructions per element: the operator's nominal FLOPs per element written."""
        written = op.act_write_bytes / self.em.c.dtype_bytes
        return max(1, round(op.flops / written)) if written > 0 else 1

    # -- block layout: MeshGEMM --------------------------------------------------

    def gemm(self, op, label: str, deps) -> list[int]:
        steps = max(self.w, self.h)
        m = _ceil(op.m, self.h)
        n = _ceil(op.n * op.count, self.w)
        k = _ceil(op.k, steps)
        return self._cannon(label, op.layer, steps, m, k, n, deps, 1.0)

    def _cannon(self, label, layer, steps, m, k, n, deps, share, side: int = 0) -> list[int]:
        em = self.em
        if em.strategy == "gather":
            return em.summa(label, layer, steps, m, k, n, deps, share, side or self.w, side or self.h)
        return em.cannon(label, layer, steps, m, k, n, deps, share)

    def _sub_regions(self, count: int) -> tuple[int, int]:
        """Side of the square sub-region each attention instance gets, and instances per sub-region."""
        side = max(1, math.isqrt(max(1, (self.w * self.h) // max(1, count))))
        slots = max(1, (self.w // side) * (self.h // side))
        return side, _ceil(count, slots)

    def _attention_blocks(self, op, label: str, deps) -> list[int]:
        side, per_slot = self._sub_regions(op.count)
        m, n, k = _ceil(op.m, side), _ceil(op.n, side), _ceil(op.k, side)
        dense = 2.0 * op.m * op.n * op.k * op.count
        share = per_slot * (op.flops / dense if dense else 1.0)  # causal masking skips blocks
        return self._cannon(label, op.layer, side, m, k, n, deps, share, side)

    def _softmax_blocks(self, op, label: str, deps) -> list[int]:
        em, d, a = self.em, self.em.c.dtype_bytes, self.attn
        if not a:
            return self.elementwise(op, label, deps)
        side, per_slot = self._sub_regions(a["batch"] * a["heads"])
        rows = _ceil(a["q_len"], side) * per_slot
        elements = _ceil(op.act_write_bytes / d, self.w * self.h)  # causal: only the unmasked scores
        per = self._per_element(op)
        out = em.local(label, op.layer, per * elements, per * rows, 2 * d * elements, d * elements, deps)
        return em.allreduce(label, op.layer, "x", side, 2 * rows, out)
