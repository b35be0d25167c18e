"""Pieces of a step for the mesh mapper: a prefill chunk, a decode micro-batch.

Chunked prefill runs a prompt of P tokens as chunks of c tokens: chunk j
(tokens jc .. jc + c - 1) attends to the K/V of the jc tokens before it (kept
in the KV cache by earlier chunks) and causally to itself. Micro-batched
decode runs a batch of B sequences as groups of b. Both are the operator graph
of a smaller step, derived here from the whole step's graph so that the
lowering conventions of archsim/workload/lower.py are not restated:

- every operator but attention is linear in the tokens processed (FLOPs and
  activation bytes); weights are unchanged; GEMM rows m are the tokens (the LM
  head's are the sequences, it sees the last position only);
- attention is linear in query-key pairs: q_len x prefix + q_len (q_len + 1) / 2
  per sequence and head (prefill: causal over the chunk itself; decode is the
  case q_len = 1), and reads the prefix's K/V from the cache;
- MoE: the experts a step touches follow from its token count
  (workload.lower.expected_experts_touched).

tests/test_mesh_chunking.py checks that a chunk at the start of the prompt is
the lowering of a prompt that long, a one-token chunk after p tokens is the
decode step with context p, and a micro-batch is the decode of that batch.
"""
from __future__ import annotations

import math
from dataclasses import replace

from archsim.errors import ArchsimInputError
from archsim.workload.lower import expected_experts_touched
from archsim.workload.ops import OpGraph

ATTENTION = ("attn_score", "softmax", "attn_context")


def count_option(name: str, what: str):
    """The check of a mapper option that is 'auto' or a positive whole number of `what`."""

    def check(text) -> int | None:
        return parse_count(text, name, what)

    return check


def parse_count(text, name: str, what: str, most: int | None = None, of: str = "") -> int | None:
    """'auto' -> None; a whole number from 1 to `most` -> int; anything else is an input error naming the option."""
    raw = str(text).strip().lower()
    if raw == "auto":
        return None
    upper = f" from 1 to {most} ({of})" if most is not None else " (1 or more)"
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < 1 or (most is not None and value > most):
        raise ArchsimInputError(f"mapper 'mesh-dataflow' option {name!r} must be 'auto' or a whole number of "
                                f"{what}{upper}, got {text!r}")
    return value


def largest(lo: int, hi: int, fits) -> int | None:
    """The largest n in [lo, hi] with fits(n), for a `fits` that holds up to some n and not above; None if none."""
    if hi < lo or not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def representative(graph: OpGraph) -> OpGraph:
    """`graph` with only what the mesh mapper simulates: the embedding, decoder layer 0 and the head (every
    decoder layer is the same; `layers` still says how many). Pieces are derived from it, which is much faster
    than scaling every layer's operators."""
    keep = tuple(op for op in graph.ops if op.layer in (-1, 0, graph.layers))
    return OpGraph(graph.workload, keep, graph.layers, graph.tokens, graph.phase, graph.batch,
                   model=graph.model)


def _pairs(q_len: int, prefix: int) -> float:
    """Query-key pairs of one sequence and head: every query sees the prefix and, causally, the queries before it."""
    return q_len * prefix + q_len * (q_len + 1) // 2


def scaled_graph(graph: OpGraph, batch: int, q_len: int, prefix: int, like: OpGraph | None = None) -> OpGraph:
    """`graph`'s step for `batch` sequences of `q_len` new tokens after `prefix` cached ones. `like`: the same
    `graph` scaled for the same batch and q_len at another prefix, whose operators other than attention are
    taken as they are (below, only attention depends on the prefix: the others use f_tok, tokens, the batch
    and the experts; the same objects, so the same numbers)."""
    geometry = next((op.attrs for op in graph.ops if op.kind == "attn_score"), None)
    if geometry is None:
        raise ValueError("scaled_graph needs a transformer step with attention")
    full_batch, full_q = geometry["batch"], geometry["q_len"]
    full_prefix = geometry["kv_len"] - full_q
    tokens = batch * q_len
    f_tok = tokens / graph.tokens
    f_pair = batch * _pairs(q_len, prefix) / (full_batch * _pairs(full_q, full_prefix))
    scores_bytes = next(op.act_write_bytes for op in graph.ops if op.kind == "softmax")
    # K (or V) bytes per token and sequence: the score operator writes the new tokens' K and V
    kv_token = next(op.kv_write_bytes for op in graph.ops if op.kind == "attn_score") / (2 * graph.tokens)
    attn = dict(geometry, batch=batch, q_len=q_len, kv_len=prefix + q_len)
    kv_read = batch * prefix * kv_token
    experts = next((op.n for op in graph.ops if op.short_name == "router"), 1)
    ops = []
    for i, op in enumerate(graph.ops):
        if like is not None and op.kind not in ATTENTION:
            ops.append(like.ops[i])
            continue
        if op.kind == "attn_score":
            new = replace(op, flops=op.flops * f_pair, kv_read_bytes=kv_read, kv_write_bytes=op.kv_write_bytes * f_tok,
                          act_read_bytes=op.act_read_bytes * f_tok, act_write_bytes=op.act_write_bytes * f_pair,
                          m=q_len, n=prefix + q_len, count=op.count // full_batch * batch, attrs=attn)
        elif op.kind == "softmax":
            new = replace(op, flops=op.flops * f_pair, act_read_bytes=op.act_read_bytes * f_pair,
                          act_write_bytes=op.act_write_bytes * f_pair)
        elif op.kind == "attn_context":  # reads the probabilities (pairs) and the new tokens' V (tokens)
            new = replace(op, flops=op.flops * f_pair, kv_read_bytes=kv_read,
                          act_read_bytes=scores_bytes * f_pair + (op.act_read_bytes - scores_bytes) * f_tok,
                          act_write_bytes=op.act_write_bytes * f_tok, m=q_len, k=prefix + q_len,
                          count=op.count // full_batch * batch, attrs=attn)
        elif op.attrs.get("moe"):
            new = _experts(op, tokens, graph.tokens, experts)
        elif op.kind == "gemm" and op.layer >= graph.layers:  # the LM head sees each sequence's last position
            f_seq = batch / full_batch  # (every position of a speculative verify step: m = batch x q_len)
            new = replace(op, flops=op.flops * f_seq, act_read_bytes=op.act_read_bytes * f_seq,
                          act_write_bytes=op.act_write_bytes * f_seq, m=op.m * batch // full_batch)
        else:  # the embedding reads a table row per token; GEMM rows are the tokens
            new = replace(op, flops=op.flops * f_tok, act_read_bytes=op.act_read_bytes * f_tok,
                          act_write_bytes=op.act_write_bytes * f_tok, m=tokens if op.kind == "gemm" else op.m,
                          weight_bytes=op.weight_bytes * (f_tok if op.kind == "embedding" else 1.0))
        ops.append(new)
    return OpGraph(graph.workload, tuple(ops), graph.layers, tokens, graph.phase, batch, model=graph.model)


def _experts(op, tokens: int, full_tokens: int, experts: int):
    """An MoE expert GEMM for `tokens` tokens: the routed pairs scale, the experts touched follow from them."""
    routed = op.attrs["routed_tokens"]
    top_k = routed // full_tokens
    touched = expected_experts_touched(experts, top_k, tokens)
    new_routed = tokens * top_k
    f = new_routed / routed
    per_expert_weights = op.weight_bytes / op.count
    return replace(op, flops=op.flops * f, act_read_bytes=op.act_read_bytes * f, act_write_bytes=op.act_write_bytes * f,
                   weight_bytes=per_expert_weights * touched, m=max(1, math.ceil(new_routed / touched)),
                   count=touched, attrs=dict(op.attrs, routed_tokens=new_routed, experts_touched=touched))
