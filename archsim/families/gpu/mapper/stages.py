"""Pipeline stages across nodes and micro-batches, and the step one GPU of gpu-tiled runs (docs/gpu.md,
"Multi-node"): how many micro-batches, which stage boundaries cross nodes, the graph of one micro-batch
(and, with expert parallelism, of one group's share of it), and the notes that say so."""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.families.gpu.mapper.experts import ep_experts, split_scenario


def resolve_microbatches(raw, pp: int, batch: int | None) -> int:
    """`auto`: pp micro-batches (every stage busy in steady state, as vLLM's and TensorRT-LLM's pipeline
    schedulers keep pp batches in flight); else a positive integer. Either is capped at the batch (a
    micro-batch holds at least one sequence; a serving step may hold fewer sequences than the option
    asks for), and the run's notes say so."""
    raw = str(raw)
    if raw == "auto":
        return max(1, min(pp, batch or pp))
    try:
        m = int(raw)
    except ValueError:
        m = 0
    if m < 1:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option microbatches must be a positive integer or auto, "
                                f"got {raw!r}")
    return min(m, batch) if batch is not None else m


def step_graph(graph, scenario, micro: int, ep: int, imbalance: float):
    """What one GPU runs for one micro-batch: `graph` itself without micro-batches or expert parallelism;
    else the model lowered again for a micro-batch (ceil(batch / microbatches) sequences) and, with ep > 1,
    for the group's share of it, with the routed experts of the group (mapper/experts.py)."""
    if micro == 1 and ep == 1:
        return graph
    if graph.model is None:
        raise ArchsimInputError(f"mapper 'gpu-tiled' options microbatches and ep apply to model workloads, not "
                                f"{graph.workload}")
    from archsim.workload.lower import lower

    share = split_scenario(scenario, micro)
    full = lower(graph.model, share) if micro > 1 else graph
    if ep == 1:
        return full
    return ep_experts(full, lower(graph.model, split_scenario(share, ep)), ep, imbalance)


def stage_crossings(system, stage_gpus: int, pp: int) -> int:
    """Pipeline stage boundaries (of pp - 1) that cross nodes: stages of `stage_gpus` consecutive GPUs,
    nodes of interconnect.group_size GPUs."""
    ic = system.interconnect
    node = int(ic.group_size or system.count) if ic is not None else system.count
    return sum(1 for s in range(1, pp) if (s * stage_gpus) % node == 0 or stage_gpus > node)


def multinode_notes(pp, micro, ep, imbalance, crossing, work, graph) -> list[str]:
    notes = []
    if pp > 1 and micro > 1:
        notes.append(f"pipeline: {micro} micro-batches of {work.batch if ep == 1 else '<='} sequences through {pp} "
                     f"stages: (m + pp - 1) = {micro + pp - 1} times the slowest (last) stage, bubble "
                     f"{(pp - 1) / (micro + pp - 1):.1%}; the first micro-batch's stage sends are on the path "
                     f"({crossing} of {pp - 1} over the NIC), later sends overlap compute")
    elif pp > 1 and crossing:
        notes.append(f"pipeline: {crossing} of {pp - 1} stage boundaries cross nodes (send over the NIC)")
    if ep > 1:
        m = graph.model
        notes.append(f"expert parallelism: ep={ep} groups, {m.experts // ep} of {m.experts} experts each; "
                     f"{work.batch} sequences' attention per group (data parallel); all-to-all dispatch and "
                     "combine per MoE layer; routing "
                     + ("uniform" if imbalance == 1 else f"busiest group x{imbalance:g}"))
    return notes
