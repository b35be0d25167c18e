"""GPU GEMM tiling: waves, tails, reuse, split-K, and the estimate `auto` uses
agreeing with what the engine simulates."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from archsim.engine import simulate
from archsim.errors import ArchsimInputError
from archsim.hw.load import load_system
from archsim.calibration import KERNEL_LAUNCH_S
from archsim.families.gpu.mapper.chip import estimate_cycles, gpu_chip, sm_loads
from archsim.families.gpu.mapper.emit import GpuEmitter
from archsim.families.gpu.mapper.gemm import TILES, gemm_kernel, parse_tile, plan_gemm

A100 = gpu_chip(load_system("a100-sxm-80gb").chip, "fp16")
H100 = gpu_chip(load_system("h100-sxm").chip, "bf16")


def simulated_cycles(kernel, chip=A100) -> int:
    em = GpuEmitter(chip, None, cuda_graphs=True, host_overhead=False)
    em.kernel(kernel)
    return simulate(em.build()).makespan_cycles - chip.cycles(KERNEL_LAUNCH_S)


@pytest.mark.parametrize("shape", [(8192, 4096, 4096), (1, 1280, 8192), (64, 12288, 12288), (333, 777, 999)])
def test_engine_time_matches_the_estimate_auto_ranks_by(shape):
    kernel = plan_gemm(A100, "g", 0, *shape, 1, 2, 2)
    assert simulated_cycles(kernel) == pytest.approx(estimate_cycles(kernel, A100), abs=3)


def test_wave_quantization_one_more_tile_costs_a_whole_wave():
    tile = (128, 128, 32)
    full = gemm_kernel(A100, "g", 0, 128 * 12, 128 * 18, 4096, 1, 2, 2, tile, 1)  # 216 CTAs = 108 SMs x 2
    assert full.ctas == 216 and full.occupancy == 2
    extra = gemm_kernel(A100, "g", 0, 128 * 12 + 1, 128 * 18, 4096, 1, 2, 2, tile, 1)  # one more row of tiles
    t_full, t_extra = simulated_cycles(full), simulated_cycles(extra)
    one_tile = full.cta_cycles[0]
    assert t_extra - t_full >= 0.9 * one_tile  # the tail wave: at least one more tile time on some SM


def test_small_problem_leaves_the_sms_idle():
    one = gemm_kernel(A100, "g", 0, 128, 128, 8192, 1, 2, 2, (128, 128, 32), 1)
    many = gemm_kernel(A100, "g", 0, 128 * 12, 128 * 18, 8192, 1, 2, 2, (128, 128, 32), 1)
    # 216x the work in about twice the time of one CTA (two per SM share its tensor cores)
    assert simulated_cycles(many) < 2.5 * simulated_cycles(one)


def test_round_robin_spreads_uniform_ctas():
    kernel = gemm_kernel(A100, "g", 0, 128 * 10, 128 * 25, 1024, 1, 2, 2, (128, 128, 32), 1)  # 250 CTAs
    count, _, _ = sm_loads(kernel, A100.sms)
    assert count.sum() == 250 and count.max() - count.min() <= 1 and len(count) == 108


def test_operands_hit_hbm_once_when_they_fit_in_l2():
    k = plan_gemm(A100, "g", 0, 1024, 1024, 1024, 1, 2, 2)
    assert k.hbm_bytes == pytest.approx(3 * 1024 * 1024 * 2, rel=1e-9)


def test_large_operands_are_refetched_per_wave_but_bounded():
    m = n = k = 16384
    kern = gemm_kernel(A100, "g", 0, m, n, k, 1, 2, 2, (128, 128, 32), 1)
    unique = (m * k + k * n + m * n) * 2
    streamed = (m // 128) * (n // 128) * 256 * k * 2 + m * n * 2
    assert unique < kern.hbm_bytes < streamed
    assert kern.l2_bytes == pytest.approx(streamed)


def test_cluster_multicast_cuts_l2_traffic_on_hopper():
    tile = (128, 128, 32)
    kern = gemm_kernel(H100, "g", 0, 4096, 4096, 4096, 1, 2, 2, tile, 1)
    no_share = 32 * 32 * 256 * 4096 * 2 + 4096 * 4096 * 2
    assert H100.multicast == 2 and kern.l2_bytes == pytest.approx(no_share - 32 * 32 * 64 * 4096 * 2)


def test_skinny_gemv_splits_k_to_fill_the_gpu():
    kern = plan_gemm(A100, "g", 0, 1, 1280, 8192, 1, 2, 2)
    assert "split-k" in kern.desc and kern.ctas > 10
    unsplit = min(estimate_cycles(gemm_kernel(A100, "g", 0, 1, 1280, 8192, 1, 2, 2, t, 1), A100) for t in TILES)
    assert estimate_cycles(kern, A100) < unsplit


def test_memory_bound_gemv_streams_near_the_achievable_hbm_rate():
    kern = plan_gemm(A100, "g", 0, 1, 12288, 4096, 1, 2, 2)
    bytes_only = 12288 * 4096 * 2 / A100.hbm_per_cycle
    assert bytes_only < estimate_cycles(kern, A100) < 1.1 * bytes_only


def test_auto_is_the_best_candidate_and_a_given_tile_is_kept():
    auto = plan_gemm(A100, "g", 0, 4096, 4096, 4096, 1, 2, 2)
    for tile in TILES:
        assert estimate_cycles(auto, A100) <= estimate_cycles(plan_gemm(A100, "g", 0, 4096, 4096, 4096, 1, 2, 2,
                                                                        tile), A100) + 1e-6
    assert plan_gemm(A100, "g", 0, 4096, 4096, 4096, 1, 2, 2, (64, 64, 32)).desc.startswith("tile 64x64x32")


@pytest.mark.parametrize("text,expected", [("auto", None), ("128x256x32", (128, 256, 32))])
def test_parse_tile(text, expected):
    assert parse_tile(text) == expected


@pytest.mark.parametrize("text", ["128x128", "0x128x32", "100x128x32", "big"])
def test_parse_tile_rejects_bad_shapes(text):
    with pytest.raises(ArchsimInputError, match="tile"):
        parse_tile(text)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 4096), n=st.integers(8, 4096), k=st.integers(16, 4096), grow=st.integers(1, 512))
def test_more_rows_never_make_a_fixed_tile_faster(m, n, k, grow):
    tile = (128, 128, 32)
    a = gemm_kernel(A100, "g", 0, m, n, k, 1, 2, 2, tile, 1)
    b = gemm_kernel(A100, "g", 0, m + grow, n, k, 1, 2, 2, tile, 1)
    assert estimate_cycles(b, A100) >= estimate_cycles(a, A100) - 1e-6


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 8192), n=st.integers(8, 8192), k=st.integers(16, 8192))
def test_never_faster_than_the_roofline(m, n, k):
    kern = plan_gemm(A100, "g", 0, m, n, k, 1, 2, 2)
    peak_flops_per_cycle = 312e12 / A100.clock_hz
    peak_bytes_per_cycle = 2.039e12 / A100.clock_hz
    bound = max(2.0 * m * n * k / peak_flops_per_cycle, (m * k + k * n + m * n) * 2 / peak_bytes_per_cycle)
    assert estimate_cycles(kern, A100) >= bound
    assert kern.hbm_bytes >= (m * k + k * n + m * n) * 2 * (1 - 1e-12)
    assert math.isfinite(kern.l2_bytes) and np.all(kern.cta_cycles > 0)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 9000), n=st.integers(8, 20000), k=st.integers(16, 8192), tile=st.sampled_from(TILES),
       split=st.sampled_from([1, 2, 3, 8]), dtype=st.sampled_from([(2, 2), (1, 2), (0.5, 2)]))
def test_the_uniform_estimate_equals_the_per_sm_arrays_value_for_value(m, n, k, tile, split, dtype):
    """estimate_cycles reads a kernel of identical CTAs from its two per-SM CTA counts; it must give exactly
    what the arrays over every SM (sm_parts, what the emitter builds tasks from) give: the planner's choice
    and every serving cost rest on it."""
    from archsim.families.gpu.mapper.chip import hbm_stream_cycles, sm_parts

    kernel = gemm_kernel(H100, "g", 0, m, n, k, 1, dtype[0], dtype[1], tile, split, b_a=2)
    cyc, issue, fills = sm_parts(kernel, H100)
    busy = float((fills + np.maximum(cyc, issue)).max())
    expected = max(busy, hbm_stream_cycles(kernel, H100), kernel.l2_bytes / H100.l2_per_cycle)
    assert estimate_cycles(kernel, H100) == expected


def test_the_tile_choice_is_memoized_per_shape_and_the_kernel_is_the_operators_own():
    from archsim.families.gpu.mapper.gemm import choose_gemm

    first, tile, split = choose_gemm(H100, "L0.qkv", 0, 300, 6144, 4096, 1, 2, 2)
    again, tile2, split2 = choose_gemm(H100, "L0.o_proj", 3, 300, 6144, 4096, 1, 2, 2)
    assert (tile, split) == (tile2, split2) and first.desc == again.desc
    assert (first.label, first.layer, again.label, again.layer) == ("L0.qkv", 0, "L0.o_proj", 3)
