"""`--fidelity cycle` for the mesh mapper: on-wafer collectives on the cycle-level network.

The emitter (mesh_costs.MeshEmitter) describes every communication task it
emits as a `Collective`: one K-tree level, a broadcast, a gather, a Cannon
shift round or a hand-off, along one axis of a region. At task fidelity the
task lasts `latency + bytes / link` (the PLMR closed form). At cycle fidelity
`WaferNetwork` builds the collective's messages as a trace and runs it on
archsim.engine.noc with the wafer router of the chip file (router.hop_latency
cycles per hop, one flit = router.link_width bytes (a 32-bit wavelet on
Cerebras), one VC per routable colour); the task is re-emitted with the
measured cycles as its duration (same resource, same bytes, so utilisation,
energy and dependencies are unchanged). Compute, SRAM ports and wafer I/O stay
task-level.

Every row (column) of a region runs the same collective on its own links, and
dimension-order routing keeps a row's messages on that row, so one line is
simulated and stands for the region exactly (tests/test_noc_wafer.py checks a
region against its rows); a K-tree level's groups are disjoint segments of the
line, so one group stands for the level. The per-message software overhead
(PLMR beta) is not network: it is a delay between a message's inputs arriving
and the message being ready (tree steps: after the partial from the outer
neighbour; others: before the first send), the same constant as at task
fidelity. Traces, per pattern (line positions 0 .. n-1):

- tree level (members m, span s): two chains from the ends of the group into
  its middle member, every step `s` hops; WaferLLM's chains add and forward
  as the wavelets stream through, so a step's message is cut into chunks
  (one wavelet each up to `MAX_CHUNKS` per message) and chunk k of a step
  waits for chunk k of the step before, plus beta;
- broadcast over n cores: the wafer multicasts from the middle (the router
  copies each wavelet to the core and onwards); the network is unicast, so
  the multicast is the two streams that reach the ends of the line: middle ->
  core 0, and middle + 1 -> core n - 1 released one hop later (so the two
  directions do not share the middle core's injection port);
- gather over n cores: every core sends its partial straight to the middle
  one; the root's software then handles the messages one after another in
  arrival order, beta cycles each, starting each when it has arrived;
- Cannon shift round: every core sends its block to its successor on the
  interleaved ring (0, 2, 4, ..., 5, 3, 1: two hops, one at the turns), on a
  line of min(n, `SHIFT_LINE`) cores (every link carries one stream per
  direction, so longer lines give the same time); the initial skew and
  hand-offs are one message over their hop count.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

# The network kernel (archsim.engine.noc) is imported only at cycle fidelity: a task-fidelity wafer run
# never loads it (tests/test_fast_start.py).

# A streaming chain step is cut into at most this many chunk messages (one
# wavelet each when the message is no longer): finer chunks change the result
# by at most chunk - 1 cycles per step, more chunks only cost simulation time.
MAX_CHUNKS = 64
# Cores of the line a Cannon shift round is simulated on (the pattern repeats
# every 4 cores and no link carries two streams in one direction).
SHIFT_LINE = 16
PATTERNS = ("tree", "bcast", "gather", "shift2", "hop")
# A collective's wavelets travel on one colour: one VC, its queue in order.
COLOURS_PER_COLLECTIVE = 1


@dataclass(frozen=True)
class Collective:
    """One communication task of the emitter, as the network sees it.

    pattern: tree (one K-tree level), bcast, gather, shift2 (a Cannon round),
    hop (one message); cores: members of a tree group, cores of the line, or
    hops of a hop; span: hops between tree members (1 otherwise); flits per
    message; beta: software cycles per message."""

    pattern: str
    cores: int
    span: int
    flits: int
    beta: int

    def describe(self) -> str:
        if self.pattern == "tree":
            return f"K-tree level: {self.cores} members {self.span} hop(s) apart"
        if self.pattern == "hop":
            return f"one message over {self.cores} hops"
        what = {"bcast": "broadcast", "gather": "gather", "shift2": "Cannon shift round"}[self.pattern]
        return f"{what} over {self.cores} cores"


def _chunks(flits: int) -> list[int]:
    per = max(1, math.ceil(flits / MAX_CHUNKS))
    n = math.ceil(flits / per)
    return [per] * (n - 1) + [flits - per * (n - 1)]


def line_trace(c: Collective, hop_latency: int = 1):
    """(cores of the line, messages) of a collective; node i is position i of the line."""
    src, dst, size, earliest, deps, delay = [], [], [], [], [], []

    def add(s, d, f, e=0, after=(), wait=0):
        src.append(s)
        dst.append(d)
        size.append(f)
        earliest.append(e)
        deps.append(list(after))
        delay.append(wait)
        return len(src) - 1

    if c.pattern == "tree":
        m, s = c.cores, c.span
        mid = m // 2
        chunks = _chunks(c.flits)
        for chain in (list(range(mid + 1)), list(range(m - 1, mid - 1, -1))):
            prev: list[int] = []
            for a, b in zip(chain, chain[1:]):
                if prev:
                    prev = [add(a * s, b * s, f, 0, [p], c.beta) for f, p in zip(chunks, prev)]
                else:
                    prev = [add(a * s, b * s, f, c.beta) for f in chunks]
        n = (m - 1) * s + 1
    elif c.pattern == "bcast":
        n = c.cores
        mid = n // 2
        add(mid, 0, c.flits, c.beta)
        if n - 1 > mid:  # (to itself when the east end is the middle's neighbour: through its router)
            add(mid + 1, n - 1, c.flits, c.beta + hop_latency)
    elif c.pattern == "gather":
        n = c.cores
        for i in range(n):
            if i != n // 2:
                add(i, n // 2, c.flits)
    elif c.pattern == "shift2":
        n = min(c.cores, SHIFT_LINE)
        ring = list(range(0, n, 2)) + list(range(n - 1 if n % 2 == 0 else n - 2, 0, -2))
        for a, b in zip(ring, ring[1:] + ring[:1]):
            if a != b:
                add(a, b, c.flits, c.beta)
    elif c.pattern == "hop":
        n = c.cores + 1
        add(0, c.cores, c.flits, c.beta)
    else:
        raise ValueError(f"unknown collective pattern {c.pattern!r}")
    from archsim.engine.noc import MessageTrace

    return n, MessageTrace.from_arrays(src, dst, size, earliest, deps, delay)


@dataclass
class Measured:
    collective: Collective
    cycles: int  # cycle-level duration
    task_cycles: int  # the task-level closed form for the same task
    messages: int
    line: int  # cores of the simulated line
    uses: int = 0  # tasks of this shape emitted


class WaferNetwork:
    """Times collectives on the cycle-level network, once per distinct shape."""

    def __init__(self, hop_latency: int, colors: int, link_bytes: float):
        self.hop_latency, self.colors, self.link_bytes = int(hop_latency), int(colors), float(link_bytes)
        # one collective runs on one colour (the mapper budgets a colour per tree level, broadcast and
        # hand-off, checked against router.colors), and each is simulated alone: one VC
        from archsim.engine.noc.config import wafer_router

        self.router = wafer_router(hop_latency=self.hop_latency, colors=COLOURS_PER_COLLECTIVE)
        self.measured: dict[Collective, Measured] = {}
        self.wall_s = 0.0

    @classmethod
    def from_costs(cls, costs) -> "WaferNetwork":
        return cls(costs.alpha, costs.colors, costs.link)

    def config(self, cores: int):
        return self.router.with_mesh(max(1, cores), 1)

    def flits(self, nbytes: float) -> int:
        return max(1, math.ceil(nbytes / self.link_bytes - 1e-9))

    def cycles(self, c: Collective, task_cycles: int) -> int:
        """Duration of collective `c` in cycles (simulated once per shape)."""
        known = self.measured.get(c)
        if known is None:
            t0 = time.perf_counter()
            n, trace = line_trace(c, self.hop_latency)
            from archsim.engine.noc import simulate_messages

            r = simulate_messages(self.config(n), trace)
            cycles = r.makespan_cycles
            if c.pattern == "gather":  # the root's software handles the messages in arrival order
                done = 0
                for a in np.sort(r.arrival_cycle):
                    done = max(done, int(a)) + c.beta
                cycles = done
            self.wall_s += time.perf_counter() - t0
            known = self.measured[c] = Measured(c, int(cycles), int(task_cycles), len(trace), n)
        known.uses += 1
        return known.cycles

    def summary(self) -> list[dict]:
        return [{"collective": m.collective.describe(), "pattern": m.collective.pattern,
                 "cores": m.collective.cores, "span": m.collective.span, "flits": m.collective.flits,
                 "beta_cycles": m.collective.beta, "tasks": m.uses, "task_cycles": m.task_cycles,
                 "cycle_cycles": m.cycles, "cycle_over_task": m.cycles / m.task_cycles if m.task_cycles else None,
                 "messages": m.messages, "line_cores": m.line}
                for m in self.measured.values()]
