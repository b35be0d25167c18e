"""The 2-D torus of inter-chip links (ICI) and the all-reduce the mapper builds on it.

A system file gives `topology: torus-2d`, `shape: [X, Y]` (X x Y = count),
four ports per chip (+x, -x, +y, -y) and the bandwidth of each port per
direction. A tensor-parallel group of tp chips is a tx x ty block of the torus,
filled along X first (tx = min(tp, X)).

All-reduce of S bytes over the block, ring per dimension:
- on one dimension (ty = 1): reduce-scatter then all-gather around a ring of
  tx chips, 2 (tx - 1) steps of S / tx bytes. A ring that spans the whole
  dimension closes over the wraparound link, so it runs both ways at once
  (half the data each way); a shorter one is a line, which carries a
  one-way ring (the closing edge runs back over the reverse links, paying
  their hops in latency);
- on two dimensions: half of S goes X then Y (reduce-scatter on X, all-reduce
  of the 1/tx shard on Y, all-gather on X), the other half Y then X, at the
  same time, so all four ports carry data.
Each step is a transfer per direction on the dimension's links (the engine's
`ici_x`, `ici_y`: two ports each), and in a reduce-scatter the vector unit
adds what arrived. Every chip of the group does the same at the same time;
the engine simulates one of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import ArchsimInputError

TOPOLOGY = "torus-2d"
PORTS = 4  # +x, -x, +y, -y


@dataclass(frozen=True)
class Torus:
    shape: tuple[int, int]
    link_bytes_per_s: float  # per port, per direction
    hop_s: float

    def group(self, tp: int) -> tuple[int, int]:
        """(tx, ty) of a tp-chip block, X filled first."""
        x, y = self.shape
        tx = min(tp, x)
        if tp % tx or tp // tx > y:
            raise ArchsimInputError(f"tp={tp} does not tile a block of the {x}x{y} torus (it fills X = {x} first: "
                                    f"use a divisor of {x} or a multiple of it up to {x * y})")
        return tx, tp // tx

    def bisection_bytes_per_s(self) -> float:
        """One-way bandwidth across the cut that halves the longer dimension (wraparound links cross too)."""
        x, y = self.shape
        across = min(x, y) * (2 if max(x, y) > 2 else 1)
        return across * self.link_bytes_per_s


def torus_of(system) -> Torus | None:
    """The torus of `system`, or None for a single chip."""
    net = system.interconnect
    if system.count == 1 or net is None:
        return None
    if net.topology != TOPOLOGY:
        raise ArchsimInputError(f"the tpu-torus mapper needs topology {TOPOLOGY}; {system.name} has {net.topology!r}")
    shape = tuple(net.get("shape") or ())
    if len(shape) != 2 or shape[0] * shape[1] != system.count or min(shape) < 1:
        raise ArchsimInputError(f"{system.name}: interconnect.shape must be [X, Y] with X x Y = count "
                                f"({system.count}), got {list(shape) or 'none'}")
    if net.links_per_chip != PORTS:
        raise ArchsimInputError(f"{system.name}: a torus-2d has {PORTS} links per chip, got {net.links_per_chip}")
    return Torus(shape, float(net.link_bandwidth), float(net.hop_latency))


@dataclass(frozen=True)
class Ring:
    dim: str  # "x" or "y"
    size: int  # chips on the ring
    ways: int  # 2: both directions at once (a closed ring); 1: a line
    back_hops: int  # extra hops of a line's closing edge


def ring(torus: Torus, dim: str, size: int) -> Ring:
    full = torus.shape[0 if dim == "x" else 1]
    if size == full and size > 2:
        return Ring(dim, size, 2, 0)
    return Ring(dim, size, 1, max(0, size - 2))


@dataclass(frozen=True)
class Phase:
    ring: Ring
    nbytes: float  # the data this phase reduces or gathers, on each chip
    reduce: bool  # reduce-scatter (adds on the vector unit) or all-gather


def allreduce_chains(torus: Torus, tp: int, nbytes: float) -> list[list[Phase]]:
    """The phases of an all-reduce of `nbytes` over a tp-chip block, as chains that run side by side."""
    tx, ty = torus.group(tp)
    if tp == 1:
        return []
    rx, ry = ring(torus, "x", tx), ring(torus, "y", ty)
    if ty == 1:
        return [[Phase(rx, nbytes, True), Phase(rx, nbytes, False)]]
    if tx == 1:
        return [[Phase(ry, nbytes, True), Phase(ry, nbytes, False)]]
    half = nbytes / 2
    return [[Phase(rx, half, True), Phase(ry, half / tx, True), Phase(ry, half / tx, False), Phase(rx, half, False)],
            [Phase(ry, half, True), Phase(rx, half / ty, True), Phase(rx, half / ty, False), Phase(ry, half, False)]]


def emit_allreduce(b, res, torus: Torus, tp: int, nbytes: float, element_bytes: float, deps, label: str,
                   layer: int, clock_hz: float) -> list[int]:
    """Engine tasks of the all-reduce after `deps`; returns the tasks that end it. `res` has the resource
    ids `ici_x`, `ici_y` and `vpu`."""
    ends = []
    hop = max(1, round(torus.hop_s * clock_hz))
    for chain in allreduce_chains(torus, tp, nbytes):
        prev = list(deps)
        for ph in chain:
            link = res.ici_x if ph.ring.dim == "x" else res.ici_y
            chunk = ph.nbytes / ph.ring.size  # per step, per chip
            for _ in range(ph.ring.size - 1):
                prev = [b.add_transfer([link], chunk / ph.ring.ways, deps=prev, op=label, layer=layer,
                                       latency=ph.ring.back_hops * hop) for _ in range(ph.ring.ways)]
                if ph.reduce:
                    prev = [b.add_task(res.vpu, chunk / element_bytes, deps=prev, op=label, layer=layer,
                                       category="compute")]
        ends += prev
    return ends or list(deps)
