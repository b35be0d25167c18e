"""Lower a transformer + scenario to an operator graph with FLOPs and bytes.

Conventions (each is a modelling choice, stated here once):
- Every operator is unfused: it reads its inputs from memory and writes its
  outputs back. Mappers may fuse (FlashAttention on GPUs) and say so.
- Decode processes one new token per sequence; its attention reads the
  `context_len` cached K/V rows and writes one new row. Prefill processes
  `prompt_len` tokens per sequence with causal attention (query i sees keys
  1..i), so score FLOPs count P(P+1)/2 pairs, and fills the KV cache; after a
  cached prefix of X tokens (a later chunk, a cached prompt prefix) each query
  also sees the X cached keys: P X + P(P+1)/2 pairs, X rows read.
- A mixed step (a serving iteration) runs its linear layers, norms and
  elementwise work once over all its tokens (the chunk's and one per decoding
  sequence) and its attention as two groups: the prefill chunk's
  (`L.attn_score` ...) and the decode sequences' (`L.dec_attn_score` ...),
  as serving stacks launch them (FlashAttention varlen for the chunk,
  split-KV decode attention for the rest).
- The LM head is applied to the last position of each sequence only (what
  inference servers do): m = batch in prefill and decode; in a mixed step,
  one per decoding sequence plus one per chunk.
- A speculative verify step (`decode_q` = k + 1 > 1) is a decode group of
  q = k + 1 queries per sequence after its cached context, causal among
  them (the attention kernels of a decode: split-KV over the cache, the
  group marked `decode` in its attrs), with the LM head at every one of its
  positions (each drafted token is checked against the target's logits).
- MoE: each token goes to `top_k` experts; with uniform routing the expected
  number of distinct experts a step touches is E(1 - (1 - k/E)^T). Their
  weights are read once; the tokens are spread evenly over them.
- Elementwise FLOP counts per element are nominal (listed below) and only
  matter for the compute bound of memory-bound operators.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.workload.model import DTYPE_BYTES, Scenario, Transformer
from archsim.workload.ops import Op, OpGraph

NORM_FLOPS_PER_ELEMENT = {"rmsnorm": 4, "layernorm": 7}  # square/sum/scale/mul (+ mean, shift for LN)
SOFTMAX_FLOPS_PER_ELEMENT = 5  # max, subtract, exp, sum, divide
ROPE_FLOPS_PER_ELEMENT = 3  # x*cos - y*sin
ACT_FLOPS_PER_ELEMENT = {"swiglu": 5, "gelu": 8}  # silu(x)*y; tanh-approximated GELU


def parameter_count(model: Transformer) -> int:
    """Parameters of the model (weights, biases, norm scales), for checks and capacity."""
    H, hd = model.hidden, model.head_dim
    qkv_out = (model.heads + 2 * model.kv_heads) * hd
    attn = H * qkv_out + model.heads * hd * H
    if model.bias:
        attn += qkv_out + H
    mats = 3 if model.activation == "swiglu" else 2
    expert = mats * H * model.ffn
    if model.bias:
        expert += (2 if model.activation == "swiglu" else 1) * model.ffn + H
    ffn = model.experts * expert + (H * model.experts if model.is_moe else 0)
    norm = H * (2 if model.norm == "layernorm" else 1)
    per_layer = attn + ffn + 2 * norm
    total = model.layers * per_layer + norm  # + final norm
    total += model.vocab * H  # token embedding
    if model.learned_positions:
        total += model.max_context * H
    if not model.tied_embeddings:
        total += model.vocab * H  # LM head
    return int(total)


def expert_parameter_count(model: Transformer) -> int:
    """Parameters of the routed experts of every layer (what expert parallelism splits), 0 for a dense model."""
    if not model.is_moe:
        return 0
    mats = 3 if model.activation == "swiglu" else 2
    expert = mats * model.hidden * model.ffn
    if model.bias:
        expert += (2 if model.activation == "swiglu" else 1) * model.ffn + model.hidden
    return int(model.layers * model.experts * expert)


def kv_cache_bytes(model: Transformer, scenario: Scenario, length: int | None = None) -> float:
    """Bytes of K and V for `length` tokens per sequence over the batch (default: what the scenario holds
    after its step, every sequence of a mixed step included)."""
    per_token = 2 * model.layers * model.kv_heads * model.head_dim * DTYPE_BYTES[scenario.kv_dtype]
    if length is not None:
        return per_token * length * scenario.batch
    prefill = scenario.prefix_len + scenario.prompt_len
    decode = scenario.context_len + scenario.decode_q
    held = {"prefill": prefill * scenario.batch, "decode": decode * scenario.batch,
            "mixed": prefill * scenario.prefill_batch + decode * scenario.batch}[scenario.phase]
    return per_token * held


def lower(model: Transformer, scenario: Scenario) -> OpGraph:
    scenario.check(model)
    w, a, c = (DTYPE_BYTES[scenario.weight_dtype], DTYPE_BYTES[scenario.act_dtype],
               DTYPE_BYTES[scenario.kv_dtype])
    B, H, hd = scenario.batch, model.hidden, model.head_dim
    T = scenario.tokens
    ops: list[Op] = []

    def gemm(name, layer, m, n, k, count=1, weights=True, bias=False, **attrs):
        wb = (k * n * count + (n * count if bias else 0)) * w if weights else 0.0
        ops.append(Op(name, layer, "gemm", flops=2.0 * m * n * k * count + (m * n * count if bias else 0),
                      weight_bytes=wb, act_read_bytes=m * k * count * a,
                      act_write_bytes=m * n * count * a, m=m, n=n, k=k, count=count, attrs=attrs))

    def elementwise(name, layer, kind, elements, flops_per, reads=1, weights=0.0):
        ops.append(Op(name, layer, kind, flops=float(flops_per * elements), weight_bytes=weights,
                      act_read_bytes=reads * elements * a, act_write_bytes=elements * a))

    def norm(name, layer):
        scale = H * (2 if model.norm == "layernorm" else 1) * w
        elementwise(name, layer, "norm", T * H, NORM_FLOPS_PER_ELEMENT[model.norm], weights=scale)

    # Embedding: gather one row per token (and a position row for GPT-3).
    rows = 2 if model.learned_positions else 1
    ops.append(Op("embed", -1, "embedding", flops=float(T * H * (rows - 1)),
                  weight_bytes=rows * T * H * w, act_write_bytes=T * H * a))

    qkv_out = (model.heads + 2 * model.kv_heads) * hd
    groups = attention_groups(scenario)
    for L in range(model.layers):
        p = f"L{L}."
        norm(p + "attn_norm", L)
        gemm(p + "qkv", L, T, qkv_out, H, bias=model.bias)
        if not model.learned_positions:
            elementwise(p + "rope", L, "rope", T * (model.heads + model.kv_heads) * hd,
                        ROPE_FLOPS_PER_ELEMENT)
        for group in groups:
            _attention(ops, model, L, group, a, c)
        gemm(p + "o_proj", L, T, H, model.heads * hd, bias=model.bias)
        elementwise(p + "attn_residual", L, "elementwise", T * H, 1, reads=2)
        norm(p + "ffn_norm", L)
        _ffn(model, L, T, gemm, elementwise, ops, w, a)
        elementwise(p + "ffn_residual", L, "elementwise", T * H, 1, reads=2)
    norm("final_norm", model.layers)
    sequences = B + scenario.prefill_batch if scenario.phase == "mixed" else B  # each sequence's last position
    logits = sequences + (B * (scenario.decode_q - 1) if scenario.phase != "prefill" else 0)  # + verified drafts
    gemm("lm_head", model.layers, logits, model.vocab, H)
    return OpGraph(model.name, tuple(ops), model.layers, T, scenario.phase, sequences, model=model)


@dataclass(frozen=True)
class AttentionGroup:
    """Sequences whose attention runs as one kernel: `batch` of them, `q` new tokens each, after `cached`
    tokens in the KV cache; a prefill group is causal among its new tokens, and so is a decode group of
    q > 1 (a speculative verify step); `decode` marks the decode groups."""

    prefix: str  # op-name prefix: "" (L0.attn_score) or "dec_" (L0.dec_attn_score, a mixed step's decodes)
    batch: int
    q: int
    cached: int
    causal: bool
    decode: bool = False

    @property
    def kv_len(self) -> int:
        return self.cached + self.q

    @property
    def pairs(self) -> int:
        """Query-key pairs per sequence and head."""
        return self.q * self.cached + self.q * (self.q + 1) // 2 if self.causal else self.cached + 1


def attention_groups(scenario: Scenario) -> list[AttentionGroup]:
    s = scenario
    decode = AttentionGroup("dec_" if s.phase == "mixed" else "", s.batch, s.decode_q, s.context_len, s.decode_q > 1,
                            True)
    prefill = AttentionGroup("", s.prefill_batch if s.phase == "mixed" else s.batch, s.prompt_len, s.prefix_len, True)
    return {"decode": [decode], "prefill": [prefill], "mixed": [prefill, decode]}[s.phase]


def _attention(ops: list, model: Transformer, L: int, g: AttentionGroup, a: float, c: float) -> None:
    """Scores, softmax and context of one attention group of layer L."""
    hd, kv_row = model.head_dim, model.kv_heads * model.head_dim  # elements of K (or V) per token
    p = f"L{L}.{g.prefix}"
    tokens = g.batch * g.q
    scores = g.batch * model.heads * g.pairs
    attn = dict(batch=g.batch, q_len=g.q, kv_len=g.kv_len, heads=model.heads, kv_heads=model.kv_heads,
                head_dim=hd, causal=g.causal, cached=g.cached)
    if g.decode and g.q > 1:
        attn["decode"] = True  # a verify step: a decode kernel with q queries per sequence
    ops.append(Op(p + "attn_score", L, "attn_score", flops=2.0 * scores * hd,
                  kv_read_bytes=g.batch * g.cached * kv_row * c, kv_write_bytes=2 * tokens * kv_row * c,
                  act_read_bytes=tokens * (model.heads * hd + kv_row) * a,
                  act_write_bytes=scores * a, m=g.q, n=g.kv_len, k=hd, count=g.batch * model.heads, attrs=attn))
    ops.append(Op(p + "softmax", L, "softmax", flops=float(SOFTMAX_FLOPS_PER_ELEMENT * scores),
                  act_read_bytes=scores * a, act_write_bytes=scores * a))
    ops.append(Op(p + "attn_context", L, "attn_context", flops=2.0 * scores * hd,
                  kv_read_bytes=g.batch * g.cached * kv_row * c,
                  act_read_bytes=(scores + tokens * kv_row) * a, act_write_bytes=tokens * model.heads * hd * a,
                  m=g.q, n=hd, k=g.kv_len, count=g.batch * model.heads, attrs=attn))


def _ffn(model: Transformer, L: int, T: int, gemm, elementwise, ops: list, w: float, a: float) -> None:
    p, H, F = f"L{L}.", model.hidden, model.ffn
    up_n = 2 * F if model.activation == "swiglu" else F
    act_reads = 2 if model.activation == "swiglu" else 1
    if not model.is_moe:
        gemm(p + "ffn_up", L, T, up_n, H, bias=model.bias)
        elementwise(p + "ffn_act", L, "elementwise", T * F, ACT_FLOPS_PER_ELEMENT[model.activation],
                    reads=act_reads)
        gemm(p + "ffn_down", L, T, H, F, bias=model.bias)
        return
    E, k = model.experts, model.top_k
    touched = expected_experts_touched(E, k, T)
    routed = T * k  # token-expert pairs
    gemm(p + "router", L, T, E, H)
    # Each touched expert processes about routed/touched tokens; FLOPs and
    # activation bytes follow the routed pairs exactly, weights the touched experts.
    per_expert = max(1, math.ceil(routed / touched))
    for name, n, kk in (("experts_up", up_n, H), ("experts_down", H, F)):
        ops.append(Op(p + name, L, "gemm", flops=2.0 * routed * n * kk, weight_bytes=touched * kk * n * w,
                      act_read_bytes=routed * kk * a, act_write_bytes=routed * n * a,
                      m=per_expert, n=n, k=kk, count=touched,
                      attrs=dict(moe=True, routed_tokens=routed, experts_touched=touched)))
        if name == "experts_up":
            elementwise(p + "experts_act", L, "elementwise", routed * F,
                        ACT_FLOPS_PER_ELEMENT[model.activation], reads=act_reads)


def expected_experts_touched(experts: int, top_k: int, tokens: int) -> int:
    """Expected distinct experts hit by `tokens` tokens under uniform top-k routing (rounded up)."""
    expected = experts * (1.0 - (1.0 - top_k / experts) ** tokens)
    return min(experts, max(top_k, math.ceil(expected - 1e-9)))
