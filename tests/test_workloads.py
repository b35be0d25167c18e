"""Operator-graph totals against hand-computed numbers."""
import pytest

from archsim.errors import ArchsimInputError
from archsim.workload.inline import inline_graph
from archsim.workload.lower import expected_experts_touched, kv_cache_bytes, lower, parameter_count
from archsim.workload.model import Scenario, bundled_workloads, load_transformer

# Published parameter counts (model cards / papers), in billions.
PUBLISHED_PARAMS_B = {
    "llama2-7b": 6.74, "llama2-13b": 13.02, "llama2-70b": 68.98, "llama3-8b": 8.03, "llama3.1-8b": 8.03,
    "llama3.1-70b": 70.55, "llama3.1-405b": 405.85, "codellama-34b": 33.74, "qwen2-72b": 72.71,
    "gpt3-175b": 174.6, "mixtral-8x7b": 46.70,
    # Llama 3.2 model cards on HF: 1.24B and 3.21B parameters (safetensors); Vicuna-68M: 68M (its name)
    "llama3.2-1b": 1.236, "llama3.2-3b": 3.213, "vicuna-68m": 0.068,
    # DeepSeek-V3 technical report (arXiv:2412.19437): 671B total (main model, MTP module excluded);
    # Mixtral 8x22B: 141B (Mistral AI's announcement; 140.6B from its HF config)
    "deepseek-v3": 671.0, "mixtral-8x22b": 140.6,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS_B))
def test_parameter_counts_match_published(name):
    assert parameter_count(load_transformer(name)) / 1e9 == pytest.approx(PUBLISHED_PARAMS_B[name], rel=0.003)


def test_every_bundled_workload_lowers():
    assert set(PUBLISHED_PARAMS_B) | {"tiny"} == set(bundled_workloads())
    for name in bundled_workloads():
        g = lower(load_transformer(name), Scenario(phase="decode", context_len=512))
        assert g.total_flops > 0 and all(op.bytes >= 0 for op in g.ops)


def test_llama2_7b_decode_by_hand():
    m = load_transformer("llama2-7b")
    s = Scenario(phase="decode", batch=1, context_len=1024)
    g = lower(m, s)
    # Weights: every parameter except the embedding rows not looked up (one token: one row).
    params = parameter_count(m)
    assert g.weight_bytes == 2 * (params - (m.vocab - 1) * m.hidden)
    # KV cache: read 1024 rows of K and V and write one, per layer: 2 * 32 * 4096 * 2 B per token.
    per_token = 2 * 32 * 4096 * 2
    assert g.kv_bytes == per_token * (1024 * 2 // 2 + 1) == kv_cache_bytes(m, s)
    # FLOPs: 2 per weight MAC (excluding embedding) + attention 4 * heads * hd * (ctx + 1) per layer.
    matmul = 2 * (params - m.vocab * m.hidden - (2 * 32 + 1) * m.hidden)
    attention = 32 * 4 * 32 * 128 * 1025
    gemm_flops = sum(op.flops for op in g.ops if op.kind in ("gemm", "attn_score", "attn_context"))
    assert gemm_flops == matmul + attention


def test_prefill_is_causal_and_fills_cache():
    m = load_transformer("tiny")
    s = Scenario(phase="prefill", batch=2, prompt_len=16)
    g = lower(m, s)
    score = g.layer_ops(0)[3]
    assert score.kind == "attn_score"
    assert score.flops == 2 * 2 * m.heads * (16 * 17 // 2) * m.head_dim
    assert g.kv_bytes == kv_cache_bytes(m, s)
    lm_head = g.ops[-1]
    assert lm_head.name == "lm_head" and lm_head.m == 2  # last position of each sequence only


def test_moe_reads_only_touched_experts():
    m = load_transformer("mixtral-8x7b")
    one = lower(m, Scenario(phase="decode", batch=1))
    many = lower(m, Scenario(phase="decode", batch=64))
    up1 = next(op for op in one.ops if op.name == "L0.experts_up")
    up64 = next(op for op in many.ops if op.name == "L0.experts_up")
    assert up1.count == 2 and up64.count == 8
    assert up64.weight_bytes == 4 * up1.weight_bytes
    assert up64.flops == 64 * up1.flops  # FLOPs follow routed tokens, not touched experts
    assert expected_experts_touched(8, 2, 1) == 2


def test_scenario_errors_are_clear():
    with pytest.raises(ArchsimInputError, match="context_len 8999 plus the decoded token exceeds llama2-7b's "
                                                "max_context of 4096"):
        lower(load_transformer("llama2-7b"), Scenario(context_len=8999))
    with pytest.raises(ArchsimInputError, match="batch must be a positive integer, got 0"):
        Scenario(batch=0).check()
    with pytest.raises(ArchsimInputError, match="did you mean 'bf16'"):
        Scenario(weight_dtype="bf61").check()
    with pytest.raises(ArchsimInputError, match="unknown workload 'llama2-7"):
        load_transformer("llama2-7")


def test_inline_gemm():
    g = inline_graph("gemm:64x128x256", "fp16")
    (op,) = g.ops
    assert (op.m, op.n, op.k, op.flops) == (64, 128, 256, 2 * 64 * 128 * 256)
    assert op.bytes == 2 * (64 * 256 + 256 * 128 + 64 * 128)
    with pytest.raises(ArchsimInputError, match="gemm:MxNxK"):
        inline_graph("gemm:64x128", "fp16")
