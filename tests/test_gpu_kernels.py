"""Memory-bound kernels (Little's law), fused attention, collectives."""
import pytest
from hypothesis import given, settings, strategies as st

from archsim.engine import simulate
from archsim.hw.load import load_system
from archsim.calibration import (COLLECTIVE_BASE_S, KERNEL_LAUNCH_S, NVLINK_PROTOCOL_EFFICIENCY,
                                             STREAM_BYTES_IN_FLIGHT_PER_THREAD)
from archsim.families.gpu.mapper.chip import estimate_cycles, gpu_chip
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
    assert estimate_cycles(kern, H100) == pytest.approx(size / H100.hbm_per_cycle + H100.latency_cycles, rel=1e-6)


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
    kern = decode_attention(H100, "a", 0, 1, ctx, 64, 8, 128, 2, 2, ())
    cache = ctx * 8 * 128 * 2 * 2
    assert kern.hbm_bytes >= cache
    assert estimate_cycles(kern, H100) >= cache / H100.hbm_per_cycle
    assert kern.ctas >= H100.sms  # split-KV fills the GPU


@pytest.mark.parametrize("algorithm,steps", [("allreduce", 14), ("allgather", 7), ("p2p", 1)])
def test_collective_time_is_base_plus_steps_of_hop_latency_and_chunk(algorithm, steps):
    size = 16 * 1024 * 1024
    em = GpuEmitter(H100, SYSTEM.interconnect, cuda_graphs=True, host_overhead=False)
    em.collective("L0.allreduce_attn", 0, algorithm, size, 8)
    got = simulate(em.build()).makespan_cycles
    chunk = size if algorithm == "p2p" else size / 8
    hop = H100.cycles(float(SYSTEM.interconnect.hop_latency))
    payload_rate = float(SYSTEM.interconnect.link_bandwidth) * NVLINK_PROTOCOL_EFFICIENCY  # line rate less NCCL's protocol
    per_step = hop + chunk / (payload_rate / H100.clock_hz)
    expected = H100.cycles(KERNEL_LAUNCH_S) + H100.cycles(COLLECTIVE_BASE_S) + steps * per_step
    assert got == pytest.approx(expected, abs=steps + 1)


def test_attention_of_fp8_models_runs_at_the_16_bit_tensor_rate():
    from archsim.families.gpu.mapper.tiled import attention_dtype

    assert attention_dtype("fp8") == "bf16" and attention_dtype("int8") == "bf16"
    assert attention_dtype("bf16") == "bf16" and attention_dtype("fp16") == "fp16"
    fp8, bf16 = gpu_chip(SYSTEM.chip, "fp8"), gpu_chip(SYSTEM.chip, attention_dtype("fp8"))
    args = ("a", 0, 1, 2048, 2048, 32, 32, 128, True, 1, 1, ())
    assert estimate_cycles(prefill_attention(bf16, *args), bf16) > estimate_cycles(prefill_attention(fp8, *args), fp8)
