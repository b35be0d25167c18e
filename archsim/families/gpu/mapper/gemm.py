"""GEMM and GEMV kernels as thread-block tiles (the CUTLASS way).

C[m x n] = A[m x k] B[k x n], `count` independent instances. A CTA computes
one BM x BN output tile over its share of K (split-K splits K over `split`
CTAs that then reduce their fp32 partials). Its compute is the padded tile's
FLOPs at the SM's tensor-core rate; its operand stream is (BM + BN) x K
elements through L2, or (BM + BN / c) x K where clusters of c CTAs along M
share their B tile by TMA multicast (Hopper and later, `sm.cluster_multicast`). HBM sees each operand once when A and B fit in L2;
otherwise the CTAs resident at one time (one wave, rasterized as a near-square
block of tiles, as CUTLASS's threadblock swizzle does) share the A rows and
B columns they touch, and the next wave fetches its own panels again.

`plan_gemm` with tile "auto" evaluates every candidate (tile x split) with
the same timing the engine will apply (gpu_chip.estimate_cycles) and keeps
the fastest; nothing is tuned per shape.

Weight-only quantization (int4, or fp8/fp4 on a chip without tensor cores for
them): B is stored narrow (`b_in`), A and the math stay 16-bit (`b_a`), and each
CTA dequantizes its B tile on the CUDA cores (DEQUANT_OPS_PER_WEIGHT per weight,
side by side with the tensor cores, as Marlin's pipeline does).
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import replace

import numpy as np

from archsim.calibration import DEQUANT_OPS_PER_WEIGHT
from archsim.errors import ArchsimInputError
from archsim.families.gpu.mapper.chip import GpuChip, Kernel, estimate_cycles, sm_parts

# Threadblock shapes (BM, BN, BK) of the kind CUTLASS instantiates for tensor-op
# GEMMs on SM80/SM90 (cutlass/python/cutlass_library/generator.py lists these
# for 16-bit inputs), plus skinny 16/32-row tiles for small M (GEMV-like).
TILES = ((256, 128, 32), (128, 256, 32), (128, 128, 32), (256, 64, 32), (64, 256, 32), (128, 64, 32),
         (64, 128, 32), (64, 64, 32), (256, 128, 64), (128, 256, 64), (128, 128, 64), (128, 64, 64),
         (64, 128, 64), (64, 64, 64), (32, 128, 64), (16, 128, 64), (16, 256, 64))
SPLITS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
PARTIAL_BYTES = 4  # split-K partial sums are fp32
MAX_STAGES = 10
_TILE_RE = re.compile(r"^(\d+)x(\d+)x(\d+)$")


def parse_tile(text: str) -> tuple[int, int, int] | None:
    """'auto' -> None; '128x128x32' -> (128, 128, 32)."""
    if text == "auto":
        return None
    m = _TILE_RE.match(text)
    if not m or min(int(g) for g in m.groups()) < 1:
        raise ArchsimInputError(f"mapper option 'tile' must be 'auto' or BMxBNxBK like 128x128x32, got {text!r}")
    tile = tuple(int(g) for g in m.groups())
    if tile[0] % 16 or tile[1] % 8 or tile[2] % 16:
        raise ArchsimInputError(f"tile {text}: BM must be a multiple of 16, BN of 8 and BK of 16 "
                                "(the tensor-core mma shape m16n8k16)")
    return tile


def tile_resources(chip: GpuChip, bm: int, bn: int, bk: int, b_in: float,
                   b_a: float | None = None) -> tuple[int, int, float]:
    """(warps per CTA, CTAs per SM, bytes in flight per CTA) of a tile.

    4 warps up to 128x128, 8 beyond (CUTLASS's 64x64 warp tiles); as many
    pipeline stages as fit in half the shared memory (so two CTAs can share an
    SM), 2 to 10; all stages but the one being consumed are in flight. A CTA
    holds its fp32 accumulators in registers and about as much again for
    operand fragments and addresses, which with shared memory, warps and the
    block limit bounds how many CTAs share an SM."""
    warps = 8 if bm * bn > 128 * 128 else 4
    stage = (bm * (b_in if b_a is None else b_a) + bn * b_in) * bk
    stages = int(max(2, min(MAX_STAGES, (chip.smem_per_sm // 2) // stage)))
    registers = 2 * bm * bn * PARTIAL_BYTES
    occupancy = int(max(1, min(chip.max_blocks, chip.smem_per_sm // (stages * stage), chip.max_warps // warps,
                               chip.registers_per_sm // registers)))
    return warps, occupancy, (stages - 1) * stage


def gemm_kernel(chip: GpuChip, label: str, layer: int, m: int, n: int, k: int, count: int, b_in: float,
                b_out: float, tile: tuple[int, int, int], split: int, b_a: float | None = None,
                dequant: bool = False) -> Kernel:
    """`b_in`: bytes of a B (weight) element; `b_a`: of an A element (default b_in); `dequant`: weight-only."""
    bm, bn, bk = tile
    b_a = b_in if b_a is None else b_a
    tm, tn = math.ceil(m / bm), math.ceil(n / bn)
    k_cta = math.ceil(k / split)
    ctas = count * tm * tn * split
    _, occupancy, inflight = tile_resources(chip, bm, bn, bk, b_in, b_a)
    partial = 2 * bm * bn * PARTIAL_BYTES if split > 1 else 0.0  # write own partial, read the others'
    share = chip.multicast if tm >= chip.multicast else 1  # a cluster of CTAs along M fetches its B tile once
    panel = bm * b_a + bn / share * b_in  # operand bytes each CTA pulls from L2 per unit of K
    cta_bytes = panel * k_cta + bm * bn * b_out + partial
    cta_cycles = 2.0 * bm * bn * k_cta / chip.tensor_per_cycle
    if dequant:  # its B tile dequantized on the CUDA cores (fp32_per_cycle counts an FMA as 2)
        cta_cycles = max(cta_cycles, bn * k_cta * DEQUANT_OPS_PER_WEIGHT / (chip.fp32_per_cycle / 2))
    c_bytes = count * m * n * b_out
    partials = count * m * n * PARTIAL_BYTES * 2 * (split - 1)
    operands = count * _operand_hbm_bytes(chip, m, n, k, tm, tn, bm, bn, b_a, b_in, occupancy, split)
    l2 = count * tm * tn * panel * k + c_bytes + partials
    waves = ctas / (chip.sms * occupancy)
    desc = (f"tile {bm}x{bn}x{bk}" + (f" split-k {split}" if split > 1 else "")
            + f", {ctas} CTAs, {waves:.2f} waves of {chip.sms}x{occupancy}")
    kernel = Kernel(label, layer, ctas, np.array([cta_cycles]), np.array([cta_bytes]), inflight, occupancy,
                    hbm_bytes=operands + c_bytes + partials, l2_bytes=l2, desc=desc)
    if dequant or not math.isfinite(chip.matmul_ceiling_per_cycle):
        return kernel
    return _under_ceiling(kernel, chip, 2.0 * m * n * k * count)


def _under_ceiling(kernel: Kernel, chip: GpuChip, flops: float) -> Kernel:
    """The kernel with its CTAs slowed so that its SMs' busy time is at least flops / the chip's measured GEMM
    ceiling (matmul_ceiling: the best throughput the vendor library reached over a shape search, MAMF)."""
    cyc, issue, fills = sm_parts(kernel, chip)
    if not cyc.size:
        return kernel
    sm = int(np.argmax(fills + np.maximum(cyc, issue)))
    busy, fill = float(fills[sm] + max(cyc[sm], issue[sm])), float(fills[sm])
    floor = flops / chip.matmul_ceiling_per_cycle
    if busy <= fill or busy >= floor:
        return kernel
    scale = (floor - fill) / (busy - fill)  # the busiest SM's compute stretched so that it ends at the floor
    return replace(kernel, cta_cycles=kernel.cta_cycles * scale,
                   desc=kernel.desc + f", held to the measured GEMM ceiling ({busy / floor:.2f}x)")


def _operand_hbm_bytes(chip: GpuChip, m, n, k, tm, tn, bm, bn, b_a, b_in, occupancy, split) -> float:
    """HBM bytes of A and B for one instance under the wave reuse model."""
    unique = m * k * b_a + k * n * b_in
    streamed = tm * tn * (bm * b_a + bn * b_in) * k  # every tile's panels, no reuse at all (upper bound)
    if unique <= chip.l2_capacity:
        return unique
    concurrent = max(1, (chip.sms * occupancy) // split)  # output tiles in flight at once
    if concurrent >= tm * tn:
        return unique
    rows = int(min(tm, max(1, round(math.sqrt(concurrent * bn / bm)))))
    cols = int(min(tn, math.ceil(concurrent / rows)))
    rows = int(min(tm, math.ceil(concurrent / cols)))
    blocks = math.ceil(tm / rows) * math.ceil(tn / cols)
    per_block = (min(rows * bm, m) * b_a + min(cols * bn, n) * b_in) * k
    return float(min(streamed, max(unique, blocks * per_block)))


def plan_gemm(chip: GpuChip, label: str, layer: int, m: int, n: int, k: int, count: int, b_in: float,
              b_out: float, tile: tuple[int, int, int] | None = None, b_a: float | None = None,
              dequant: bool = False) -> Kernel:
    """The fastest (tile, split-K) for this GEMM, or the given tile with the best split."""
    return choose_gemm(chip, label, layer, m, n, k, count, b_in, b_out, tile, b_a=b_a, dequant=dequant)[0]


def choose_gemm(chip: GpuChip, label: str, layer: int, m: int, n: int, k: int, count: int, b_in: float,
                b_out: float, tile: tuple[int, int, int] | None = None, split: int | None = None,
                b_a: float | None = None, dequant: bool = False) -> tuple[Kernel, tuple[int, int, int], int]:
    """(kernel, tile, split-K) of plan_gemm's choice; `split` given: that split-K, as a mapping file asks."""
    bm_bn_bk, s = _choice(chip, m, n, k, count, b_in, b_out, tile, split, b_a, dequant)
    return gemm_kernel(chip, label, layer, m, n, k, count, b_in, b_out, bm_bn_bk, s, b_a, dequant), bm_bn_bk, s


@functools.lru_cache(maxsize=4096)
def _choice(chip: GpuChip, m: int, n: int, k: int, count: int, b_in: float, b_out: float,
            tile: tuple[int, int, int] | None, split: int | None, b_a: float | None,
            dequant: bool) -> tuple[tuple[int, int, int], int]:
    """The fastest (tile, split-K) for one GEMM shape on one chip: a pure function of its arguments, memoized
    (a serving run times the same projections at the same token counts in many iterations)."""
    tiles = TILES if tile is None else (tile,)
    best_time, choice = math.inf, None
    for bm, bn, bk in tiles:
        base = count * math.ceil(m / bm) * math.ceil(n / bn)
        for s in (SPLITS if split is None else (split,)):
            if split is None and s > 1 and (base * s > 4 * chip.sms or k / s < 4 * bk):
                break
            kern = gemm_kernel(chip, "", 0, m, n, k, count, b_in, b_out, (bm, bn, bk), s, b_a, dequant)
            t = estimate_cycles(kern, chip)
            if t < best_time * (1 - 1e-9):
                best_time, choice = t, ((bm, bn, bk), s)
    return choice
