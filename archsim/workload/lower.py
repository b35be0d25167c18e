"""Lower a transformer + scenario to an operator graph with FLOPs and bytes.

Conventions (each is a modelling choice, stated here once):
- Every operator is unfused: it reads its inputs from memory and writes its
  outputs back. Mappers may fuse (FlashAttention on GPUs) and say so.
- Decode processes one new token per sequence; its attention reads the
  `context_len` cached K/V rows and writes one new row. Prefill processes
  `prompt_len` tokens per sequence with causal attention (query i sees keys
  1..i), so score FLOPs count P(P+1)/2 pairs, and fills the KV cache.
- The LM head is applied to the last position of each sequence only (what
  inference servers do): m = batch in both phases.
- MoE: each token goes to `top_k` experts; with uniform routing the expected
  number of distinct experts a step touches is E(1 - (1 - k/E)^T). Their
  weights are read once; the tokens are spread evenly over them.
- Elementwise FLOP counts per element are nominal (listed below) and only
  matter for the compute bound of memory-bound operators.
"""
from __future__ import annotations

import math

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


def kv_cache_bytes(model: Transformer, scenario: Scenario, length: int | None = None) -> float:
    """Bytes of K and V for `length` tokens (default: the scenario's) over the batch."""
    if length is None:
        length = scenario.prompt_len if scenario.phase == "prefill" else scenario.context_len + 1
    per_token = 2 * model.layers * model.kv_heads * model.head_dim * DTYPE_BYTES[scenario.kv_dtype]
    return per_token * length * scenario.batch


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

    q = 1 if scenario.phase == "decode" else scenario.prompt_len
    if scenario.phase == "decode":
        pairs = q * (scenario.context_len + 1)  # query-key pairs per sequence and head
        cached = scenario.context_len  # K/V rows read from the cache
    else:
        pairs = q * (q + 1) // 2
        cached = 0
    qkv_out = (model.heads + 2 * model.kv_heads) * hd
    kv_row = model.kv_heads * hd  # elements of K (or V) per token
    for L in range(model.layers):
        p = f"L{L}."
        norm(p + "attn_norm", L)
        gemm(p + "qkv", L, T, qkv_out, H, bias=model.bias)
        if not model.learned_positions:
            elementwise(p + "rope", L, "rope", T * (model.heads + model.kv_heads) * hd,
                        ROPE_FLOPS_PER_ELEMENT)
        scores = B * model.heads * pairs
        attn = dict(batch=B, q_len=q, kv_len=(cached + 1 if scenario.phase == "decode" else q),
                    heads=model.heads, kv_heads=model.kv_heads, head_dim=hd, causal=scenario.phase == "prefill")
        ops.append(Op(p + "attn_score", L, "attn_score", flops=2.0 * scores * hd,
                      kv_read_bytes=B * cached * kv_row * c, kv_write_bytes=2 * T * kv_row * c,
                      act_read_bytes=T * (model.heads * hd + kv_row) * a,
                      act_write_bytes=scores * a, m=q, n=attn["kv_len"], k=hd, count=B * model.heads,
                      attrs=attn))
        elementwise(p + "softmax", L, "softmax", scores, SOFTMAX_FLOPS_PER_ELEMENT)
        ops.append(Op(p + "attn_context", L, "attn_context", flops=2.0 * scores * hd,
                      kv_read_bytes=B * cached * kv_row * c,
                      act_read_bytes=(scores + T * kv_row) * a, act_write_bytes=T * model.heads * hd * a,
                      m=q, n=hd, k=attn["kv_len"], count=B * model.heads, attrs=attn))
        gemm(p + "o_proj", L, T, H, model.heads * hd, bias=model.bias)
        elementwise(p + "attn_residual", L, "elementwise", T * H, 1, reads=2)
        norm(p + "ffn_norm", L)
        _ffn(model, L, T, gemm, elementwise, ops, w, a)
        elementwise(p + "ffn_residual", L, "elementwise", T * H, 1, reads=2)
    norm("final_norm", model.layers)
    gemm("lm_head", model.layers, B, model.vocab, H)
    return OpGraph(model.name, tuple(ops), model.layers, T, scenario.phase, B, model=model)


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
