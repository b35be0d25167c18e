"""Speculative decoding (archsim/speculative.py, the verify step's lowering, the serving loop's verify steps):
answers worked out by hand."""
from pathlib import Path

import numpy as np
import pytest

from archsim.pipeline import run
from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.speculative import Speculation, expected_tokens, load_speculative, speculative_run
from archsim.workload.lower import attention_groups, kv_cache_bytes, lower
from archsim.workload.model import Scenario, load_transformer
from cli_checks import bad as _bad

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serving"


def test_expected_tokens_by_hand():
    assert expected_tokens(0.6, 1) == pytest.approx(1.6)  # k = 1: 1 + alpha
    assert expected_tokens(0.8, 4) == pytest.approx(1 + 0.8 + 0.64 + 0.512 + 0.4096)
    assert expected_tokens(0.0, 4) == 1.0 and expected_tokens(1.0, 4) == 5.0
    constant = Speculation("ngram", 4, alpha=0.8)
    assert constant.expected_tokens == pytest.approx(expected_tokens(0.8, 4))
    assert constant.accept_probs.sum() == pytest.approx(1.0)
    assert Speculation("ngram", 4, rates=(0.8,) * 4).expected_tokens == pytest.approx(constant.expected_tokens)
    # per position: P(a >= 1) = 0.9, P(a >= 2) = 0.9 x 0.5: 1 + 0.9 + 0.45
    assert Speculation("ngram", 2, rates=(0.9, 0.5)).expected_tokens == pytest.approx(2.35)
    # the distribution of accepted drafts itself: 1 + 0 x 0.5 + 1 x 0.25 + 2 x 0.25
    assert Speculation("ngram", 2, accept=(0.5, 0.25, 0.25)).expected_tokens == pytest.approx(1.75)


def test_sampling_is_seeded_and_has_the_expected_mean():
    spec = Speculation("ngram", 4, alpha=0.7)
    a = spec.sample(np.random.default_rng(3), 200_000)
    assert np.array_equal(a, spec.sample(np.random.default_rng(3), 200_000))
    assert a.min() == 0 and a.max() == 4
    assert 1 + a.mean() == pytest.approx(spec.expected_tokens, abs=0.01)


def test_the_verify_step_is_a_decode_of_k_plus_1_tokens():
    model = load_transformer("llama3.1-8b")
    plain = Scenario(phase="decode", batch=3, context_len=100)
    assert lower(model, plain).ops == lower(model, plain.with_(decode_q=1)).ops
    s = plain.with_(decode_q=5)
    g = lower(model, s)
    assert g.tokens == 15 and s.tokens == 15
    assert next(op for op in g.ops if op.name == "lm_head").m == 15  # logits at every verified position
    group = attention_groups(s)[0]
    assert (group.q, group.cached, group.causal, group.decode) == (5, 100, True, True)
    assert group.pairs == 5 * 100 + 5 * 6 // 2  # each query sees the context and the queries before it
    per_token = 2 * model.layers * model.kv_heads * model.head_dim * 2
    assert kv_cache_bytes(model, s) == per_token * 3 * 105
    mixed = Scenario(phase="mixed", batch=2, prompt_len=10, context_len=50, decode_q=3)
    assert mixed.tokens == 10 + 6
    assert next(op for op in lower(model, mixed).ops if op.name == "lm_head").m == 2 * 3 + 1


def _single(spec_text, **scenario):
    scen = Scenario(phase="decode", context_len=512, **scenario)
    return speculative_run("h100-sxm", "llama3.1-8b", scen, load_speculative(spec_text))


def test_alpha_zero_gives_no_gain_and_pays_the_draft():
    result = _single("draft=llama3.2-1b,k=3,alpha=0")
    s = result.extra["speculative"]
    step = s["verify_step_s"] + 3 * s["draft_step_s"]
    assert s["draft_step_s"] > 0 and s["expected_tokens_per_step"] == 1.0
    assert s["tpot_s"] == pytest.approx(step) and result.tpot_s == pytest.approx(step)
    assert s["speedup"] == pytest.approx(s["plain_decode_s"] / step) and s["speedup"] < 1.0
    verify = run("h100-sxm", "llama3.1-8b", Scenario(phase="decode", context_len=512, decode_q=4))
    draft = run("h100-sxm", "llama3.2-1b", Scenario(phase="decode", context_len=512))
    assert s["verify_step_s"] == verify.latency_s and s["draft_step_s"] == draft.latency_s


def test_k_1_matches_the_formula():
    s = _single("method=eagle,k=1,alpha=0.6").extra["speculative"]
    assert s["tokens_per_s_per_user"] == pytest.approx(1.6 / (s["verify_step_s"] + s["draft_step_s"]))
    ngram = _single("method=ngram,k=1,alpha=0.6").extra["speculative"]
    assert ngram["draft_step_s"] == 0.0
    assert ngram["speedup"] == pytest.approx(1.6 * ngram["plain_decode_s"] / ngram["verify_step_s"])


def constant_cost(p, d, c):
    return 1.0, 0.0


def test_a_lone_request_emits_k_plus_1_tokens_per_verify_step():
    """p = 10, o = 11, k = 4, every iteration 1 s: the prefill emits token 1 at t = 1; with every draft accepted,
    two verify steps emit tokens 2-6 at t = 2 and 7-11 at t = 3; with none accepted, one token per second."""
    config = LoopConfig(kv_capacity_tokens=1024, max_context=4096, spec_k=4)
    out = np.array([11])
    all_in = simulate_requests([0.0], [10], out, constant_cost, config, accepted=np.full(11, 4))
    assert list(all_in.token_times(0)) == [1.0] + [2.0] * 5 + [3.0] * 5
    assert all_in.counters["verify_steps"] == 2 and all_in.counters["verify_tokens"] == 10
    none = simulate_requests([0.0], [10], out, constant_cost, config, accepted=np.zeros(11))
    plain = simulate_requests([0.0], [10], out, constant_cost, LoopConfig(kv_capacity_tokens=1024, max_context=4096))
    assert list(none.token_times(0)) == list(plain.token_times(0)) == [float(t) for t in range(1, 12)]
    # near the end fewer drafts: after 9 outputs only one draft is worth making (q = 2)
    two = simulate_requests([0.0], [10], np.array([3]), constant_cost, config, accepted=np.full(3, 4))
    assert list(two.token_times(0)) == [1.0, 2.0, 2.0] and two.iterations["p"].tolist() == [10, 0]


def test_alpha_zero_in_serving_matches_plain_decoding_at_equal_cost():
    rng = np.random.default_rng(5)
    n = 40
    arrival, prompt, output = np.cumsum(rng.exponential(0.3, n)), rng.integers(5, 60, n), rng.integers(1, 30, n)
    base = dict(kv_capacity_tokens=2000, max_context=4096, max_seqs=8, max_batched_tokens=256)
    plain = simulate_requests(arrival, prompt, output, constant_cost, LoopConfig(**base))
    spec = simulate_requests(arrival, prompt, output, constant_cost, LoopConfig(**base, spec_k=3),
                             accepted=np.zeros(int(output.sum())))
    np.testing.assert_array_equal(plain.finish_s, spec.finish_s)
    np.testing.assert_array_equal(plain.token_s, spec.token_s)


def test_serving_with_a_drafter_reports_the_measured_acceptance():
    from archsim.serving.api import run_serving

    flags = {"rate": 4.0, "requests": 60, "prompt_tokens": 200, "output_tokens": 40,
             "speculative": "draft=llama3.2-1b,k=4,alpha=0.8"}
    result, _ = run_serving("h100-sxm", "llama3.1-8b", flags=flags)
    sp = result.summary["speculative"]
    assert sp["expected_tokens_per_verify_step"] == pytest.approx(expected_tokens(0.8, 4))
    assert 2.8 < sp["tokens_per_verify_step"] < 3.6  # 60 x 39 tokens drawn, near-end steps capped
    assert result.setup["speculative"]["drafter"] == "llama3.2-1b"
    assert result.setup["speculative"]["kv_tokens_without_speculation"] > result.setup[
        "kv_capacity_tokens_per_replica"]
    plain, _ = run_serving("h100-sxm", "llama3.1-8b", flags=dict(flags, speculative=None))
    assert result.summary["latency"]["tpot_s"]["mean"] < plain.summary["latency"]["tpot_s"]["mean"]


def test_bad_speculative_input(capsys):
    _bad(["run", "h100-sxm", "tiny", "--speculative", "draft=llama3.2-1b,k=4"], capsys, "exactly one acceptance")
    _bad(["run", "h100-sxm", "tiny", "--speculative", "drft=x"], capsys, "unknown key 'drft'")
    _bad(["run", "h100-sxm", "llama3.1-8b", "--speculative", "draft=llama2-7b,k=2,alpha=0.5"], capsys,
         "vocabulary")
    _bad(["run", "h100-sxm", "tiny", "--phase", "prefill", "--speculative", "method=ngram,k=2,alpha=0.5"], capsys,
         "applies to decode")
    serve = ["serve", "h100-sxm", "tiny", "--serving"]
    _bad(serve + [FIXTURES / "speculative_two_acceptances.yaml"], capsys, "speculative_two_acceptances.yaml:9",
         "speculative.alpha", "exactly one acceptance")
    _bad(serve + [FIXTURES / "speculative_bad_rates.yaml"], capsys, "speculative_bad_rates.yaml:9",
         "speculative.rates", "k = 3 numbers")


def test_extra_verified_tokens_cost_little_at_batch_1_and_much_at_large_batches():
    """Where speculation stops paying: at batch 1 a 5-token verify costs about one decode (weights are read
    once, on a GPU and on a wafer, where the tokens run pipelined through the layer regions); at batch 64 the
    GPU's verify step turns compute-bound and costs much more."""
    def latency(chip, model, batch, q):
        return run(chip, model, Scenario(phase="decode", batch=batch, context_len=1024, decode_q=q)).latency_s

    assert latency("h100-sxm", "llama3.1-8b", 1, 5) < 1.05 * latency("h100-sxm", "llama3.1-8b", 1, 1)
    assert latency("h100-sxm", "llama3.1-8b", 64, 9) > 1.5 * latency("h100-sxm", "llama3.1-8b", 64, 1)
    wafer = run("wse3", "llama3.1-8b", Scenario(phase="decode", context_len=1024, decode_q=5))
    assert wafer.latency_s < 1.3 * latency("wse3", "llama3.1-8b", 1, 1)
    assert any("token-pipelined" in note for note in wafer.notes)
