"""Memory-bound kernels (Little's law), fused attention, collectives."""
import pytest
from hypothesis import given, settings, strategies as st

from archsim.engine import simulate
from archsim.hw.load import load_system
from archsim.calibration import (COLLECTIVE_BASE_S, KERNEL_LAUNCH_S, NVLINK_PROTOCOL_EFFICIENCY,
                                             STREAM_BYTES_IN_FLIGHT_PER_THREAD)
from archsim.families.gpu.mapper.chip import estimate_cycles, gpu_chip
from archsim.families.gpu.mapper.collectives import choose, net_of, ring
from archsim.families.gpu.mapper.emit import GpuEmitter
from archsim.families.gpu.mapper.kernels import STREAM_THREADS, decode_attention, prefill_attention, streaming_kernel

SYSTEM = load_system("dgx-h100")
H100 = gpu_chip(SYSTEM.chip, "bf16")


def test_one_row_kernel_is_latency_bound_by_littles_law():
    row = 8192 * 2 * 3  # read x and the weights, write y
    kern = streaming_kernel(H100, "n", 0, row, 4 * 8192, rows=1)
    in_flight = STREAM_THREADS * STREAM_BYTES_IN_FLIGHT_PER_THREAD
    round_trips = row / in_flight
    expected = (round_trips + 1) * H100.latency_cycles  # issue limited by bytes in flight, plus the fill
    assert estimate_cycles(kern, H100) == pytest.approx(expected, rel=0.05)
    assert estimate_cycles(kern, H100) > 5 * row / H100.hbm_per_cycle  # far below the HBM rate


def test_large_streaming_kernel_runs_at_the_achievable_hbm_rate():
    size = 512e6
    kern = streaming_kernel(H100, "add", 0, size, size / 6)
    assert estimate_cycles(kern, H100) == pytest.approx(size / H100.hbm_per_cycle + H100.hbm_startup_cycles,
                                                        rel=1e-6)


def test_a_dram_stream_costs_the_fitted_overhead_plus_its_bytes_in_a_graph():
    """launch gap + stream startup = STREAM_KERNEL_OVERHEAD_S: t = a + V / b, as the microbenchmark fit says."""
    from archsim.calibration import STREAM_KERNEL_OVERHEAD_S
    from archsim.pipeline import run
    from archsim.workload.model import Scenario

    size = 512 * 2**20
    got = run("a100-sxm-80gb", f"stream:{size}", Scenario(), options={"host_overhead": False}).latency_s
    peak = float(load_system("a100-sxm-80gb").chip.hbm.bandwidth)
    assert got == pytest.approx(STREAM_KERNEL_OVERHEAD_S + size / (0.86 * peak), rel=2e-3)


def test_activations_that_fit_in_l2_pay_no_dram_stream():
    small = streaming_kernel(H100, "add", 0, 48e3, 8e3, l2_resident=True)
    assert small.hbm_bytes == 0 and small.l2_bytes == 48e3
    assert estimate_cycles(small, H100) < H100.hbm_startup_cycles


def test_split_kv_decode_attention_adds_a_combine_kernel():
    one = decode_attention(H100, "a", 0, 64, 128, 64, 8, 128, 2, 2, ())
    many = decode_attention(H100, "a", 0, 1, 8192, 64, 8, 128, 2, 2, ())
    assert len(one) == 1 and len(many) == 2 and many[1].hbm_bytes == 0


@settings(max_examples=30, deadline=None)
@given(size=st.floats(1e3, 1e9), scale=st.floats(1.0, 4.0))
def test_more_hbm_bandwidth_never_slows_a_streaming_kernel(size, scale):
    from dataclasses import replace

    kern = streaming_kernel(H100, "x", 0, size, size / 4)
    faster = replace(H100, hbm_per_cycle=H100.hbm_per_cycle * scale)
    assert estimate_cycles(kern, faster) <= estimate_cycles(kern, H100) + 1e-6


def test_causal_prefill_attention_has_uneven_ctas_and_respects_tensor_peak():
    kern = prefill_attention(H100, "a", 0, 1, 2048, 2048, 8, 1, 128, True, 2, 2, ())
    assert kern.ctas == 16 * 8 and kern.cta_cycles.max() > 10 * kern.cta_cycles.min()
    flops = 4.0 * 8 * 128 * 2048 * 2049 / 2
    assert estimate_cycles(kern, H100) >= flops / (H100.tensor_per_cycle * H100.sms)
    # 128 CTAs on 132 SMs: one each, so the longest (last query block) sets the time: causal saves nothing
    full = prefill_attention(H100, "a", 0, 1, 2048, 2048, 8, 1, 128, False, 2, 2, ())
    assert estimate_cycles(full, H100) == pytest.approx(estimate_cycles(kern, H100), rel=0.05)
    # with many CTAs per SM the uneven blocks pack, and causal skips about half the work
    many = [prefill_attention(H100, "a", 0, 4, 2048, 2048, 64, 8, 128, c, 2, 2, ()) for c in (True, False)]
    assert estimate_cycles(many[1], H100) > 1.7 * estimate_cycles(many[0], H100)


def test_decode_attention_reads_the_whole_kv_cache():
    ctx = 8192
    kern = decode_attention(H100, "a", 0, 1, ctx, 64, 8, 128, 2, 2, ())[0]
    cache = ctx * 8 * 128 * 2 * 2
    assert kern.hbm_bytes >= cache
    assert estimate_cycles(kern, H100) >= cache / H100.hbm_per_cycle
    assert kern.ctas >= H100.sms  # split-KV fills the GPU


@pytest.mark.parametrize("kind,steps", [("allreduce", 14), ("allgather", 7)])
def test_nccl_ring_ll_time_is_base_plus_steps_of_hop_latency_and_half_rate_bytes(kind, steps):
    size = 16 * 1024
    net = net_of(SYSTEM, 8)
    cost = ring(size, net, "LL", kind)
    em = GpuEmitter(H100, net, cuda_graphs=True, host_overhead=False)
    em.collective("L0.allreduce_attn", 0, cost)
    got = simulate(em.build()).makespan_cycles
    hop = float(SYSTEM.interconnect.hop_latency)
    payload_rate = float(SYSTEM.interconnect.link_bandwidth) * NVLINK_PROTOCOL_EFFICIENCY  # line rate less NCCL's protocol
    expected = KERNEL_LAUNCH_S + COLLECTIVE_BASE_S + steps * hop + size * steps / 8 / (0.5 * payload_rate)
    assert got == pytest.approx(H100.cycles(expected), abs=3)


def test_nccl_picks_ring_ll_for_small_and_nvls_for_large_all_reduces_on_h100():
    net = net_of(SYSTEM, 8)
    assert choose(16e3, net, algorithm="nccl").algorithm == "ring/LL"
    assert choose(8 * 2**30, net, algorithm="nccl").algorithm == "nvls"
    a100 = net_of(load_system("dgx-a100"), 8)
    assert choose(8 * 2**30, a100, algorithm="nccl").algorithm == "ring/Simple"  # no NVLS before Hopper


def test_serving_stacks_use_one_shot_for_decode_sized_all_reduces():
    net = net_of(SYSTEM, 8)
    small, nccl = choose(16e3, net), choose(16e3, net, algorithm="nccl")
    assert small.algorithm == "oneshot" and small.seconds(net) < nccl.seconds(net)
    assert choose(2e6, net).algorithm in ("twoshot", "nvls") and choose(1e9, net).algorithm == "nvls"


@settings(max_examples=25, deadline=None)
@given(size=st.floats(8, 1e10))
def test_the_chosen_all_reduce_is_never_slower_than_any_option(size):
    net = net_of(SYSTEM, 8)
    best = choose(size, net).seconds(net)
    for algorithm in ("nccl", "ring", "nvls", "oneshot", "twoshot"):
        assert best <= choose(size, net, algorithm=algorithm).seconds(net) * (1 + 1e-12)


def test_attention_of_fp8_models_runs_at_the_16_bit_tensor_rate():
    from archsim.families.gpu.mapper.tiled import attention_dtype

    assert attention_dtype("fp8") == "bf16" and attention_dtype("int8") == "bf16"
    assert attention_dtype("bf16") == "bf16" and attention_dtype("fp16") == "fp16"
    fp8, bf16 = gpu_chip(SYSTEM.chip, "fp8"), gpu_chip(SYSTEM.chip, attention_dtype("fp8"))
    args = ("a", 0, 1, 2048, 2048, 32, 32, 128, True, 1, 1, ())
    assert estimate_cycles(prefill_attention(bf16, *args), bf16) > estimate_cycles(prefill_attention(fp8, *args), fp8)
