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
    for p in table.p_axis:
        for d in table.d_axis[::3]:
            for c in table.c_axis[::4]:
                expected = (0.0, 0.0) if p == d == 0 else cost(int(p), int(d), int(c))
                assert table.lookup(int(p), int(d), int(c)) == (float(expected[0]), float(expected[1]))


def test_the_token_axis_has_a_point_at_every_tile_boundary():
    axis = token_axis(8192)
    assert list(axis[:7]) == [0, 1, 2, 4, 8, 16, 32] and axis[-1] == 8192
    assert {64 * k for k in range(1, 129)} <= set(axis.tolist())  # every multiple of 64: GEMM tile rows
    assert list(token_axis(300)[-3:]) == [272, 288, 300] and list(token_axis(1)) == [0, 1]


def test_interpolation_steps_up_in_p_and_is_multilinear_in_d_and_c():
    """The P point at or above P (a GEMM's time steps at tile boundaries), linear in D and C."""
    table = IterationTable.for_limits(64, 16, 1024, points_per_octave=1)

    def linear(p, d, c):
        return 1.0 + 2.0 * p + 3.0 * d + 0.5 * c, 0.25 * p

    table.fill_all(linear)
    for (p, d, c), above in [((3, 5, 700), 4), ((33, 9, 1), 48), ((60, 1, 1000), 64), ((5, 0, 3), 8),
                             ((16, 7, 10), 16)]:
        seconds, joules = table.lookup(p, d, c)
        assert seconds == pytest.approx(linear(above, d, c)[0], rel=1e-12)
        assert joules == pytest.approx(0.25 * above, rel=1e-12)
    with pytest.raises(ArchsimInputError, match="outside"):
        table.lookup(65, 1, 1)


def test_lazy_filling_with_resumes_equals_a_prefilled_table():
    rng = np.random.default_rng(3)
    n = 300
    arrival = np.cumsum(rng.exponential(0.01, n))
    prompt, output = rng.integers(1, 900, n), rng.integers(1, 120, n)
    config = LoopConfig(kv_capacity_tokens=30000, max_context=4096, policy="chunked", chunk_tokens=256,
                        max_seqs=32, replicas=2, router="least_tokens", points_per_octave=2)
    lazy = simulate_requests(arrival, prompt, output, cost, config)
    assert lazy.counters["kernel_entries"] > 10  # it really stopped and resumed many times
    full = IterationTable.for_limits(*config.table_limits(prompt, output), points_per_octave=2)
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
