"""The numba serving loop equals the slow reference (tests/serving_reference.py) bit for bit."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.serving.iteration_table import IterationTable
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


@st.composite
def workloads(draw):
    """A random workload (numpy, from a drawn seed, so lengths and gaps vary widely) and configuration."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(rng.integers(1, 41))
    arrival = np.cumsum(rng.exponential(draw(st.sampled_from([0.0005, 0.005, 0.05])), n))
    if draw(st.booleans()):
        arrival = np.round(arrival, 2)  # simultaneous arrivals
    prompt, output = rng.integers(1, 121, n), rng.integers(1, 61, n)
    config = LoopConfig(
        kv_capacity_tokens=draw(st.sampled_from([160, 64, 400, 2000])), max_context=draw(st.sampled_from([4096, 150])),
        policy=draw(st.sampled_from(["continuous", "chunked", "static"])),
        admission=draw(st.sampled_from(["on_demand", "reserve"])),
        preemption=draw(st.sampled_from(["recompute", "swap"])),
        max_seqs=draw(st.sampled_from([8, 3, 1])), max_batched_tokens=draw(st.sampled_from([300, 64])),
        chunk_tokens=draw(st.sampled_from([50, 8])), block_tokens=draw(st.sampled_from([4, 16])),
        host_capacity_tokens=draw(st.sampled_from([64, 512])), swap_s_per_token=draw(st.sampled_from([1e-5, 0.0])),
        replicas=draw(st.sampled_from([1, 2, 3])), router=draw(st.sampled_from(["round_robin", "least_tokens"])),
        max_sim_time_s=draw(st.sampled_from([None, 0.5])), max_queue=draw(st.sampled_from([1000, 5])),
        points_per_octave=draw(st.sampled_from([1, 3])))
    return arrival, prompt, output, config


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_kernel_equals_reference(workload):
    arrival, prompt, output, config = workload
    run = simulate_requests(arrival, prompt, output, cost, config)  # lazily filled table: many resumes
    full = IterationTable.for_limits(*config.table_limits(prompt, output), config.points_per_octave)
    full.fill_all(cost)
    ref = reference_run(arrival, prompt, output, config, full)
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
            full = IterationTable.for_limits(*config.table_limits(prompt, output), config.points_per_octave)
            full.fill_all(cost)
            assert_same(run, reference_run(arrival, prompt, output, config, full))
            assert run.counters["preempt_recompute"] + run.counters["preempt_swap"] > 0, (policy, preemption)
            assert np.all(run.status == ST_FINISHED)
