"""Cost pieces of the mesh (wafer-scale) mapper: the PLMR model as engine tasks.

WaferLLM (He et al., OSDI 2025, arXiv:2502.04563) describes a wafer by PLMR:
massive Parallelism, non-uniform Latency (alpha per hop), constrained local
Memory, constrained Routing (colours). Here:

- local work runs on the busiest core of a region: a compute task (MACs or
  element operations at the SIMD FMAC rate, plus `sigma` start-up cycles per
  vector instruction) beside an SRAM task (bytes through the read port);
  the slower of the two sets the time;
- a collective step along a row (x) or a column (y) of the region is a
  transfer on that axis's link: bytes at one 32-bit wavelet per cycle, plus
  `alpha` cycles per hop and `beta` cycles of software per message;
- a region is a rectangle; a whole row or column of cores does the same
  thing at the same time, so one task stands for the whole row/column/tree
  level (tasks never per core: 660x660 regions stay a few hundred tasks).

Calibrated constants (two, the same for every chip, model and case, plus the scale of the
cerebras-2024 software profile, fitted on one case and marked so in `archsim validate`):
MESSAGE_OVERHEAD_CYCLES (beta) and VECTOR_OVERHEAD_CYCLES (sigma), fitted to
WaferLLM's WSE-2 decode (Table 4, 420/540/660 core regions) and prefill
(Table 3, 480/600/720) measurements; they live in the calibration table
(archsim/calibration, `archsim calibrate`). A chip file may set
core.message_overhead / core.vector_overhead to override them (what-if).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.calibration import (CEREBRAS_2024_OVERHEAD_SCALE, MESSAGE_OVERHEAD_CYCLES, RESERVED_SRAM_BYTES,
                                 VECTOR_OVERHEAD_CYCLES)
from archsim.engine import TaskGraphBuilder
from archsim.families.mesh.mapper.cycle import Collective

KERNEL_PROFILES = {"waferllm": 1.0, "cerebras-2024": CEREBRAS_2024_OVERHEAD_SCALE}
ACCUMULATOR_BYTES = {"fp16": 2.0, "fp32": 4.0}


@dataclass(frozen=True)
class MeshCosts:
    """The per-core and per-link numbers the cost model uses, in cycles and bytes."""

    clock_hz: float
    simd: int  # FP16 FMACs (or element operations) per cycle per core
    sram_read: float  # bytes per cycle per core
    sram_write: float
    sram_bytes: int
    link: float  # bytes per cycle per link and direction
    alpha: int  # cycles per router hop
    beta: int  # software cycles per message in a collective step
    sigma: int  # start-up cycles per vector instruction
    colors: int  # routable colours per router
    grid_w: int
    grid_h: int
    io_rate: float  # bytes per cycle off the wafer (system I/O or chip-to-chip link)
    io_latency: int  # cycles per wafer-to-wafer crossing
    dtype_bytes: float  # activations
    acc_bytes: float  # partial sums: local accumulators and reduction messages

    @classmethod
    def from_system(cls, system, dtype_bytes: float, kernels: str = "waferllm",
                    acc_bytes: float | None = None) -> "MeshCosts":
        """Costs of `system`; beta and sigma from the chip spec if it sets them, else the
        calibrated constants scaled for the `kernels` software profile."""
        c = system.chip
        clock = float(c.clock)
        scale = KERNEL_PROFILES[kernels]
        beta = c.core.get("message_overhead")
        sigma = c.core.get("vector_overhead")
        ic = system.interconnect
        if ic is not None:
            io_bw, io_lat = float(ic.link_bandwidth), int(round(ic.hop_latency * clock))
        else:
            io_bw, io_lat = float(c.io.bandwidth), 0
        return cls(clock_hz=clock, simd=int(c.core.fp16_fmac), sram_read=float(c.core.sram_read),
                   sram_write=float(c.core.sram_write), sram_bytes=int(c.core.sram),
                   link=float(c.router.link_width), alpha=int(c.router.hop_latency),
                   beta=round(MESSAGE_OVERHEAD_CYCLES * scale) if beta is None else int(beta),
                   sigma=round(VECTOR_OVERHEAD_CYCLES * scale) if sigma is None else int(sigma),
                   colors=int(c.router.colors), grid_w=int(c.grid.width), grid_h=int(c.grid.height),
                   io_rate=min(io_bw, float(c.io.bandwidth)) / clock, io_latency=io_lat,
                   dtype_bytes=float(dtype_bytes),
                   acc_bytes=float(dtype_bytes if acc_bytes is None else acc_bytes))


def tree_groups(n: int, levels: int) -> list[tuple[int, int]]:
    """(members, hop span) of each level of a `levels`-level reduction tree over n cores in a line.

    Level l joins groups of g = ceil(n ** (1/levels)) whose members are g**l
    cores apart, into a root in the middle of each group (WaferLLM's K-tree).
    """
    if n <= 1:
        return []
    g = max(2, math.ceil(n ** (1.0 / levels) - 1e-9))
    out, span, remaining = [], 1, n
    while remaining > 1:
        members = min(g, remaining)
        out.append((members, span))
        remaining = math.ceil(remaining / g)
        span *= g
    return out


def colors_needed(strategy: str, levels: int) -> int:
    """Routable colours a region needs at once: per axis one per tree level (gather: one)
    plus one for the broadcast, and one for the hand-off between regions."""
    per_axis = (levels if strategy == "meshgemv" else 1) + 1
    return 2 * per_axis + 1


class MeshEmitter:
    """Builds one region's task graph: the busiest core plus its row and column links."""

    def __init__(self, costs: MeshCosts, strategy: str, levels: int, network=None):
        """`network`: a mesh_cycle.WaferNetwork to time communication at cycle fidelity (None: task level)."""
        self.c = costs
        self.network = network
        self.strategy = strategy
        self.levels = levels
        self.acc = costs.acc_bytes
        self.events: list[tuple[str, int, float, str]] = []  # (axis, cores per line, bytes, pattern): heatmaps
        self.b = TaskGraphBuilder(clock_hz=costs.clock_hz)
        self.core = self.b.add_resource(name="core", kind="compute", rate=costs.simd)
        self.sram = self.b.add_resource(name="sram", kind="memory", rate=costs.sram_read)
        self.noc = {axis: self.b.add_resource(name=f"noc_{axis}", kind="noc", rate=costs.link)
                    for axis in ("x", "y")}
        self._io = None

    @property
    def io(self) -> int:
        if self._io is None:
            self._io = self.b.add_resource(name="wafer_io", kind="interconnect", rate=self.c.io_rate,
                                           latency=self.c.io_latency)
        return self._io

    # -- local work on the busiest core -------------------------------------

    def local(self, op: str, layer: int, elements: float, instructions: float, read_bytes: float,
              write_bytes: float, deps) -> list[int]:
        """`elements` FMACs/element-ops in `instructions` vector instructions, moving the given bytes."""
        if elements <= 0:
            return list(deps)
        out = [self.b.add_task(resource=self.core, work=float(elements), deps=list(deps), op=op, layer=layer,
                               category="compute", latency=int(math.ceil(instructions)) * self.c.sigma)]
        # the read and write ports work in parallel: count the busier one in read-port bytes
        port_bytes = max(read_bytes, write_bytes * self.c.sram_read / self.c.sram_write)
        if port_bytes > 0:
            out.append(self.b.add_task(resource=self.sram, work=float(port_bytes), deps=list(deps), op=op,
                                       layer=layer, category="memory"))
        return out

    def block_gemm(self, op: str, layer: int, m: int, k: int, n: int, deps, share: float = 1.0,
                   along: str = "n") -> list[int]:
        """An m x k by k x n block on one core: one vector FMAC per element of the other two
        dimensions, vectorised `along` m or n as WaferLLM's kernels do (MeshGEMV maps over
        the input vector, length n; MeshGEMM over the weight block, length m). `share` < 1
        skips masked blocks (causal attention)."""
        macs = m * k * n * share
        instructions = macs / (n if along == "n" else m)
        d = self.c.dtype_bytes
        # per MAC: a weight/operand and the accumulator are read, the accumulator written
        return self.local(op, layer, macs, instructions, (d + self.acc) * macs, self.acc * macs, deps)

    # -- communication along one axis of a region ---------------------------

    def _send(self, op: str, layer: int, axis: str, nbytes: float, latency: int, deps,
              shape: Collective | None = None) -> list[int]:
        """A transfer on the axis's link: `latency + bytes / link` cycles, or, at cycle fidelity, the
        cycles the network takes for `shape` (the same bytes, so utilisation and energy still count them)."""
        work = float(max(nbytes, 0.0))
        if self.network is not None and shape is not None:
            serial = math.ceil(work / self.c.link)  # as the engine computes it
            latency = max(0, self.network.cycles(shape, int(latency) + serial) - serial)
        return [self.b.add_transfer(route=[self.noc[axis]], work=work, deps=list(deps),
                                    op=op, layer=layer, category="communication", latency=int(latency))]

    def _shape(self, pattern: str, cores: int, span: int, nbytes: float) -> Collective:
        flits = max(1, math.ceil(nbytes / self.c.link - 1e-9))
        return Collective(pattern, int(cores), int(span), flits, self.c.beta)

    def broadcast(self, op: str, layer: int, axis: str, n: int, elements: float, deps) -> list[int]:
        """Multicast from the middle of a line of n cores to all of them (one colour, one message)."""
        if n <= 1:
            return list(deps)
        hops = n // 2
        nbytes = elements * self.c.dtype_bytes
        self.events.append((axis, n, nbytes, "bcast"))
        return self._send(op, layer, axis, nbytes, self.c.beta + self.c.alpha * hops, deps,
                          self._shape("bcast", n, 1, nbytes))

    def reduce(self, op: str, layer: int, axis: str, n: int, elements: float, deps) -> list[int]:
        """Sum n partial vectors of `elements` along a line of n cores into its middle core.

        meshgemv: WaferLLM's K-tree, one task per level; within a level the
        partials flow in pipelined chains from both ends into a middle root, each
        core adding its own as the wavelets stream through: a level costs
        steps x (beta + alpha x span) plus one message's serialisation.
        gather: every partial goes straight to the root, which handles n - 1
        messages one after another over its two input links (GPU/T10 style).
        """
        if n <= 1:
            return list(deps)
        d, c = self.acc, self.c  # partial sums travel at accumulator precision
        self.events.append((axis, n, elements * d, self.strategy == "gather" and "gather" or "tree"))
        if self.strategy == "gather":
            msgs = n - 1
            return self._send(op, layer, axis, math.ceil(msgs / 2) * elements * d,
                              msgs * c.beta + c.alpha * (n // 2), deps, self._shape("gather", n, 1, elements * d))
        out = list(deps)
        for members, span in tree_groups(n, self.levels):
            steps = math.ceil((members - 1) / 2)  # chains from both sides into a middle root
            out = self._send(op, layer, axis, elements * d, steps * (c.beta + c.alpha * span), out,
                             self._shape("tree", members, span, elements * d))
        return out

    def allreduce(self, op: str, layer: int, axis: str, n: int, elements: float, deps) -> list[int]:
        return self.broadcast(op, layer, axis, n, elements, self.reduce(op, layer, axis, n, elements, deps))

    def hop(self, op: str, layer: int, axis: str, hops: int, nbytes: float, deps) -> list[int]:
        """One message over `hops` routers (a hand-off between regions)."""
        return self._send(op, layer, axis, nbytes, self.c.beta + self.c.alpha * hops, deps,
                          self._shape("hop", hops, 1, nbytes))

    def wafer_crossing(self, op: str, layer: int, nbytes: float, deps) -> list[int]:
        return [self.b.add_transfer(route=[self.io], work=float(nbytes), deps=list(deps), op=op, layer=layer,
                                    category="communication", latency=self.c.beta)]

    def cannon(self, op: str, layer: int, steps: int, m: int, k: int, n: int, deps,
               share: float = 1.0) -> list[int]:
        """MeshGEMM (WaferLLM): Cannon's algorithm with an interleaved placement, so every
        shift is 2 hops; an initial skew over half the line first."""
        c = self.c
        skew = c.beta + c.alpha * (steps // 2)
        return self._rounds(op, layer, steps, m, k, n, deps, share, c.beta + 2 * c.alpha, c.beta + 2 * c.alpha,
                            skew, ("shift2", steps), ("shift2", steps))

    def summa(self, op: str, layer: int, steps: int, m: int, k: int, n: int, deps,
              share: float = 1.0, w: int = 0, h: int = 0) -> list[int]:
        """SUMMA: each round the owners broadcast an A panel along the whole row and a
        B panel along the whole column (the GPU-style choice that ignores mesh distance)."""
        c = self.c
        w, h = w or steps, h or steps
        return self._rounds(op, layer, steps, m, k, n, deps, share, c.beta + c.alpha * (w // 2),
                            c.beta + c.alpha * (h // 2), None, ("bcast", w), ("bcast", h))

    def _rounds(self, op, layer, steps, m, k, n, deps, share, lat_x, lat_y, skew, pat_x, pat_y) -> list[int]:
        """`steps` rounds of a local m x k x n block while the next A block moves along x and
        the next B block along y (double buffered: a move waits for the round before to free
        its buffer)."""
        d = self.c.dtype_bytes
        a_bytes, b_bytes = m * k * d, k * n * d
        pattern = "shift" if skew is not None else "span"
        self.events += [("x", 10**9, steps * a_bytes, pattern), ("y", 10**9, steps * b_bytes, pattern)]
        first_x, first_y = (skew, skew) if skew is not None else (lat_x, lat_y)
        shape_x = self._shape(pat_x[0], pat_x[1], 1, a_bytes)
        shape_y = self._shape(pat_y[0], pat_y[1], 1, b_bytes)
        skew_x, skew_y = ((self._shape("hop", steps // 2, 1, a_bytes), self._shape("hop", steps // 2, 1, b_bytes))
                          if skew is not None else (shape_x, shape_y))
        moved = [self._send(op, layer, "x", a_bytes, first_x, deps, skew_x)[0],
                 self._send(op, layer, "y", b_bytes, first_y, deps, skew_y)[0]]
        previous: list[int] = list(deps)
        computed: list[int] = list(deps)
        for step in range(steps):
            computed = self.block_gemm(op, layer, m, k, n, moved + previous, share, along="m")
            if step + 1 < steps:
                moved = [self._send(op, layer, "x", a_bytes, lat_x, moved[:1] + previous, shape_x)[0],
                         self._send(op, layer, "y", b_bytes, lat_y, moved[1:] + previous, shape_y)[0]]
            previous = computed
        return computed

    def build(self):
        return self.b.build()
