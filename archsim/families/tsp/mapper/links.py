"""Chip-to-chip links of a TSP system and the collectives the compiler builds from them.

Topology (the system file's `interconnect`): chips come in nodes of
`group_size`, all-to-all inside a node over one local link per peer
(GroqNode: 8 cards, 7 local links each [G7]); the remaining ports of each chip
are global links to other nodes (Dragonfly [G2]). Every transfer pays the
hop latency per link crossed plus its bytes over the link bandwidth
(cut-through, docs/engine.md).

Placement assumptions (ASSUMED, docs/tsp.md): a tensor-parallel group fills
nodes; chip j of one node has a global link to chip j of the nodes it talks
to, as far as its global ports go (the compiler places stages and groups that
way), so such a transfer is one global hop; further nodes are reached
local-global-local.

The schedule is static: the links a collective uses are chosen by the
compiler, so the engine sees each link as a resource with one server per
physical link and no other traffic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.errors import ArchsimInputError

SUPPORTED_TOPOLOGIES = ("dragonfly", "all-to-all", "switch")


@dataclass(frozen=True)
class Links:
    group_size: int  # chips per node (all-to-all local links)
    local_links: int  # per chip, one to each other chip of its node
    global_links: int  # per chip, to other nodes
    bytes_per_cycle: float  # per link, per direction
    hop_cycles: int  # latency of one link crossing

    def transfer_cycles(self, nbytes: float) -> int:
        return self.hop_cycles + math.ceil(nbytes / self.bytes_per_cycle)


def links_of(system) -> Links | None:
    """The C2C links of `system`, or None for a single chip."""
    net = system.interconnect
    if system.count == 1 or net is None:
        return None
    if net.topology not in SUPPORTED_TOPOLOGIES:
        raise ArchsimInputError(f"the tsp mapper supports interconnect topologies "
                                f"{', '.join(SUPPORTED_TOPOLOGIES)}; {system.name} has {net.topology!r}")
    clock = float(system.clock_hz)
    group = system.count if net.topology != "dragonfly" else min(net.group_size or system.count, system.count)
    local = group - 1
    global_links = max(0, net.links_per_chip - local) if group < system.count else 0
    if group < system.count and global_links == 0:
        raise ArchsimInputError(f"{system.name}: {net.links_per_chip} links per chip leave none for other nodes "
                                f"after {local} local links (group_size {group})")
    return Links(group, local, global_links, net.link_bandwidth / clock, max(1, round(net.hop_latency * clock)))


@dataclass(frozen=True)
class Step:
    """Transfers that go out together (each over its own link), then an optional reduction."""

    link: str  # "local" or "global": the link class that limits how many go at once
    transfers: int
    nbytes: float  # per transfer
    reduce_elements: float = 0.0  # additions on the vector unit once they have arrived
    route: tuple[str, ...] = ()  # link classes crossed, in order; default: one hop of `link`
    far_hops: int = 0  # further hops over other chips' links: their latency only

    @property
    def hops(self) -> tuple[str, ...]:
        return self.route or (self.link,)


def allreduce_steps(links: Links, t: int, nbytes: float, element_bytes: float, alus: int,
                    vxm_latency: int) -> list[Step]:
    """The compiler's all-reduce of `nbytes` over a t-chip group, the faster of two plans.

    Inside a node: one-shot (send everything to every peer, add) or two-shot
    (reduce-scatter, add, all-gather). Across nodes: reduce-scatter in the node,
    one-shot exchange of the shard between the nodes' counterpart chips over
    global links, all-gather in the node.
    """
    if t == 1:
        return []
    elems = nbytes / element_bytes
    g = links.group_size
    if t <= g:
        one = [Step("local", t - 1, nbytes, (t - 1) * elems)]
        two = [Step("local", t - 1, nbytes / t, (t - 1) * elems / t), Step("local", t - 1, nbytes / t)]
        return min((one, two), key=lambda plan: estimate_cycles(plan, links, alus, vxm_latency))
    if t % g:
        raise ArchsimInputError(f"tp={t} spans nodes of {g} chips; it must be a multiple of {g}")
    nodes = t // g
    shard = nbytes / g
    route, far = _global_route(links, nodes)
    return [Step("local", g - 1, shard, (g - 1) * elems / g),
            Step("global", nodes - 1, shard, (nodes - 1) * elems / g, route, far),
            Step("local", g - 1, shard)]


def _global_route(links: Links, nodes: int) -> tuple[tuple[str, ...], int]:
    """Route from a chip to its counterparts in the `nodes - 1` other nodes of a group.

    A chip's own global links reach `global_links` other nodes (ASSUMED placement); beyond
    that a transfer goes local-global-local through the node peer that owns the link (a
    minimal Dragonfly route). The node's global ports carry the same total either way, so
    the rounds do not change, only the hop latencies.
    """
    return (("global",), 0) if nodes - 1 <= links.global_links else (("local", "global"), 1)


def _nodes(links: Links, g: int) -> int:
    return math.ceil(g / links.group_size)


def allgather_steps(links: Links, g: int, share_bytes: float) -> list[Step]:
    """Every chip of a g-chip group (consecutive chips, nodes filled in order) gets every
    chip's `share_bytes`. Inside a node: one step over the local links. Across nodes: each
    chip sends its share to its counterparts in the other nodes, then the node all-gathers
    what its chips hold."""
    if g <= 1:
        return []
    if g <= links.group_size:
        return [Step("local", g - 1, share_bytes)]
    nodes = _nodes(links, g)
    route, far = _global_route(links, nodes)
    return [Step("global", nodes - 1, share_bytes, 0.0, route, far),
            Step("local", links.group_size - 1, share_bytes * nodes)]


def reduce_scatter_steps(links: Links, g: int, share_bytes: float, share_elements: float) -> list[Step]:
    """Each chip of a g-chip group ends with the group's sum of its own `share_bytes`
    (`share_elements` additions per partner on the vector unit). Across nodes: the node
    reduces first (each chip collects its peers' partials for its counterparts), then
    counterparts exchange over global links."""
    if g <= 1:
        return []
    if g <= links.group_size:
        return [Step("local", g - 1, share_bytes, (g - 1) * share_elements)]
    nodes = _nodes(links, g)
    route, far = _global_route(links, nodes)
    per_node = links.group_size - 1
    return [Step("local", per_node, share_bytes * nodes, per_node * share_elements * nodes),
            Step("global", nodes - 1, share_bytes, (nodes - 1) * share_elements, route, far)]


def loopback_steps(links: Links, chips: int, nbytes: float) -> list[Step]:
    """The sampled token from the last pipeline stage back to the first, for the next step
    (each chip of the last stage to its counterpart): one local hop inside a node, else the
    route to the farthest node of the `chips` the mapping uses."""
    nodes = _nodes(links, chips)
    if nodes <= 1:
        return [Step("local", 1, nbytes)]
    route, far = _global_route(links, nodes)
    return [Step("global", 1, nbytes, 0.0, route, far)]


def estimate_cycles(steps: list[Step], links: Links, alus: int, vxm_latency: int) -> int:
    """Cycles of a plan with nothing else running (what the engine will also find)."""
    total = 0
    for s in steps:
        ports = links.local_links if s.link == "local" else links.global_links
        hop_cycles = (len(s.hops) - 1 + s.far_hops) * links.hop_cycles
        total += math.ceil(s.transfers / ports) * (links.transfer_cycles(s.nbytes) + hop_cycles)
        if s.reduce_elements:
            total += vxm_latency + math.ceil(s.reduce_elements / alus)
    return total


def pipeline_send_steps(links: Links, t: int, nbytes: float, link: str) -> list[Step]:
    """Hand the activations (`nbytes`, replicated on the t chips) to the next stage.

    Direct: each chip sends all of it to its counterpart. Sharded: each sends
    1/t, and the next stage all-gathers over its local links. The faster wins.
    """
    direct = [Step(link, 1, nbytes)]
    if t == 1:
        return direct
    sharded = [Step(link, 1, nbytes / t), Step("local", t - 1, nbytes / t)]
    return min((direct, sharded), key=lambda plan: estimate_cycles(plan, links, 1, 0))


def node_crossings(t: int, pp: int, group_size: int) -> int:
    """Stage boundaries that leave a node when stages of t chips fill nodes in order."""
    if t >= group_size:
        return pp - 1
    per_node = group_size // t
    return math.ceil(pp / per_node) - 1
