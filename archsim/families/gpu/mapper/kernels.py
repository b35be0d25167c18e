"""Memory-bound kernels and attention, as grids of CTAs (see gpu_chip.Kernel).

Streaming kernels (norms, elementwise, RoPE, softmax, embedding gather) move
their bytes once through HBM. Their speed is whatever is smaller: the HBM
stream, or what their resident warps can keep in flight per SM over the
memory latency (Little's law), so a one-row RMSNorm in decode is latency
bound while a large residual add streams at the HBM rate.

Attention is one fused kernel per layer:
- prefill: FlashAttention-2 style, one CTA per (sequence, head, 128-query
  block), looping over 128-key blocks up to the causal diagonal; scores and
  probabilities stay on chip. Matmuls run on the tensor cores, the online
  softmax (exp on the special-function units, the rest on FP32 cores)
  between them, not overlapped (FA2 does not overlap them);
- decode: split-KV (FlashDecoding) over the whole KV cache, on CUDA cores;
  with more than one split, a second kernel combines the per-split partials
  (FlashDecoding's reduction kernel; FlashAttention's splitkv combine kernel).

A streaming kernel that only touches activations small enough to stay in L2
(`l2_resident`) reads them from L2 and pays no DRAM stream.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.calibration import STREAM_BYTES_IN_FLIGHT_PER_THREAD
from archsim.errors import ArchsimInputError
from archsim.limits import MAX_KERNEL_CTAS
from archsim.families.gpu.mapper.chip import GpuChip, Kernel

STREAM_THREADS = 256  # threads per CTA of a streaming kernel
STREAM_BYTES_PER_CTA = 16 * 1024  # output bytes per CTA of an elementwise kernel (4 x 16 B per thread)
ATTN_BLOCK = 128  # query and key block of the fused prefill attention
DECODE_BLOCK = 64  # keys per block of split-KV decode attention (one K and one V block in flight)
SOFTMAX_FP32_FLOPS = 5  # max, subtract, scale, sum, rescale per score (besides one exp)
# Sampling after the LM head: a softmax over the fp32 logits and the pass that draws (or takes the argmax of)
# the token. Every serving stack runs at least these two (vLLM's sampler: logits in fp32, softmax, then
# top-k/top-p sampling; FlashInfer's fused top-k/top-p sampling kernel still follows a softmax); eager stacks
# run more (temperature, top-k, top-p as separate kernels). A modelling choice, not a calibration.
SAMPLING_KERNELS = 2


def _stream_occupancy(chip: GpuChip) -> int:
    return int(max(1, min(chip.max_blocks, chip.max_warps // (STREAM_THREADS // 32))))


def streaming_kernel(chip: GpuChip, label: str, layer: int, bytes_moved: float, flops: float,
                     rows: int = 0, exps: float = 0.0, l2_resident: bool = False) -> Kernel:
    """A kernel that reads and writes `bytes_moved` once. `rows` > 0: one CTA
    per row (a reduction such as a norm or softmax); else CTAs of
    STREAM_BYTES_PER_CTA. `exps` special-function evaluations in total.
    `l2_resident`: its data is in L2 (no DRAM traffic)."""
    ctas = rows if rows > 0 else max(1, math.ceil(bytes_moved / 2 / STREAM_BYTES_PER_CTA))
    cycles = flops / ctas / chip.fp32_per_cycle + exps / ctas / chip.sfu_per_cycle
    inflight = STREAM_THREADS * STREAM_BYTES_IN_FLIGHT_PER_THREAD
    return Kernel(label, layer, int(ctas), np.array([cycles]), np.array([bytes_moved / ctas]), inflight,
                  _stream_occupancy(chip), hbm_bytes=0.0 if l2_resident else bytes_moved, l2_bytes=bytes_moved,
                  desc=f"streaming, {ctas} CTAs of {STREAM_THREADS} threads" + (", from L2" if l2_resident else ""))


def prefill_attention(chip: GpuChip, label: str, layer: int, batch: int, q_len: int, kv_len: int, heads: int,
                      kv_heads: int, head_dim: int, causal: bool, b_act: float, b_kv: float,
                      covers: tuple[str, ...]) -> Kernel:
    """FlashAttention-2 forward for `heads` query heads sharing `kv_heads` K/V heads."""
    q_blocks = math.ceil(q_len / ATTN_BLOCK)
    if batch * heads * q_blocks > MAX_KERNEL_CTAS:  # each block is scheduled one by one (gpu_chip.sm_loads)
        raise ArchsimInputError(
            f"prefill attention of batch {batch} x {heads} heads x {q_blocks} query blocks of {ATTN_BLOCK} is "
            f"{batch * heads * q_blocks:,} thread blocks; the GPU model schedules at most {MAX_KERNEL_CTAS:,} "
            "per kernel (archsim's limit): lower the batch or the prompt length")
    kv_blocks_total = math.ceil(kv_len / ATTN_BLOCK)
    j = np.arange(q_blocks)
    # key blocks each query block visits: the cached prefix's (kv_len - q_len keys: a later chunk of a chunked
    # prefill sees them all), then up to the diagonal (half of the diagonal block) if causal
    prefix_blocks = (kv_len - q_len) / ATTN_BLOCK
    visits = (np.minimum(prefix_blocks + j + 0.5, kv_blocks_total) if causal
              else np.full(q_blocks, float(kv_blocks_total)))
    pairs = visits * ATTN_BLOCK * ATTN_BLOCK  # query-key pairs per CTA
    tensor = 4.0 * pairs * head_dim / chip.tensor_per_cycle  # QK^T and PV
    softmax = pairs * (SOFTMAX_FP32_FLOPS / chip.fp32_per_cycle + 1.0 / chip.sfu_per_cycle)
    per_block = np.tile(tensor + softmax, batch * heads)
    loads = (ATTN_BLOCK * head_dim * b_act * 2  # Q in, O out
             + np.ceil(visits) * ATTN_BLOCK * head_dim * 2 * b_kv)  # K and V blocks (from L2)
    cta_bytes = np.tile(loads, batch * heads)
    q_o = batch * q_len * heads * head_dim * b_act * 2
    k_v = batch * kv_len * kv_heads * head_dim * 2 * b_kv
    stage = ATTN_BLOCK * head_dim * 2 * b_kv  # one K and one V block in flight
    occupancy = int(max(1, min(2, chip.smem_per_sm // (3 * stage))))
    return Kernel(label, layer, per_block.shape[0], per_block, cta_bytes, stage, occupancy,
                  hbm_bytes=q_o + 2 * k_v,  # K/V read once from HBM and written once to the cache
                  l2_bytes=float(cta_bytes.sum()),
                  desc=f"fused FlashAttention-2, {per_block.shape[0]} CTAs ({q_blocks} query blocks"
                       f" x {batch * heads} heads), causal={causal}",
                  covers=covers)


def decode_attention(chip: GpuChip, label: str, layer: int, batch: int, kv_len: int, heads: int,
                     kv_heads: int, head_dim: int, b_act: float, b_kv: float,
                     covers: tuple[str, ...], q_len: int = 1, latent: bool = False) -> list[Kernel]:
    """Split-KV decode attention: `q_len` queries per sequence (1; k + 1 in a speculative verify step,
    the query heads of a K/V head and its q_len positions sharing each K/V block) against `kv_len` keys;
    with more than one split, then the kernel that combines the fp32 partials (read from L2) into the
    outputs. `latent`: MLA's absorbed form (FlashMLA): one cached row per key that serves as K and V (read
    once), and every query head of the sequence against it on the tensor cores (QK^T and PV at the
    attention dtype's rate, the softmax on the CUDA cores); the PV product is counted at the row's full
    width (kv_lora_rank + rope), 1/9 more than the kv_lora_rank it multiplies for DeepSeek-V3."""
    group = heads // kv_heads * q_len
    groups = batch * kv_heads
    splits = max(1, min(math.ceil(kv_len / DECODE_BLOCK), math.ceil(2 * chip.sms / groups)))
    keys = math.ceil(kv_len / splits)
    ctas = groups * splits
    planes = 1 if latent else 2  # K and V, or the one latent row
    kv_bytes = keys * head_dim * planes * b_kv
    partial = group * (head_dim + 2) * 4 if splits > 1 else 0  # fp32 partial output and log-sum-exp
    if latent:
        cycles = (group * keys * 4 * head_dim / chip.tensor_per_cycle
                  + group * keys * (SOFTMAX_FP32_FLOPS / chip.fp32_per_cycle + 1.0 / chip.sfu_per_cycle))
    else:
        flops = group * keys * (4 * head_dim + SOFTMAX_FP32_FLOPS)
        cycles = flops / chip.fp32_per_cycle + group * keys / chip.sfu_per_cycle
    inflight = DECODE_BLOCK * head_dim * planes * b_kv
    occupancy = int(max(1, min(chip.max_blocks, chip.smem_per_sm // (2 * inflight))))
    cache = batch * kv_len * kv_heads * head_dim * planes * b_kv
    new_rows = batch * q_len * kv_heads * head_dim * planes * b_kv
    q_o = batch * q_len * heads * head_dim * b_act * 2
    hbm = cache + new_rows + q_o
    main = Kernel(label, layer, ctas, np.array([cycles]), np.array([kv_bytes + partial]), inflight, occupancy,
                  hbm_bytes=hbm, l2_bytes=hbm + ctas * partial,
                  desc=f"{'MLA latent' if latent else 'split-KV'} decode attention, {ctas} CTAs ({splits} splits of "
                       f"{keys} keys"
                       + (f", {q_len} queries per sequence)" if q_len > 1 else ")"),
                  covers=covers)
    if splits == 1:
        return [main]
    combine = streaming_kernel(chip, label, layer, ctas * partial + batch * q_len * heads * head_dim * b_act,
                               ctas * group * (head_dim + 2) * 3, rows=groups * (group if latent else 1),
                               exps=ctas * group, l2_resident=True)  # MLA: one row per query head (FlashMLA's combine)
    combine.desc = f"combine of {splits} split partials, {groups} CTAs, from L2"
    return [main, combine]


def sampling_kernels(chip: GpuChip, label: str, layer: int, batch: int, vocab: int) -> list[Kernel]:
    """The SAMPLING_KERNELS passes over `batch` rows of fp32 logits (from L2 when they fit)."""
    logits = batch * vocab * 4.0
    return [streaming_kernel(chip, label, layer, logits, 5.0 * batch * vocab, exps=batch * vocab if i == 0 else 0.0,
                             l2_resident=logits <= chip.l2_resident_bytes)
            for i in range(SAMPLING_KERNELS)]
