"""The iteration cost table: exact at grid points, multilinear between them, and lazy filling with
the kernel's resume protocol gives what a fully filled table gives."""
import numpy as np
import pytest

from archsim.errors import ArchsimInputError
from archsim.serving.iteration_table import IterationTable, log_axis, token_axis
from archsim.serving.loop import LoopConfig, simulate_requests


def cost(p, d, c):
    return 0.003 + 1e-6 * p * np.log1p(p) + 2e-5 * d ** 1.3 + 1e-8 * c, 1.0 + p * 1e-3 + d * 1e-2 + c * 1e-6


def test_axes_start_at_zero_are_log_spaced_and_end_at_the_limit():
    axis = log_axis(8192, 2)
    assert axis[0] == 0 and axis[1] == 1 and axis[-1] == 8192
    assert np.all(np.diff(axis) > 0)
    ratios = axis[2:] / axis[1:-1]
    assert ratios.max() <= 2 ** 0.5 * 1.5  # about sqrt(2) per point (rounding to integers at the low end)
    assert list(log_axis(1, 4)) == [0, 1]


def test_interpolation_is_exact_at_every_grid_point():
    table = IterationTable.for_limits(512, 64, 20000, points_per_octave=2)
    table.fill_all(cost)
    for flat in range(0, table.seconds.size, 3):
        i, j, _ = np.unravel_index(flat, table.seconds.shape)
        if i and table.t_axis[i] - table.d_axis[j] < 1:
            continue  # no room for a prefill token beside D decodes: priced at P = 1 (below)
        p, d, c = table.point(flat)
        assert i == 0 or p + d == table.t_axis[i]  # the point's own token count
        expected = (0.0, 0.0) if p == d == 0 else cost(p, d, c)
        assert table.lookup(p, d, c) == (float(expected[0]), float(expected[1]))


def test_the_token_axis_has_a_point_at_every_tile_boundary_and_at_the_budget():
    axis = token_axis(8192)
    assert list(axis[:7]) == [0, 1, 2, 4, 8, 16, 32] and axis[-1] == 8192
    assert {64 * k for k in range(1, 129)} <= set(axis.tolist())  # every multiple of 64: GEMM tile rows
    assert list(token_axis(300)[-3:]) == [272, 288, 300] and list(token_axis(1)) == [0, 1]
    assert 1000 in token_axis(2048, exact=(1000, 5000)) and 5000 not in token_axis(2048, exact=(1000, 5000))


def test_interpolation_steps_up_in_tokens_and_is_multilinear_in_d_and_c():
    """The token point at or above T = P + D (a GEMM's time steps at tile boundaries), linear in D and C at that
    T: a cost linear in P, D and C is read as the iteration with T rounded up and its own D and C."""
    table = IterationTable.for_limits(64, 16, 1024, points_per_octave=1)

    def linear(p, d, c):
        return 1.0 + 2.0 * p + 3.0 * d + 0.5 * c, 0.25 * p + d

    table.fill_all(linear)
    for (p, d, c), tokens in [((9, 5, 700), 16), ((33, 9, 1), 48), ((60, 1, 1000), 64), ((5, 0, 3), 8),
                              ((16, 7, 10), 32), ((0, 5, 700), None), ((0, 16, 3), None)]:
        p_read = p if tokens is None else tokens - d  # decode-only iterations have their own plane: exact
        seconds, joules = table.lookup(p, d, c)
        assert seconds == pytest.approx(linear(p_read, d, c)[0], rel=1e-12)
        assert joules == pytest.approx(linear(p_read, d, c)[1], rel=1e-12)
    with pytest.raises(ArchsimInputError, match="outside"):
        table.lookup(65, 0, 1)
    with pytest.raises(ArchsimInputError, match="outside"):
        table.lookup(50, 15, 1)  # 65 tokens


def test_the_budget_is_read_exactly_and_decodes_count_their_tokens():
    """Chunked prefill: P + D at the budget (500 here, not on the regular axis) reads that point, with D blended
    at the budget; speculative verify steps count k + 1 tokens per decode; a corner with no room for a prefill
    token beside its decodes is priced at P = 1."""
    table = IterationTable.for_limits(700, 64, 1000, points_per_octave=2, exact_tokens=(500,))
    table.fill_all(cost)
    d_lo, d_hi = (int(x) for x in table.d_axis[np.searchsorted(table.d_axis, 20) - 1:][:2])
    assert d_lo < 20 < d_hi
    low, high = cost(500 - d_lo, d_lo, 0)[0], cost(500 - d_hi, d_hi, 0)[0]
    seconds, _ = table.lookup(480, 20, 0)
    assert seconds == pytest.approx(low + (high - low) * (20 - d_lo) / (d_hi - d_lo), rel=1e-12)
    spec = IterationTable.for_limits(64, 8, 100, points_per_octave=1, decode_tokens=5)
    spec.fill_all(cost)
    assert spec.lookup(12, 4, 0) == tuple(float(x) for x in cost(12, 4, 0))  # 32 tokens: 12 + 4 decodes of 5
    corner = np.ravel_multi_index((int(np.searchsorted(spec.t_axis, 16)), 4, 0), spec.seconds.shape)
    assert spec.d_axis[4] == 8 and spec.point(corner) == (1, 8, 0)  # 8 decodes of 5 leave no room in 16


def test_lazy_filling_with_resumes_equals_a_prefilled_table():
    rng = np.random.default_rng(3)
    n = 300
    arrival = np.cumsum(rng.exponential(0.01, n))
    prompt, output = rng.integers(1, 900, n), rng.integers(1, 120, n)
    config = LoopConfig(kv_capacity_tokens=30000, max_context=4096, policy="chunked", chunk_tokens=256,
                        max_seqs=32, replicas=2, router="least_tokens", points_per_octave=2)
    lazy = simulate_requests(arrival, prompt, output, cost, config)
    assert lazy.counters["kernel_entries"] > 10  # it really stopped and resumed many times
    full = config.new_table(prompt, output)
    full.fill_all(cost)
    filled = simulate_requests(arrival, prompt, output, cost, config, table=full)
    assert filled.counters["misses"] == 0 and filled.counters["cost_fn_calls"] == 0
    for name in ("first_token_s", "finish_s", "scheduled_s", "token_s", "replica"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(filled, name))
    assert lazy.counters["cost_fn_calls"] < full.fills  # lazily, only the cells the run touched


def test_direct_mode_calls_the_cost_function_for_every_iteration():
    calls = []

    def counting(p, d, c):
        calls.append((p, d, c))
        return cost(p, d, c)

    arrival, prompt, output = np.array([0.0, 0.001]), np.array([37, 5]), np.array([4, 3])
    config = LoopConfig(kv_capacity_tokens=4096, max_context=4096)
    run = simulate_requests(arrival, prompt, output, counting, config, direct=True)
    it = run.iterations
    assert sorted(set(calls)) == sorted(set(zip(it["p"].tolist(), it["d"].tolist(), it["c"].tolist())))
    for p, d, c, seconds in zip(it["p"], it["d"], it["c"], it["seconds"]):
        assert seconds == cost(int(p), int(d), int(c))[0]  # no interpolation


def test_a_shared_table_must_cover_the_configuration():
    table = IterationTable.for_limits(128, 8, 1000)
    config = LoopConfig(kv_capacity_tokens=4096, max_context=4096, max_batched_tokens=512, max_seqs=8)
    with pytest.raises(ArchsimInputError, match="covers"):
        simulate_requests([0.0], [10], [2], cost, config, table=table)


def test_a_prompt_read_at_the_next_token_point_is_still_priced_as_one_prompt():
    """The table reads an iteration at the token-axis point at or above its T; the prompt it holds must not
    become several prompts there (on cs3x4 a 1,000-token prompt read at 1,024 tokens was priced as three of
    341, whose layout took 3.2 s instead of 14 ms, and overloaded the wafer at 2 requests/s)."""
    from archsim.serving.serve import prepare, ready_table
    from archsim.serving.spec import load_serving
    from archsim.workload.model import iteration

    for prompt, policy in ((1000, "chunked"), (1000, "continuous"), (3000, "continuous"), (77, "continuous")):
        flags = {"prompt_tokens": prompt, "output_tokens": 10, "requests": 4, "rate": 1, "scheduler": policy,
                 "max_seqs": 16}
        if policy == "chunked":
            flags["chunk_tokens"] = 1024
        spec = load_serving(None, flags)
        setup = prepare("h100-sxm", "llama3.1-8b", spec)
        ready_table(setup, np.array([prompt]), np.array([10]))
        axis = setup.table.t_axis
        for decodes in range(0, 17):
            t = prompt + decodes
            if t > axis[-1]:
                continue
            point = int(axis[np.searchsorted(axis, t)])
            step = iteration(point - decodes, decodes, 100, prompt_cap=setup.cost_fn.prompt_cap)
            assert (step.prefill_batch if decodes else step.batch) == 1, (prompt, policy, decodes, point)
