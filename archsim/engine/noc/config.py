"""Router and mesh parameters of the cycle-level network model.

`NocConfig` is the validated, frozen description of a k x m mesh of
input-queued routers. Its semantics are those of BookSim2's IQRouter (the
reference in ../../docs/noc.md): lookahead or explicit routing, separate VC and
switch allocators (iSLIP), optional speculative switch allocation, credit-based
flow control with finite per-VC buffers, and an injection and an ejection
channel of latency 1 at every node. With every allocator and crossbar delay
equal to 1 the model reproduces BookSim2 cycle for cycle; longer stages are
pipelined here (a new allocation may start every cycle), which is a stated
departure from BookSim2, whose multi-cycle stages block (docs/noc.md).

`crossbar_delay = 0` and `link_delay = 0` go below what BookSim2 can express:
the flit crosses the switch in the cycle it wins it and reaches the next
router one cycle later. `wafer_router` uses them (with lookahead routing and
speculation) for a wafer-scale fabric that forwards a flit one hop per cycle.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from archsim.errors import ArchsimInputError

# Hard limits of the kernel's encodings: VC ids live in 6 bits of a flit code
# and VC sets in 64-bit masks; expanded switch inputs (5 x input_speedup) too.
MAX_VCS = 32
# a flit code carries its destination's x and y in 12 bits each
MAX_MESH_DIM = 4096
MAX_INPUT_SPEEDUP = 12
MAX_DELAY = 64


@dataclass(frozen=True)
class NocConfig:
    """A `mesh_x` x `mesh_y` mesh; node id = x + mesh_x * y (BookSim's order).

    Delays are in cycles. `routing_delay` 0 means lookahead routing (the route
    is computed one hop ahead, as BookSim does with routing_delay = 0).
    `crossbar_delay` is BookSim's st_prepare_delay + st_final_delay.
    `link_delay` applies to router-to-router flit and credit channels;
    injection and ejection channels have latency 1. `crossbar_delay` 0: a
    flit leaves in the cycle it wins the switch; `link_delay` 0: it is in the
    next router's input buffer one cycle later (BookSim2 allows neither).
    """

    mesh_x: int = 8
    mesh_y: int = 8
    num_vcs: int = 1
    vc_buf_size: int = 64
    wait_for_tail_credit: bool = False
    speculative: bool = False
    routing_delay: int = 0
    vc_alloc_delay: int = 1
    sw_alloc_delay: int = 1
    crossbar_delay: int = 1
    link_delay: int = 1
    credit_delay: int = 0
    input_speedup: int = 1
    alloc_iters: int = 1

    def __post_init__(self):
        def need(name, ok, expected):
            if not ok:
                raise ArchsimInputError(
                    f"The NoC option '{name}' must be {expected}. Got {getattr(self, name)!r} instead.")

        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("bool", bool):
                need(f.name, isinstance(v, bool), "a bool")
            else:
                need(f.name, isinstance(v, int) and not isinstance(v, bool), "an int")
        need("mesh_x", self.mesh_x >= 1, "at least 1")
        need("mesh_y", self.mesh_y >= 1, "at least 1")
        need("mesh_x", self.mesh_x <= MAX_MESH_DIM, f"at most {MAX_MESH_DIM}")
        need("mesh_y", self.mesh_y <= MAX_MESH_DIM, f"at most {MAX_MESH_DIM}")
        need("num_vcs", 1 <= self.num_vcs <= MAX_VCS, f"between 1 and {MAX_VCS}")
        need("vc_buf_size", self.vc_buf_size >= 1, "at least 1 flit")
        need("routing_delay", 0 <= self.routing_delay <= MAX_DELAY, f"between 0 and {MAX_DELAY}")
        for name in ("vc_alloc_delay", "sw_alloc_delay"):
            need(name, 1 <= getattr(self, name) <= MAX_DELAY, f"between 1 and {MAX_DELAY}")
        for name in ("crossbar_delay", "link_delay"):
            need(name, 0 <= getattr(self, name) <= MAX_DELAY, f"between 0 and {MAX_DELAY}")
        need("credit_delay", 0 <= self.credit_delay <= MAX_DELAY, f"between 0 and {MAX_DELAY}")
        need("input_speedup", 1 <= self.input_speedup <= min(self.num_vcs, MAX_INPUT_SPEEDUP),
             f"between 1 and min(num_vcs, {MAX_INPUT_SPEEDUP}) (VCs are interleaved over the crossbar inputs)")
        need("alloc_iters", 1 <= self.alloc_iters <= 16, "between 1 and 16")

    @property
    def nodes(self) -> int:
        return self.mesh_x * self.mesh_y

    def zero_load_latency(self, manhattan_hops: int) -> int:
        """Cycles from creation to arrival of a 1-flit packet on an idle mesh."""
        # A channel of latency d delivers a flit sent in cycle t at t + d + 1
        # (BookSim's write-outputs / read-inputs split), so injection and
        # ejection cost 2 cycles each and a mesh link d + 1.
        return (2 + (manhattan_hops + 1) * self.router_cycles()
                + manhattan_hops * (self.link_delay + 1) + 2)

    def router_cycles(self) -> int:
        """Cycles from a head flit's arrival at a router to its departure, unloaded."""
        alloc = (max(self.vc_alloc_delay, self.sw_alloc_delay) if self.speculative
                 else self.vc_alloc_delay + self.sw_alloc_delay)
        return self.routing_delay + alloc - 1 + self.crossbar_delay

    def with_mesh(self, mesh_x: int, mesh_y: int) -> "NocConfig":
        return replace(self, mesh_x=mesh_x, mesh_y=mesh_y)

    def to_dict(self) -> dict:
        return asdict(self)


# Flits a wafer router's input queue holds per colour (VC). ASSUMED: Cerebras
# does not publish the router's queue depth; 4 wavelets are the smallest buffer
# that sustains one flit per cycle here: the credit loop is 4 cycles on the
# injection channel and 2 x hop_latency on a link (longer hops get the latter).
WAFER_VC_BUFFER_FLITS = 4


def wafer_router(mesh_x: int = 8, mesh_y: int = 8, *, hop_latency: int = 1, colors: int = 8,
                 vc_buf_size: int | None = None) -> NocConfig:
    """A wafer-scale fabric router (Cerebras-style): one flit (a 32-bit wavelet)
    forwarded one hop in `hop_latency` cycles when uncontended.

    Lookahead routing (routing_delay 0), speculative switch allocation in the
    cycle a head arrives (vc_alloc_delay = sw_alloc_delay = 1, speculative),
    switch traversal in the same cycle (crossbar_delay 0) and a link of
    `hop_latency - 1` extra cycles: a head that arrives in cycle t leaves in t
    and is at the next router in t + hop_latency. Credit-based flow control is
    kept; one VC per routable colour (at most 32), each with its own buffer.
    Zero-load latency: H x hop_latency + 4 (injection and ejection channels,
    2 cycles each). docs/noc.md, "Wafer router".
    """
    if not isinstance(hop_latency, int) or hop_latency < 1:
        raise ArchsimInputError(f"The wafer router's hop latency must be an int of at least 1 cycle. "
                                f"Got {hop_latency!r} instead.")
    buf = vc_buf_size if vc_buf_size is not None else max(WAFER_VC_BUFFER_FLITS, 2 * hop_latency)
    return NocConfig(mesh_x=mesh_x, mesh_y=mesh_y, num_vcs=min(max(1, colors), MAX_VCS), vc_buf_size=buf,
                     speculative=True, routing_delay=0, vc_alloc_delay=1, sw_alloc_delay=1,
                     crossbar_delay=0, link_delay=hop_latency - 1, credit_delay=0)


# The three BookSim2 reference routers of ../shared/reference/booksim_configs
# (shipped in archsim/data/reference/booksim_configs), on an 8x8 mesh, and the
# wafer router (not a BookSim2 configuration) with 8 colours.
PRESETS: dict[str, NocConfig] = {
    "mesh_min": NocConfig(num_vcs=1, vc_buf_size=64),
    "mesh_min_spec": NocConfig(num_vcs=1, vc_buf_size=64, speculative=True),
    "mesh_typical": NocConfig(num_vcs=8, vc_buf_size=8, wait_for_tail_credit=True,
                              credit_delay=2, input_speedup=2),
    "wafer": wafer_router(),
}


def preset(name: str) -> NocConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ArchsimInputError(
            f"Unknown router preset {name!r}; known presets: {', '.join(sorted(PRESETS))}.") from None
