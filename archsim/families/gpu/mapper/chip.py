"""One GPU as the GPU mapper sees it: per-SM rates in cycles of the chip
clock, and `Kernel`, the description of one launched grid that the emitter
turns into engine tasks.

A kernel is a set of thread blocks (CTAs). Each CTA has a compute time (SM
cycles: tensor-core, FP32 and special-function work at the per-SM rates) and
a number of bytes it moves between L2 and the SM; the kernel as a whole moves
`hbm_bytes` through HBM and `l2_bytes` through L2. How the CTAs are spread
over the SMs, and therefore wave quantization and tails, is the emitter's job.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.calibration import (HBM_FRACTION, KERNEL_LAUNCH_S, L2_RESIDENT_FRACTION, STREAM_KERNEL_OVERHEAD_S,
                                 TENSOR_EFFICIENCY)


@dataclass(frozen=True)
class GpuChip:
    name: str
    clock_hz: float
    sms: int
    tensor_per_cycle: float  # FLOP per cycle per SM at the run's dtype, sustained
    fp32_per_cycle: float  # CUDA-core FLOP per cycle per SM
    sfu_per_cycle: float  # special-function results (exp2) per cycle per SM
    hbm_per_cycle: float  # achievable HBM bytes per cycle (whole chip)
    hbm_startup_cycles: int  # fixed cycles of a DRAM stream after its launch (ramp-up, first byte, drain)
    l2_per_cycle: float  # L2 bytes per cycle (whole chip)
    latency_cycles: int  # DRAM load-to-use latency
    l2_latency_cycles: int  # L2-hit load-to-use latency
    l2_capacity: float
    hbm_capacity: float
    smem_per_sm: int
    registers_per_sm: int
    max_warps: int
    max_blocks: int
    multicast: int  # CTAs sharing one B-tile fetch (thread-block cluster with TMA multicast)
    matmul_ceiling_per_cycle: float = math.inf  # whole-chip GEMM FLOP per nominal cycle no shape exceeds (measured)

    def cycles(self, seconds: float) -> int:
        return int(round(seconds * self.clock_hz))

    @property
    def l2_resident_bytes(self) -> float:
        """Activation bytes that stay in L2 between kernels (L2_RESIDENT_FRACTION of it); beyond, HBM."""
        return L2_RESIDENT_FRACTION * self.l2_capacity


def gpu_chip(spec, dtype: str) -> GpuChip:
    """Per-SM rates of the chip `spec` (a validated gpu SpecNode) for GEMMs at rate key `dtype`
    (schema.math_dtype: a stored dtype the chip has no tensor cores for runs at the 16-bit rate)."""
    from archsim.families.gpu.schema import RATE_KEY, tensor_rate

    clock = float(spec.clock)
    loaded = float(spec.clock_under_load or spec.clock)
    scale = loaded / clock  # the tensor pipes run at the sustained clock; cycles count at the nominal one
    peak = tensor_rate(spec, RATE_KEY.get(dtype, dtype))
    if peak is None:
        raise ArchsimInputError(f"{spec.name} has no {dtype} tensor-core rate in its spec; "
                                f"use --dtype with one it lists")
    sms = int(spec.sm.count)
    return GpuChip(
        name=spec.name, clock_hz=clock, sms=sms,
        tensor_per_cycle=float(peak) / sms / clock * scale * TENSOR_EFFICIENCY,
        fp32_per_cycle=float(spec.compute.fp32) / sms / clock * scale,
        sfu_per_cycle=float(spec.sm.sfu_rate) * scale,
        hbm_per_cycle=float(spec.hbm.stream_fraction or HBM_FRACTION) * float(spec.hbm.bandwidth) / clock,
        hbm_startup_cycles=max(1, int(round((STREAM_KERNEL_OVERHEAD_S - KERNEL_LAUNCH_S) * clock))),
        l2_per_cycle=float(spec.l2.bandwidth) / clock,
        latency_cycles=max(1, int(round(float(spec.hbm.latency) * clock))),
        l2_latency_cycles=max(1, int(round(float(spec.l2.latency or spec.hbm.latency) * clock))),
        l2_capacity=float(spec.l2.capacity), hbm_capacity=float(spec.hbm.capacity),
        smem_per_sm=int(spec.sm.shared_memory), registers_per_sm=int(spec.sm.registers), max_warps=int(spec.sm.max_warps),
        max_blocks=int(spec.sm.max_blocks), multicast=int(spec.sm.cluster_multicast),
        matmul_ceiling_per_cycle=_ceiling(spec, RATE_KEY.get(dtype, dtype)) / clock)


def _ceiling(spec, key: str) -> float:
    """The chip file's measured GEMM ceiling (matmul_ceiling) for rate key `key`, FLOP/s; inf when not measured."""
    value = getattr(spec.matmul_ceiling, key, None)
    return float(value) if value is not None else math.inf


@dataclass
class Kernel:
    """One grid launch. Arrays hold one entry per CTA (or one entry for all
    CTAs when `uniform`, with `ctas` saying how many)."""

    label: str  # the Op name it implements ("L0.qkv"); fused kernels use their first op
    layer: int
    ctas: int
    cta_cycles: np.ndarray  # SM cycles of compute per CTA
    cta_bytes: np.ndarray  # bytes each CTA moves between L2 and the SM
    inflight_per_cta: float  # bytes one CTA keeps in flight (Little's law)
    occupancy: int  # CTAs resident on one SM at once
    hbm_bytes: float
    l2_bytes: float
    desc: str = ""
    covers: tuple[str, ...] = field(default_factory=tuple)  # other ops fused into it

    @property
    def uniform(self) -> bool:
        return self.cta_cycles.shape[0] == 1

    @property
    def flops_cycles(self) -> float:
        return float(self.cta_cycles.sum() * (self.ctas if self.uniform else 1))


def sm_loads(kernel: Kernel, sms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CTAs, compute cycles and bytes per SM, as the block scheduler hands them out.

    Uniform CTAs: round robin (what greedy dispatch does when every CTA takes
    as long). Otherwise largest first to the least loaded SM (the order
    FlashAttention launches its causal blocks in)."""
    if kernel.uniform:
        active = min(kernel.ctas, sms)
        base, extra = divmod(kernel.ctas, active)
        count = np.full(active, base, dtype=np.int64)
        count[:extra] += 1
        return count, count * float(kernel.cta_cycles[0]), count * float(kernel.cta_bytes[0])
    memo = kernel.__dict__.setdefault("_sm_loads", {})  # the estimate, the emitter and the report each ask
    if sms not in memo:
        memo[sms] = _greedy_loads(kernel, sms)
    return memo[sms]


def _greedy_loads(kernel: Kernel, sms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import heapq

    order = np.argsort(-kernel.cta_cycles, kind="stable")
    active = min(kernel.ctas, sms)
    count = np.zeros(active, dtype=np.int64)
    cyc = np.zeros(active)
    byt = np.zeros(active)
    heap = [(0.0, i) for i in range(active)]
    for c in order:
        load, i = heapq.heappop(heap)
        count[i] += 1
        cyc[i] += kernel.cta_cycles[c]
        byt[i] += kernel.cta_bytes[c]
        heapq.heappush(heap, (load + float(kernel.cta_cycles[c]), i))
    return count, cyc, byt


def sm_parts(kernel: Kernel, chip: GpuChip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per active SM: compute cycles, load-issue cycles and pipeline-fill cycles.

    An SM holds `occupancy` CTAs at once; they share its pipes, so compute
    adds up, and their bytes in flight add up: by Little's law the SM moves
    at most (resident CTAs x bytes in flight) / latency bytes per cycle, and
    never more than its share of the L2 bandwidth (its crossbar port). Each
    round of resident CTAs pays one memory latency to fill its pipeline
    before compute and loads overlap, so an SM is busy fill + max(compute, issue).
    The latency is DRAM's, or L2's for a kernel whose data is all in L2."""
    count, cyc, byt = sm_loads(kernel, chip.sms)
    latency = chip.latency_cycles if kernel.hbm_bytes > 0 else chip.l2_latency_cycles
    resident = np.minimum(count, kernel.occupancy)
    little = resident * max(kernel.inflight_per_cta, 1.0) / latency
    issue = byt / np.minimum(little, chip.l2_per_cycle / chip.sms)
    fills = np.ceil(count / kernel.occupancy) * latency
    return cyc, issue, fills


def hbm_stream_cycles(kernel: Kernel, chip: GpuChip) -> float:
    """The kernel's DRAM stream: its startup (STREAM_KERNEL_OVERHEAD_S less the launch gap) and its bytes
    at the achievable rate; none for a kernel that finds all its data in L2."""
    return kernel.hbm_bytes / chip.hbm_per_cycle + chip.hbm_startup_cycles if kernel.hbm_bytes > 0 else 0.0


def sm_share_idle(kernel: Kernel, chip: GpuChip) -> float:
    """The fraction of the chip's SM share left idle while the kernel's busiest SM works, when that SM's
    time is set by its share of the chip (its compute rate, or its L2 port: chip totals / sm.count) and
    it is busier than the average SM (fewer thread blocks than SMs, or a partial last wave); else 0.
    Such a kernel gets slower when the same totals are split over more SMs."""
    cyc, issue, fills = sm_parts(kernel, chip)
    if cyc.size == 0:
        return 0.0
    count, _, byt = sm_loads(kernel, chip.sms)
    little = np.minimum(count, kernel.occupancy) * max(kernel.inflight_per_cta, 1.0) / chip.latency_cycles
    busy = fills + np.maximum(cyc, issue)
    slowest = int(np.argmax(busy))
    streams = max(hbm_stream_cycles(kernel, chip), kernel.l2_bytes / chip.l2_per_cycle)
    if busy[slowest] <= streams:
        return 0.0
    if cyc[slowest] >= issue[slowest]:  # compute share
        load, total = cyc[slowest], cyc.sum()
    elif little[slowest] > chip.l2_per_cycle / chip.sms:  # L2-port share
        load, total = byt[slowest], byt.sum()
    else:  # bytes in flight (Little's law): an SM's own limit, not a share
        return 0.0
    return max(0.0, 1.0 - float(total) / (float(load) * chip.sms)) if load > 0 else 0.0


def estimate_cycles(kernel: Kernel, chip: GpuChip) -> float:
    """The kernel's duration as the engine will find it (no launch gap): the
    slowest SM, the HBM stream, or the L2 stream, whichever is longest."""
    if kernel.uniform:
        slowest = _uniform_busiest(kernel, chip)
    else:
        cyc, issue, fills = sm_parts(kernel, chip)
        busy = fills + np.maximum(cyc, issue)
        slowest = float(busy.max()) if busy.size else 0.0
    return max(slowest, hbm_stream_cycles(kernel, chip), kernel.l2_bytes / chip.l2_per_cycle)


def _uniform_busiest(kernel: Kernel, chip: GpuChip) -> float:
    """The busiest SM's fill + max(compute, issue) of a kernel of identical CTAs: sm_parts' arithmetic, value for
    value, on the two CTA counts round robin gives an SM (base and base + 1) instead of an array of every SM
    (the GEMM planner times dozens of candidate tiles per GEMM)."""
    if kernel.ctas <= 0:
        return 0.0
    active = min(kernel.ctas, chip.sms)
    base, extra = divmod(kernel.ctas, active)
    latency = chip.latency_cycles if kernel.hbm_bytes > 0 else chip.l2_latency_cycles
    port = chip.l2_per_cycle / chip.sms
    per_cycles, per_bytes = float(kernel.cta_cycles[0]), float(kernel.cta_bytes[0])
    busiest = 0.0
    for count in ((base, base + 1) if extra else (base,)):
        little = min(count, kernel.occupancy) * max(kernel.inflight_per_cta, 1.0) / latency
        issue = count * per_bytes / min(little, port)
        fills = float(math.ceil(count / kernel.occupancy) * latency)
        busiest = max(busiest, fills + max(count * per_cycles, issue))
    return busiest
