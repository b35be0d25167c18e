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


def _attention_parameters(model: Transformer) -> int:
    H, hd = model.hidden, model.head_dim
    if model.is_mla:  # DeepSeek-V2/V3 MLA: q down/up, the K/V latent (+ shared RoPE key) down, K/V up, out
        q = (H * model.q_lora_rank + model.q_lora_rank * model.heads * hd + model.q_lora_rank
             if model.q_lora_rank else H * model.heads * hd)
        nope = hd - model.qk_rope_head_dim
        kv = (H * (model.kv_lora_rank + model.qk_rope_head_dim) + model.kv_lora_rank
              + model.kv_lora_rank * model.heads * (nope + model.value_dim))
        return q + kv + model.heads * model.value_dim * H
    qkv_out = (model.heads + 2 * model.kv_heads) * hd
    attn = H * qkv_out + model.heads * hd * H
    if model.bias:
        attn += qkv_out + H
    return attn


def _ffn_parameters(model: Transformer, inner: int) -> int:
    mats = 3 if model.activation == "swiglu" else 2
    params = mats * model.hidden * inner
    if model.bias:
        params += (2 if model.activation == "swiglu" else 1) * inner + model.hidden
    return params


def parameter_count(model: Transformer) -> int:
    """Parameters of the model (weights, biases, norm scales), for checks and capacity."""
    H = model.hidden
    attn = _attention_parameters(model)
    expert = _ffn_parameters(model, model.ffn)
    ffn = model.experts * expert + (H * model.experts if model.is_moe else 0)
    ffn += model.shared_experts * expert
    norm = H * (2 if model.norm == "layernorm" else 1)
    per_layer = attn + ffn + 2 * norm
    total = model.layers * per_layer + norm  # + final norm
    if model.is_moe and model.dense_layers:  # the first layers hold a dense FFN instead
        total += model.dense_layers * (_ffn_parameters(model, model.dense_ffn) - ffn)
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
    return int((model.layers - model.dense_layers) * model.experts * _ffn_parameters(model, model.ffn))


def kv_bytes_per_token(model: Transformer, kv_dtype: str) -> float:
    """K/V cache bytes one token holds over all layers: K and V of every K/V head, or with MLA the
    compressed latent and the shared RoPE key (kv_lora_rank + qk_rope_head_dim per layer)."""
    width = (model.kv_lora_rank + model.qk_rope_head_dim if model.is_mla
             else 2 * model.kv_heads * model.head_dim)
    return model.layers * width * DTYPE_BYTES[kv_dtype]


def kv_cache_bytes(model: Transformer, scenario: Scenario, length: int | None = None) -> float:
    """Bytes of K and V for `length` tokens per sequence over the batch (default: what the scenario holds
    after its step, every sequence of a mixed step included)."""
    per_token = kv_bytes_per_token(model, scenario.kv_dtype)
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
        if model.is_mla:
            _mla(ops, model, L, T, groups, gemm, elementwise, a, c)
        else:
            gemm(p + "qkv", L, T, qkv_out, H, bias=model.bias)
            if not model.learned_positions:
                elementwise(p + "rope", L, "rope", T * (model.heads + model.kv_heads) * hd,
                            ROPE_FLOPS_PER_ELEMENT)
            for group in groups:
                _attention(ops, model, L, group, a, c)
        gemm(p + "o_proj", L, T, H, model.heads * model.value_dim, bias=model.bias)
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


def _mla(ops: list, model: Transformer, L: int, T: int, groups, gemm, elementwise, a: float, c: float) -> None:
    """Multi-head latent attention (DeepSeek-V2/V3) as SGLang and vLLM run it: the query and the K/V latent
    down-projections fused (replicated under tensor parallelism), the query up-projection, RoPE on the
    queries and the one shared RoPE key; prefill groups expand the latent of every key they see into per-head
    K and V (`kv_b`) and run ordinary attention (K head nope + rope, V head v_head_dim); decode groups run
    the absorbed form (FlashMLA): the key up-projection folded into each head's query (`q_absorb`), attention
    over the cached latent itself (one K/V head of kv_lora_rank + rope that serves as both K and V), and the
    value up-projection per head after it (`v_absorb`). The KV cache holds the latent and the RoPE key."""
    p, H, hd, r = f"L{L}.", model.hidden, model.head_dim, model.qk_rope_head_dim
    R, Q, nope, vd, heads = model.kv_lora_rank, model.q_lora_rank, hd - r, model.value_dim, model.heads
    if Q:
        gemm(p + "qkv_a", L, T, Q + R + r, H)
        elementwise(p + "qkv_a_norm", L, "norm", T * (Q + R), NORM_FLOPS_PER_ELEMENT["rmsnorm"])
        gemm(p + "q_b", L, T, heads * hd, Q)
    else:
        gemm(p + "qkv_a", L, T, R + r, H)
        elementwise(p + "qkv_a_norm", L, "norm", T * R, NORM_FLOPS_PER_ELEMENT["rmsnorm"])
        gemm(p + "q_b", L, T, heads * hd, H)
    elementwise(p + "rope", L, "rope", T * (heads + 1) * r, ROPE_FLOPS_PER_ELEMENT)
    latent = R + r  # cache elements per token and layer
    for g in groups:
        q = f"{p}{g.prefix}"
        tokens = g.batch * g.q
        scores = g.batch * heads * g.pairs
        if g.decode:
            gemm(q + "q_absorb", L, tokens, R, nope, count=heads)
            geo = dict(heads=heads, kv_heads=1, head_dim=latent, latent=True)
            score_flops, ctx_flops, q_row, out_row = 2.0 * scores * latent, 2.0 * scores * R, heads * latent, heads * R
        else:
            gemm(q + "kv_b", L, g.batch * g.kv_len, heads * (nope + vd), R)
            geo = dict(heads=heads, kv_heads=heads, head_dim=(hd + vd) // 2)
            score_flops, ctx_flops, q_row, out_row = 2.0 * scores * hd, 2.0 * scores * vd, heads * hd, heads * vd
        attn = dict(geo, batch=g.batch, q_len=g.q, kv_len=g.kv_len, causal=g.causal, cached=g.cached, mla=True)
        if g.decode and g.q > 1:
            attn["decode"] = True
        ops.append(Op(q + "attn_score", L, "attn_score", flops=score_flops,
                      kv_read_bytes=g.batch * g.cached * latent * c, kv_write_bytes=tokens * latent * c,
                      act_read_bytes=tokens * (q_row + latent) * a, act_write_bytes=scores * a,
                      m=g.q, n=g.kv_len, k=geo["head_dim"], count=g.batch * heads, attrs=attn))
        ops.append(Op(q + "softmax", L, "softmax", flops=float(SOFTMAX_FLOPS_PER_ELEMENT * scores),
                      act_read_bytes=scores * a, act_write_bytes=scores * a))
        ops.append(Op(q + "attn_context", L, "attn_context", flops=ctx_flops,
                      act_read_bytes=scores * a, act_write_bytes=tokens * out_row * a,
                      m=g.q, n=geo["head_dim"], k=g.kv_len, count=g.batch * heads, attrs=attn))
        if g.decode:
            gemm(q + "v_absorb", L, tokens, vd, R, count=heads)


def _ffn(model: Transformer, L: int, T: int, gemm, elementwise, ops: list, w: float, a: float) -> None:
    p, H, F = f"L{L}.", model.hidden, model.ffn
    up_n = 2 * F if model.activation == "swiglu" else F
    act_reads = 2 if model.activation == "swiglu" else 1
    if model.is_dense_layer(L):
        D = model.dense_ffn if model.is_moe else F
        gemm(p + "ffn_up", L, T, 2 * D if model.activation == "swiglu" else D, H, bias=model.bias)
        elementwise(p + "ffn_act", L, "elementwise", T * D, ACT_FLOPS_PER_ELEMENT[model.activation],
                    reads=act_reads)
        gemm(p + "ffn_down", L, T, H, D, bias=model.bias)
        return
    if model.shared_experts:  # always-on experts: a dense FFN of shared_experts x ffn beside the routed ones
        S = model.shared_experts * F
        gemm(p + "shared_up", L, T, 2 * S if model.activation == "swiglu" else S, H, bias=model.bias)
        elementwise(p + "shared_act", L, "elementwise", T * S, ACT_FLOPS_PER_ELEMENT[model.activation],
                    reads=act_reads)
        gemm(p + "shared_down", L, T, H, S, bias=model.bias)
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
