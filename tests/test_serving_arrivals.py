"""Arrivals and lengths: the processes have the statistics asked for, traces replay as written, and the
same seed gives the same requests (and the same per-request results) bit for bit."""
from pathlib import Path

import numpy as np
import pytest

from archsim.serving.arrivals import generate
from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.spec import load_serving
from archsim.serving.traces import load_trace

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serving"


def spec(**flags):
    return load_serving(flags=flags)


def test_poisson_gaps_are_exponential_with_the_rate():
    req = generate(spec(rate=4.0, requests=20000, prompt_tokens=10, output_tokens=5))
    gaps = np.diff(np.concatenate([[0.0], req.arrival_s]))
    assert gaps.mean() == pytest.approx(0.25, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)  # an exponential's CV is 1
    assert len(req) == 20000 and np.all(req.prompt_tokens == 10) and np.all(req.output_tokens == 5)


def test_gamma_gaps_have_the_rate_and_cv():
    req = generate(spec(arrivals="gamma", rate=2.0, cv=3.0, requests=40000, prompt_tokens=10, output_tokens=5))
    gaps = np.diff(np.concatenate([[0.0], req.arrival_s]))
    assert gaps.mean() == pytest.approx(0.5, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.08)


def test_duration_bounds_generated_arrivals_and_offline_puts_all_at_zero():
    req = generate(spec(rate=10.0, duration="30 s", prompt_tokens=10, output_tokens=5))
    assert req.arrival_s.max() < 30.0 and len(req) == pytest.approx(300, rel=0.2)
    off = generate(spec(arrivals="offline", requests=77, prompt_tokens=10, output_tokens=5))
    assert len(off) == 77 and np.all(off.arrival_s == 0.0)


def test_length_distributions():
    base = dict(rate=1.0, requests=20000)
    s = load_serving(flags=base, base={"prompt": {"distribution": "uniform", "min": 10, "max": 20},
                                       "output": {"distribution": "lognormal", "mean": 200.0, "cv": 0.5}})
    req = generate(s)
    assert req.prompt_tokens.min() == 10 and req.prompt_tokens.max() == 20
    assert req.output_tokens.mean() == pytest.approx(200, rel=0.03)
    assert req.output_tokens.std() / req.output_tokens.mean() == pytest.approx(0.5, rel=0.05)
    emp = load_serving(flags=base, base={"prompt": {"distribution": "empirical", "trace": "azure-code"},
                                         "output": {"distribution": "empirical", "trace": "azure-code"}})
    req = generate(emp)
    code = load_trace("azure-code")
    assert set(req.prompt_tokens) <= set(code.prompt_tokens) and set(req.output_tokens) <= set(code.output_tokens)
    assert req.output_tokens.mean() == pytest.approx(code.output_tokens.mean(), rel=0.1)


def test_trace_replay_keeps_times_and_lengths_and_scales_time():
    trace = load_trace("azure-conv")
    req = generate(spec(trace="azure-conv", duration="600 s"))
    n = int(np.count_nonzero(trace.arrival_s < 600))
    assert len(req) == n == 2867
    np.testing.assert_array_equal(req.arrival_s, trace.arrival_s[:n])
    np.testing.assert_array_equal(req.prompt_tokens, trace.prompt_tokens[:n])
    fast = generate(spec(trace=str(FIXTURES / "small_trace.csv"), time_scale=0.5))
    assert list(fast.arrival_s) == pytest.approx([0.0, 0.15, 0.5, 1.5])
    first = generate(spec(trace="azure-code", requests=10))
    assert len(first) == 10


def test_the_same_seed_gives_identical_requests_and_results():
    flags = dict(rate=30.0, requests=300, seed=42)
    lengths = {"prompt": {"distribution": "lognormal", "mean": 300.0, "cv": 1.0},
               "output": {"distribution": "uniform", "min": 1, "max": 40}}
    a, b = generate(load_serving(flags=flags, base=lengths)), generate(load_serving(flags=flags, base=lengths))
    c = generate(load_serving(flags=dict(flags, seed=43), base=lengths))
    for name in ("arrival_s", "prompt_tokens", "output_tokens"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))

    def cost(p, d, c):
        return 0.004 + 2e-5 * p + 1e-4 * d + 1e-8 * c, 0.0

    config = LoopConfig(kv_capacity_tokens=2000, max_context=4096, policy="chunked", chunk_tokens=128)
    runs = [simulate_requests(r.arrival_s, r.prompt_tokens, r.output_tokens, cost, config) for r in (a, b)]
    for name in ("first_token_s", "finish_s", "scheduled_s", "token_s", "recomputes", "replica"):
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name))
    assert runs[0].counters["preempt_recompute"] > 0  # a busy enough case to matter


def test_a_different_rate_with_the_same_seed_scales_the_same_gaps():
    lengths = {"prompt": {"tokens": 10}, "output": {"tokens": 5}}
    slow = generate(load_serving(flags=dict(rate=2.0, requests=100), base=lengths))
    fast = generate(load_serving(flags=dict(rate=8.0, requests=100), base=lengths))
    np.testing.assert_allclose(fast.arrival_s * 4, slow.arrival_s, rtol=1e-12)
