"""Collectives as the GPU software stack runs them: NCCL's algorithms and protocols, chosen by NCCL's own
cost model, and the one-shot / two-shot all-reduce kernels that serving stacks use for small messages.

Every algorithm costs a fixed latency plus the bytes that cross one GPU's link port at the payload rate
of its protocol (`Cost`); the emitter turns that into a delay and one task on the link (emit.py).

NCCL (src/graph/tuning.cc, NCCL 2.28; the table's NCCL_* constants), for S bytes over n GPUs of one
NVLink domain whose port carries B = link rate x NVLINK_PROTOCOL_EFFICIENCY (NCCL's ring bus bandwidth):
- ring, 2(n-1) steps for an all-reduce (n-1 for an all-gather): latency base + steps x hop, bus
  bandwidth B x the protocol's payload share (LL: 8 data bytes per 16-byte line, 0.5; LL128: 120 of 128
  bytes; Simple: 1), algorithm bandwidth = bus bandwidth x n / steps;
- NVLS (NVLink SHARP: the NVSwitch adds the GPUs' data, Hopper and later): one fixed latency, algorithm
  bandwidth = NVLS bus bandwidth x n / (2(n-1)), the bus bandwidth measured on 8 H100s (NVLS_BUS_EFFICIENCY);
- NCCL picks the cheapest (as its ncclTopoGetAlgoTime does). Its tree algorithm is left out: inside one
  node its latency is at least the ring's and its bandwidth half of the bus bandwidth, so NCCL's model
  never picks it there; across nodes it is represented by the hierarchical plan below.
Across nodes (a system with `group_size` GPUs per NVLink domain and a scale-out network): reduce-scatter
inside the node, a ring all-reduce of the 1/g shard between the nodes over each GPU's own NIC
(`scale_out_bandwidth`, `scale_out_latency` per step), all-gather inside the node; the three phases are
pipelined chunk by chunk, so the link and the NIC stream side by side.

One-shot and two-shot (vLLM's and SGLang's custom all-reduce, TensorRT-LLM's ONESHOT/TWOSHOT): the GPUs
exchange flags through each other's memory and load the peers' data over NVLink. One-shot: a barrier,
every GPU reads the (n-1) other inputs and adds them; its latency, CUSTOM_AR_BASE_S + CUSTOM_AR_PER_PEER_S
x (n-1), is fitted on measured small-message latencies. Two-shot: a reduce-scatter read of (n-1)/n of the
data and an all-gather of the result, each phase with its own exchange (twice the one-shot latency).
Serving stacks use them when they beat NCCL, which for decode-sized messages they do.

All-to-all (MoE dispatch and combine, nccl-tests' alltoall_perf): every rank sends 1/n of its buffer to each
of the n ranks, as NCCL runs it (grouped point-to-point sends, Simple protocol, all peers at once). The ranks
of the collective sit `stride` GPUs apart (an expert-parallel group's peers are one tensor-parallel group
apart); those in the GPU's own NVLink domain take their share over NVLink, the others over the GPU's own NIC
(a rail-optimized fabric: GPU i of every node on leaf switch i, and NCCL's PXN moves a cross-rail message
over NVLink to the GPU on the right rail first, so each NIC still carries its own GPU's share); the two
streams run side by side. Latency: NCCL's Simple base, one NVLink step, and one network step when a peer is
on another node.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.calibration import (COLLECTIVE_BASE_S, CUSTOM_AR_BASE_S, CUSTOM_AR_PER_PEER_S, NCCL_LL128_BASE_S, NCCL_LL128_STEP_S, NCCL_NVLS_LATENCY_S,
                                 NCCL_SIMPLE_BASE_S, NCCL_SIMPLE_STEP_S, NVLINK_PROTOCOL_EFFICIENCY,
                                 NVLS_BUS_EFFICIENCY)
from archsim.errors import ArchsimInputError

# Payload share of each NCCL protocol's line (NCCL: LL sends 8 data bytes and 8 flag bytes per 16-byte store;
# LL128 120 data bytes per 128-byte line; Simple only data), as its tuning model applies them.
PROTOCOL_PAYLOAD = {"LL": 0.5, "LL128": 120.0 / 128.0, "Simple": 1.0}
ALGORITHMS = ("auto", "nccl", "ring", "nvls", "oneshot", "twoshot")
CUSTOM = ("oneshot", "twoshot")


@dataclass(frozen=True)
class Net:
    """What one GPU of a system sees of its network."""
    ranks: int  # GPUs in the collective
    link_bps: float  # payload bytes/s of one GPU's NVLink port, per direction (after NCCL's protocol overhead)
    hop_s: float  # one NVLink hop
    nvls: bool  # the switch reduces (NVLink SHARP)
    node: int  # GPUs per NVLink domain in this collective (= ranks inside one node)
    nic_bps: float = 0.0  # per GPU, per direction, between nodes
    nic_s: float = 0.0  # one network step

    @property
    def nodes(self) -> int:
        return max(1, self.ranks // self.node)


@dataclass(frozen=True)
class Cost:
    algorithm: str  # "ring/LL", "nvls", "oneshot", "hier(ring/LL)" ...
    latency_s: float
    link_bytes: float  # bytes through this GPU's NVLink port at `link_bps`
    nic_bytes: float = 0.0  # bytes through its NIC

    def seconds(self, net: Net) -> float:
        """Latency, then the link and NIC streams side by side (NCCL pipelines the phases chunk by chunk)."""
        return self.latency_s + max(self.link_bytes / net.link_bps,
                                    self.nic_bytes / net.nic_bps if self.nic_bytes else 0.0)


def net_of(system, ranks: int) -> Net:
    ic = system.interconnect
    node = min(ranks, int(ic.group_size or system.count))
    if ranks > node and not ic.scale_out_bandwidth:
        raise ArchsimInputError(f"{system.name}: {ranks} GPUs span more than one NVLink domain of {node}, but the "
                                "system file gives no interconnect.scale_out_bandwidth")
    return Net(ranks, float(ic.link_bandwidth) * NVLINK_PROTOCOL_EFFICIENCY, float(ic.hop_latency),
               bool(ic.switch_reduction), node, float(ic.scale_out_bandwidth or 0.0),
               float(ic.scale_out_latency or 0.0))


_BASE = {"LL": COLLECTIVE_BASE_S, "LL128": NCCL_LL128_BASE_S, "Simple": NCCL_SIMPLE_BASE_S}


def _step(net: Net, proto: str) -> float:
    return {"LL": net.hop_s, "LL128": NCCL_LL128_STEP_S, "Simple": NCCL_SIMPLE_STEP_S}[proto]


def ring(size: float, net: Net, proto: str, kind: str = "allreduce", n: int | None = None) -> Cost:
    """NCCL's ring inside one NVLink domain of `n` GPUs: bytes through the port = size x steps / n."""
    n = n or net.node
    steps = 2 * (n - 1) if kind == "allreduce" else n - 1
    return Cost(f"ring/{proto}", _BASE[proto] + steps * _step(net, proto),
                size * steps / n / PROTOCOL_PAYLOAD[proto])


def nvls(size: float, net: Net) -> Cost:
    n = net.node
    # the port carries size x 2(n-1)/n at the NVLS bus bandwidth, which is NVLS_BUS_EFFICIENCY of the line rate
    return Cost("nvls", NCCL_NVLS_LATENCY_S,
                size * 2 * (n - 1) / n * NVLINK_PROTOCOL_EFFICIENCY / NVLS_BUS_EFFICIENCY)


def custom(size: float, net: Net, shots: int) -> Cost:
    """One-shot (shots=1) or two-shot (2) all-reduce through peer memory (see the module docstring)."""
    n = net.node
    exchange = CUSTOM_AR_BASE_S + CUSTOM_AR_PER_PEER_S * (n - 1)
    if shots == 1:
        return Cost("oneshot", exchange, size * (n - 1))
    return Cost("twoshot", 2 * exchange, size * 2 * (n - 1) / n)


def alltoall(size: float, net: Net, ranks: int, stride: int = 1) -> Cost:
    """All-to-all of `size` bytes per rank (1/ranks to each rank, itself included) over `ranks` GPUs placed
    `stride` apart; `net` is net_of(system, ranks x stride), the GPUs the collective spans."""
    local = max(1, min(ranks, net.node // max(1, stride)))  # ranks in this GPU's NVLink domain, itself included
    remote = ranks - local
    latency = NCCL_SIMPLE_BASE_S + (net.hop_s if local > 1 else 0.0) + (net.nic_s if remote else 0.0)
    return Cost("alltoall", latency, size * (local - 1) / ranks, size * remote / ranks)


def p2p(size: float, net: Net, across_nodes: bool = False) -> Cost:
    """One point-to-point send of `size` bytes (a pipeline stage boundary): over NVLink inside a node, over
    the GPU's NIC when the boundary crosses nodes (NCCL's Simple base and one network step)."""
    if across_nodes:
        if not net.nic_bps:
            raise ArchsimInputError("a pipeline stage boundary crosses nodes, but the system file gives no "
                                    "interconnect.scale_out_bandwidth")
        return Cost("p2p/net", COLLECTIVE_BASE_S + net.nic_s, 0.0, size)
    return Cost("p2p", COLLECTIVE_BASE_S + net.hop_s, size)


def nccl_options(size: float, net: Net, kind: str) -> list[Cost]:
    single = [ring(size, net, p, kind) for p in PROTOCOL_PAYLOAD]
    if kind == "allreduce" and net.nvls and net.node > 2:
        single.append(nvls(size, net))
    if net.nodes == 1:
        return single
    # across nodes: in-node reduce-scatter (or all-gather), a ring over the nodes on each GPU's NIC, in-node all-gather
    shard = size / net.node
    steps = 2 * (net.nodes - 1) if kind == "allreduce" else net.nodes - 1
    out = []
    for p in PROTOCOL_PAYLOAD:
        intra = ring(size, net, p, "allgather")
        rs_ag = 2 if kind == "allreduce" else 1
        out.append(Cost(f"hier(ring/{p})", rs_ag * intra.latency_s + steps * net.nic_s,
                        rs_ag * intra.link_bytes, shard * steps / net.nodes / PROTOCOL_PAYLOAD[p]))
    return out


def choose(size: float, net: Net, kind: str = "allreduce", algorithm: str = "auto") -> Cost:
    """The collective as the stack runs it. `algorithm`: auto (the fastest of NCCL's choice and, for
    all-reduce inside one NVLink domain, one-shot and two-shot), nccl (NCCL's choice), or one by name."""
    if algorithm not in ALGORITHMS:
        raise ArchsimInputError(f"mapper option 'allreduce' must be one of {', '.join(ALGORITHMS)}, "
                                f"got {algorithm!r}")
    if kind == "p2p":
        return p2p(size, net)
    options = nccl_options(size, net, kind)
    if algorithm == "ring":
        options = [c for c in options if "ring" in c.algorithm]
    elif algorithm == "nvls":
        options = [c for c in options if c.algorithm == "nvls"] or options
    custom_ok = kind == "allreduce" and net.nodes == 1 and net.node > 1
    if algorithm in CUSTOM and custom_ok:
        options = [custom(size, net, 1 if algorithm == "oneshot" else 2)]
    elif algorithm == "auto" and custom_ok:
        options = options + [custom(size, net, 1), custom(size, net, 2)]
    return min(options, key=lambda c: c.seconds(net))
