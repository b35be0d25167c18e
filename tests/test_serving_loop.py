"""The serving loop on cases small enough to work out by hand."""
import numpy as np
import pytest

from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.state import REJECT_BATCH, REJECT_CONTEXT, REJECT_KV, ST_FINISHED, ST_REJECTED


def affine(p, d, c):
    """Seconds: 5 ms per iteration, 20 us per prefill token, 100 us per decode sequence, 10 ns per cached token."""
    return 0.005 + 2e-5 * p + 1e-4 * d + 1e-8 * c, 0.1 * p + 0.3 * d


def test_one_request_alone_is_a_prefill_then_one_decode_step_per_further_token():
    prompt, output, arrival = 704, 9, 2.5  # 704 = 11 x 64: a point of the table's token axis
    config = LoopConfig(kv_capacity_tokens=100_000, max_context=8192)
    run = simulate_requests([arrival], [prompt], [output], affine, config, direct=True)
    ttft = affine(prompt, 0, 0)[0]
    t = arrival + ttft
    expected = [t]
    for k in range(1, output):  # decode k attends to the prompt and the k - 1 earlier outputs
        t += affine(0, 1, prompt + k - 1)[0]
        expected.append(t)
    assert run.scheduled_s[0] == arrival  # no queueing
    assert run.first_token_s[0] - arrival == pytest.approx(ttft, abs=1e-15)
    np.testing.assert_array_equal(run.token_times(0), expected)
    assert run.finish_s[0] == expected[-1]
    assert list(run.iterations["p"]) == [prompt] + [0] * (output - 1)
    assert list(run.iterations["d"]) == [0] + [1] * (output - 1)
    assert list(run.iterations["c"]) == [0] + [prompt + k - 1 for k in range(1, output)]
    assert run.iterations["joules"].sum() == pytest.approx(0.1 * prompt + 0.3 * (output - 1))
    # The table gives the same up to rounding: P is one of its points and the affine cost is linear in D and C.
    tabled = simulate_requests([arrival], [prompt], [output], affine, config)
    np.testing.assert_allclose(tabled.token_times(0), expected, rtol=1e-12)


def test_a_rate_far_below_capacity_never_queues():
    rng = np.random.default_rng(11)
    arrival = np.cumsum(rng.exponential(1 / 0.002, 200))  # one request per 500 s on average; each takes < 0.3 s
    prompt, output = rng.integers(10, 2000, 200), rng.integers(1, 50, 200)
    run = simulate_requests(arrival, prompt, output, affine, LoopConfig(kv_capacity_tokens=50_000, max_context=8192),
                            direct=True)
    assert np.all(run.status == ST_FINISHED)
    np.testing.assert_array_equal(run.scheduled_s, arrival)
    for i in range(200):
        assert run.first_token_s[i] == arrival[i] + affine(int(prompt[i]), 0, 0)[0]


def test_kv_exhaustion_preempts_the_most_recent_by_recompute_exactly_once():
    """8 blocks of 4 tokens; two requests of 8 prompt + 20 output tokens, prefilled together (2 blocks each).
    Decode k needs ceil((8 + k) / 4) blocks each: both fit up to k = 8 (4 + 4 blocks). At k = 9 the first
    needs a 5th block, the cache is full, and the most recently admitted (the second) is preempted: its
    K/V dropped, back to the front of the queue with 9 tokens generated. It cannot be prefilled again
    (17 tokens = 5 blocks) until the first finishes (after decode 19), then it re-prefills 17 tokens and
    decodes its last 10: 1 + 8 + 11 + 1 + 10 = 31 iterations, one preemption."""
    config = LoopConfig(kv_capacity_tokens=32, max_context=4096, block_tokens=4, max_seqs=8, max_batched_tokens=64)
    run = simulate_requests([0.0, 0.0], [8, 8], [20, 20], affine, config, direct=True)
    assert list(run.recomputes) == [0, 1] and run.counters["preempt_recompute"] == 1
    it = run.iterations
    assert len(it["p"]) == 31
    assert list(it["p"]) == [16] + [0] * 19 + [17] + [0] * 10
    assert list(it["d"]) == [0] + [2] * 8 + [1] * 11 + [0] + [1] * 10
    assert list(it["kv_blocks"][:10]) == [4, 6, 6, 6, 6, 8, 8, 8, 8, 5]
    assert it["c"][20] == 0  # the re-prefill starts from an empty cache
    first, second = run.token_times(0), run.token_times(1)
    assert len(first) == len(second) == 20
    assert second[9] == run.iterations["start_s"][20] + run.iterations["seconds"][20]  # token 10 after re-prefill
    assert np.all(run.status == ST_FINISHED)


def test_kv_exhaustion_swaps_out_and_back_in_when_host_memory_allows():
    """The same case with 16 tokens of host memory: the second request is swapped out at decode 9 (16 tokens
    of K/V moved), comes back when the first finishes and decodes its remaining 11 tokens."""
    per_token = 1e-4
    config = LoopConfig(kv_capacity_tokens=32, max_context=4096, block_tokens=4, max_seqs=8, max_batched_tokens=64,
                        preemption="swap", host_capacity_tokens=16, swap_s_per_token=per_token)
    run = simulate_requests([0.0, 0.0], [8, 8], [20, 20], affine, config, direct=True)
    assert list(run.swaps) == [0, 1] and list(run.recomputes) == [0, 0]
    it = run.iterations
    assert len(it["p"]) == 31
    assert list(it["d"]) == [0] + [2] * 8 + [1] * 11 + [1] * 11
    assert list(np.nonzero(it["swap_tokens"])[0]) == [9, 20] and list(it["swap_tokens"][[9, 20]]) == [16, 16]
    assert it["seconds"][9] == affine(0, 1, 16)[0] + 16 * per_token
    assert it["c"][20] == 16  # swapped back with its K/V


def test_static_batching_matches_a_hand_calculation():
    """max_seqs 2: requests 0 and 1 form a batch (prefill of 30 tokens, then 4 decode steps of 2 sequences
    until the longer output of 5 is done; request 0 is padding after its 2 tokens), then request 2 alone."""
    def cost(p, d, c):
        return 1.0 + 0.01 * p + 0.1 * d + 0.001 * c, 0.0

    config = LoopConfig(kv_capacity_tokens=4096, max_context=4096, policy="static", max_seqs=2)
    run = simulate_requests([0.0, 0.0, 0.0], [10, 20, 30], [2, 5, 3], cost, config, direct=True)
    t = cost(30, 0, 0)[0]
    batch1 = [t]
    for k in range(1, 5):
        t += cost(0, 2, 30 + 2 * (k - 1))[0]
        batch1.append(t)
    np.testing.assert_array_equal(run.token_times(0), batch1[:2])
    np.testing.assert_array_equal(run.token_times(1), batch1)
    start2 = batch1[-1]
    t = start2 + cost(30, 0, 0)[0]
    batch2 = [t]
    for k in range(1, 3):
        t += cost(0, 1, 30 + k - 1)[0]
        batch2.append(t)
    np.testing.assert_array_equal(run.token_times(2), batch2)
    assert run.scheduled_s[2] == start2  # queued for the whole first batch
    assert list(run.iterations["d"]) == [0, 2, 2, 2, 2, 0, 1, 1]


def test_round_robin_and_least_outstanding_tokens_route_differently():
    arrival = [0.0, 0.0, 0.0, 0.0, 5.0]
    prompt, output = [100, 10, 10, 10, 10], [100, 10, 10, 10, 10]
    base = dict(kv_capacity_tokens=100_000, max_context=4096, replicas=2)
    rr = simulate_requests(arrival, prompt, output, affine, LoopConfig(**base, router="round_robin"), direct=True)
    lt = simulate_requests(arrival, prompt, output, affine, LoopConfig(**base, router="least_tokens"), direct=True)
    assert list(rr.replica) == [0, 1, 0, 1, 0]
    # outstanding tokens at each arrival: [0, 0] -> 0; [199, 0] -> 1; [199, 19] -> 1; [199, 38] -> 1;
    # at t = 5 s everything has finished ([0, 0]) -> 0
    assert list(lt.replica) == [0, 1, 1, 1, 0]
    assert lt.finish_s[0] < 5.0


def test_requests_that_can_never_run_are_rejected_and_counted():
    config = LoopConfig(kv_capacity_tokens=256, max_context=300, block_tokens=16, max_batched_tokens=200,
                        max_seqs=8, admission="reserve")
    run = simulate_requests([0, 0, 0, 0], [100, 290, 200, 250], [10, 20, 100, 5], affine, config, direct=True)
    assert list(run.reject_reason) == [0, REJECT_CONTEXT, REJECT_KV, REJECT_BATCH]
    assert list(run.status) == [ST_FINISHED, ST_REJECTED, ST_REJECTED, ST_REJECTED]
    assert run.counters["rejected"] == 3 and run.counters["finished"] == 1


def test_an_overloaded_rate_stops_at_the_time_cap():
    arrival = np.arange(2000) * 0.001  # 1000 requests/s of 500 + 100 tokens: far beyond one replica
    config = LoopConfig(kv_capacity_tokens=20_000, max_context=4096, max_sim_time_s=3.0)
    run = simulate_requests(arrival, np.full(2000, 500), np.full(2000, 100), affine, config)
    assert run.run_status == "time_cap" and run.end_s <= 3.0
    assert run.counters["finished"] < 2000 and run.counters["max_waiting"] > 1000
    capped = simulate_requests(arrival, np.full(2000, 500), np.full(2000, 100), affine,
                               LoopConfig(kv_capacity_tokens=20_000, max_context=4096, max_queue=100))
    assert capped.run_status == "queue_cap"


def test_an_iteration_overhead_lengthens_every_iteration_by_exactly_that():
    arrival, prompt, output = [0.0, 0.01, 0.02], [100, 300, 50], [8, 5, 12]
    base = simulate_requests(arrival, prompt, output, affine,
                             LoopConfig(kv_capacity_tokens=50_000, max_context=8192), direct=True)
    slow = simulate_requests(arrival, prompt, output, affine,
                             LoopConfig(kv_capacity_tokens=50_000, max_context=8192, iteration_overhead_s=0.002),
                             direct=True)
    # the same iterations (the arrivals all come while the first prefill runs), each 2 ms longer
    assert list(slow.iterations["p"]) == list(base.iterations["p"])
    np.testing.assert_allclose(slow.iterations["seconds"], base.iterations["seconds"] + 0.002, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(slow.iterations["joules"], base.iterations["joules"])  # host time: no GPU energy
    with pytest.raises(Exception, match="iteration_overhead must be a non-negative time"):
        LoopConfig(kv_capacity_tokens=50_000, max_context=8192, iteration_overhead_s=-1.0).check()
