"""The numba serving loop equals the slow reference (tests/serving_reference.py) bit for bit."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.state import ST_FINISHED
from serving_reference import reference_run


def cost(p, d, c):
    """A cost that is not linear (so interpolation matters) and differs along every axis."""
    return 0.004 + 2e-6 * p ** 1.1 + 3e-5 * d + 1e-8 * c + 1e-9 * p * d, 0.5 + 1e-3 * p + 0.01 * d


def assert_same(run, ref):
    seqs = ref.seqs
    assert run.run_status == ref.status
    np.testing.assert_array_equal(run.replica, [s.replica for s in seqs])
    np.testing.assert_array_equal(run.reject_reason, [s.reject for s in seqs])
    np.testing.assert_array_equal(run.generated, [s.generated for s in seqs])
    np.testing.assert_array_equal(run.recomputes, [s.recomputes for s in seqs])
    np.testing.assert_array_equal(run.swaps, [s.swaps for s in seqs])
    for name, attr in (("scheduled_s", "scheduled"), ("first_token_s", "first_token"), ("finish_s", "finish")):
        np.testing.assert_array_equal(getattr(run, name), [getattr(s, attr) for s in seqs], err_msg=name)
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(run.token_times(i), s.tokens)
    log = np.array(ref.log) if ref.log else np.zeros((0, 11))
    it = run.iterations
    got = np.column_stack([it[k] for k in ("replica", "p", "d", "c", "seqs", "kv_blocks", "waiting", "swap_tokens",
                                           "start_s", "seconds", "joules")]) if len(it["p"]) else np.zeros((0, 11))
    np.testing.assert_array_equal(got, log)
    assert run.counters["preempt_recompute"] == ref.recomputes and run.counters["preempt_swap"] == ref.swap_outs
    assert run.counters["verify_steps"] == ref.verify_steps and run.counters["verify_tokens"] == ref.verify_tokens


@st.composite
def workloads(draw):
    """A random workload (numpy, from a drawn seed, so lengths and gaps vary widely) and configuration, with
    speculative decoding (accepted drafts drawn per token), cached prefixes and decode pools (requests that
    arrive with their K/V) drawn on or off."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(rng.integers(1, 41))
    arrival = np.cumsum(rng.exponential(draw(st.sampled_from([0.0005, 0.005, 0.05])), n))
    if draw(st.booleans()):
        arrival = np.round(arrival, 2)  # simultaneous arrivals
    prompt, output = rng.integers(1, 121, n), rng.integers(1, 61, n)
    spec_k = draw(st.sampled_from([0, 0, 1, 3]))
    block = draw(st.sampled_from([4, 16]))
    reserved = draw(st.sampled_from([0, 0, block, 2 * block]))
    config = LoopConfig(
        kv_capacity_tokens=draw(st.sampled_from([160, 64, 400, 2000])), max_context=draw(st.sampled_from([4096, 150])),
        policy=draw(st.sampled_from(["continuous", "chunked", "static", "inflight"])),
        admission=draw(st.sampled_from(["on_demand", "reserve"])),
        preemption=draw(st.sampled_from(["recompute", "swap"])),
        max_seqs=draw(st.sampled_from([8, 3, 1])), max_batched_tokens=draw(st.sampled_from([300, 64])),
        chunk_tokens=draw(st.sampled_from([50, 8])), block_tokens=block, spec_k=spec_k, reserved_tokens=reserved,
        host_capacity_tokens=draw(st.sampled_from([64, 512])), swap_s_per_token=draw(st.sampled_from([1e-5, 0.0])),
        replicas=draw(st.sampled_from([1, 2, 3])), router=draw(st.sampled_from(["round_robin", "least_tokens"])),
        max_sim_time_s=draw(st.sampled_from([None, 0.5])), max_queue=draw(st.sampled_from([1000, 5])),
        points_per_octave=draw(st.sampled_from([1, 3])),
        clients=draw(st.sampled_from([0, 0, 1, 3])), iteration_overhead_s=draw(st.sampled_from([0.0, 0.0, 1e-3])))
    hits = rng.integers(0, reserved // block + 1, n) * block
    cached = np.minimum(hits, (prompt - 1) // block * block) if reserved else None
    accepted = rng.integers(0, spec_k + 1, int(output.sum())) if spec_k else None
    prefilled = config.policy != "static" and cached is None and draw(st.booleans())
    if prefilled:
        output = np.maximum(output, 2)  # the decode pool gets the requests that want more than their first token
        accepted = rng.integers(0, spec_k + 1, int(output.sum())) if spec_k else None
    return arrival, prompt, output, config, dict(cached_tokens=cached, accepted=accepted, prefilled=prefilled)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_kernel_equals_reference(workload):
    arrival, prompt, output, config, extra = workload
    run = simulate_requests(arrival, prompt, output, cost, config, **extra)  # lazily filled table: many resumes
    full = config.new_table(prompt, output)
    full.fill_all(cost)
    ref = reference_run(arrival, prompt, output, config, full, extra["cached_tokens"], extra["accepted"],
                        extra["prefilled"])
    assert_same(run, ref)


def test_a_busy_workload_with_preemption_matches_and_preempts():
    """A fixed case heavy enough to exercise preemption and swapping on every policy."""
    rng = np.random.default_rng(7)
    n = 60
    arrival = np.cumsum(rng.exponential(0.004, n))
    prompt, output = rng.integers(5, 120, n), rng.integers(1, 80, n)
    for policy in ("continuous", "chunked"):
        for preemption in ("recompute", "swap"):
            config = LoopConfig(kv_capacity_tokens=400, max_context=4096, policy=policy, preemption=preemption,
                                max_seqs=16, max_batched_tokens=256, chunk_tokens=64, block_tokens=8,
                                host_capacity_tokens=160, swap_s_per_token=2e-6, replicas=2, router="least_tokens")
            run = simulate_requests(arrival, prompt, output, cost, config)
            full = config.new_table(prompt, output)
            full.fill_all(cost)
            assert_same(run, reference_run(arrival, prompt, output, config, full))
            assert run.counters["preempt_recompute"] + run.counters["preempt_swap"] > 0, (policy, preemption)
            assert np.all(run.status == ST_FINISHED)


def test_speculation_prefixes_and_decode_pools_match_and_are_exercised():
    """Fixed busy cases for the features added to the loop: every policy with speculative decoding (k = 4),
    cached prefixes, and a decode pool whose requests arrive with their K/V; preemption included."""
    rng = np.random.default_rng(11)
    n = 60
    arrival = np.cumsum(rng.exponential(0.004, n))
    prompt, output = rng.integers(20, 120, n), rng.integers(1, 80, n)
    accepted = rng.integers(0, 5, int(output.sum()))
    cached = np.minimum(rng.integers(0, 3, n) * 8, (prompt - 1) // 8 * 8)
    for policy in ("continuous", "chunked", "static"):
        for extra in (dict(accepted=accepted), dict(cached_tokens=cached), dict(prefilled=True)):
            if policy == "static" and "prefilled" in extra:
                continue
            out = np.maximum(output, 2) if "prefilled" in extra else output
            config = LoopConfig(kv_capacity_tokens=600, max_context=4096, policy=policy, max_seqs=16,
                                max_batched_tokens=256, chunk_tokens=64, block_tokens=8, replicas=2,
                                spec_k=4 if "accepted" in extra else 0,
                                reserved_tokens=16 if "cached_tokens" in extra else 0)
            run = simulate_requests(arrival, prompt, out, cost, config, **extra)
            full = config.new_table(prompt, out)
            full.fill_all(cost)
            ref = reference_run(arrival, prompt, out, config, full, extra.get("cached_tokens"),
                                extra.get("accepted"), extra.get("prefilled", False))
            assert_same(run, ref)
            assert np.all(run.status == ST_FINISHED), (policy, extra.keys())
            if "accepted" in extra:
                assert run.counters["verify_tokens"] > run.counters["verify_steps"] > 0


def test_a_decode_pool_with_reserve_admission_holds_each_request_whole_and_never_preempts():
    """Found by the property test above: a decode pool (requests arrive with their K/V) under reserve admission
    took blocks token by token, so a full cache preempted a request by recompute, and its re-prefill (prompt +
    generated - 1 = 68 tokens) no longer fitted the 64-token iteration: the loop could never schedule it."""
    rng = np.random.default_rng(3)
    n = 35
    arrival = np.sort(rng.uniform(0, 0.02, n))
    prompt, output = rng.integers(1, 121, n), rng.integers(2, 61, n)
    prompt[:3], output[:3] = (43, 40, 31), (54, 45, 14)  # long enough to need a re-prefill over 64 tokens
    config = LoopConfig(kv_capacity_tokens=160, max_context=4096, policy="continuous", admission="reserve",
                        max_seqs=8, max_batched_tokens=64, block_tokens=4, points_per_octave=1)
    run = simulate_requests(arrival, prompt, output, cost, config, prefilled=True)
    full = config.new_table(prompt, output)
    full.fill_all(cost)
    assert_same(run, reference_run(arrival, prompt, output, config, full, prefilled=True))
    assert run.counters["preempt_recompute"] == 0
    assert np.all((run.status == ST_FINISHED) | (run.reject_reason > 0))
