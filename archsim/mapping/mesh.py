"""`mesh-dataflow`: the default mapper for wafer-scale mesh chips (Cerebras WSE-2/WSE-3).

Decoder layers are placed on rectangular regions of cores (archsim/mapping/
mesh_place.py), weights and KV cache resident in SRAM; GEMV/GEMM run as mesh
algorithms with explicit reduction and broadcast traffic (mesh_layer.py) whose
costs follow WaferLLM's PLMR model (mesh_costs.py). One representative layer is
simulated and repeated `layers` times; region hand-offs, wafer crossings, the
embedding and the LM head are segments of their own. Model, constants and
validation: docs/wafer.md.
"""
from __future__ import annotations

import numpy as np

from archsim.engine import CATEGORIES, simulate
from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.mapping.mesh_costs import ACCUMULATOR_BYTES, KERNEL_PROFILES, MeshCosts, MeshEmitter, colors_needed
from archsim.mapping.mesh_cycle import WaferNetwork
from archsim.mapping.mesh_layer import RegionLowering
from archsim.mapping.mesh_place import Demand, Placement, footprint, parse_region, place
from archsim.mapping.mesh_report import describe, noc_fidelity
from archsim.mapping.mesh_traffic import link_bytes
from archsim.workload.model import DTYPE_BYTES

NAME = "mesh-dataflow"
STRATEGIES = ("meshgemv", "gather")


@register_mapper(
    NAME, family="mesh", default_for=("mesh",),
    description="layers on core regions, weights in SRAM; MeshGEMV/MeshGEMM (WaferLLM) or gather-style collectives",
    options=(
        Option("region", str, "auto", "cores per decoder-layer region: auto (fewest regions that fit, the "
                                      "whole system) or WxH like 420x420", check=parse_region),
        Option("strategy", str, "meshgemv", "meshgemv: K-tree reductions and MeshGEMM (WaferLLM); gather: "
                                            "partial sums gathered to one core per line and SUMMA broadcasts "
                                            "(GPU/T10 style)", choices=STRATEGIES),
        Option("tree_levels", int, 2, "levels of the K-tree reduction (meshgemv; WaferLLM uses 2)"),
        Option("kernels", str, "waferllm", "software whose overheads (beta, sigma) apply: waferllm (calibrated "
                                           "on WaferLLM, OSDI 2025) or cerebras-2024 (Cerebras's Aug-2024 "
                                           "inference service)", choices=tuple(KERNEL_PROFILES)),
        Option("accumulate", str, "fp16", "precision of partial sums (local accumulators and reduction "
                                          "messages): fp16 as WaferLLM's kernels, or fp32",
               choices=("fp16", "fp32")),
        Option("layers_only", bool, False, "time only the decoder layers, per-layer time x layers, as WaferLLM "
                                           "reports (no embedding, LM head, hand-offs or wafer crossings)"),
    ))
def map_mesh(system, graph, scenario, options) -> Mapping:
    strategy, levels = options["strategy"], options["tree_levels"]
    if levels < 1:
        raise ArchsimInputError(f"mapper {NAME!r} option 'tree_levels' must be at least 1, got {levels}")
    costs = MeshCosts.from_system(system, DTYPE_BYTES[scenario.act_dtype], options["kernels"],
                                  ACCUMULATOR_BYTES[options["accumulate"]])
    need = colors_needed(strategy, levels)
    if need > costs.colors:
        raise InfeasibleError(f"strategy {strategy} with {levels} tree levels needs {need} routable colours per "
                              f"router; {system.chip.name} has {costs.colors}", {"colors_needed": need})
    region = parse_region(options["region"])
    # --fidelity cycle: every on-wafer transfer is timed on the cycle-level network (mesh_cycle.py)
    net = WaferNetwork.from_costs(costs) if options.get("fidelity") == "cycle" else None
    if graph.phase == "gemm":
        return _map_kernel(system, graph, options, costs, region, net)
    layers_only = options["layers_only"]
    fp = footprint(graph, scenario)
    plan = place(fp, costs, system.count, region, layers_only, graph.workload, system.chip.name)
    segments = []
    if not layers_only:
        segments += _pre(graph, plan, costs, strategy, levels, net)
    layer, events = _layer(graph, plan, costs, strategy, levels, net)
    segments.append(Segment(layer, graph.layers, "decoder layer"))
    if not layers_only:
        segments += _between(graph, plan, costs, strategy, levels, net)
        segments += _post(graph, plan, costs, strategy, levels, net)
    split = _critical_split_s(layer)
    task_split = _critical_split_s(_layer(graph, plan, costs, strategy, levels, None)[0]) if net else None
    notes, extra = describe(system, graph, plan, costs, options, split, net, task_split)
    extra.update(_heatmaps(plan, costs, events, levels))
    return Mapping(NAME, dict(options), segments, chips_used=plan.wafers_used, notes=notes, extra=extra)


def _layer(graph, plan: Placement, costs, strategy, levels, net):
    em = MeshEmitter(costs, strategy, levels, net)
    low = RegionLowering(em, plan.region_w, plan.region_h, graph.phase, graph.tokens)
    deps: list[int] = []
    for op in graph.layer_ops(0):
        deps = low.emit(op, deps)
    return em.build(), em.events


def _heatmaps(plan: Placement, costs: MeshCosts, events, levels: int) -> dict:
    """Per-core SRAM and per-link bytes of one layer region (the report's mesh heatmap hook).
    Every core of a region holds an equal share, so the SRAM map is flat by construction."""
    w, h = plan.region_w, plan.region_h
    link_x, link_y = link_bytes(w, h, events, levels)
    return {"core_sram_bytes": np.full((h, w), plan.layer_demand.total),
            "core_sram_capacity_bytes": costs.sram_bytes, "link_bytes_x": link_x, "link_bytes_y": link_y,
            "region_origin": (0, 0)}


def _vector_bytes(graph, costs, lines: int) -> float:
    """Bytes one line of cores carries when the hidden state of every token moves between regions."""
    hidden_bytes = graph.ops[0].act_write_bytes if graph.ops else 0.0  # the embedding writes tokens x hidden
    return max(costs.dtype_bytes, hidden_bytes / max(1, lines))


def _pre(graph, plan, costs, strategy, levels, net) -> list[Segment]:
    ops = graph.pre_ops
    if not ops:
        return []
    em = MeshEmitter(costs, strategy, levels, net)
    # the token's row moves from the embedding region into the first layer region, every column in parallel
    em.hop(ops[0].name, ops[0].layer, "y", plan.region_h, _vector_bytes(graph, costs, plan.region_w), [])
    return [Segment(em.build(), 1, "embedding")]


def _between(graph, plan, costs, strategy, levels, net) -> list[Segment]:
    out = []
    if plan.handoffs:
        em = MeshEmitter(costs, strategy, levels, net)
        em.hop("handoff", -1, "y", plan.region_h, _vector_bytes(graph, costs, plan.region_w), [])
        out.append(Segment(em.build(), plan.handoffs, "region hand-off"))
    if plan.crossings:
        em = MeshEmitter(costs, strategy, levels, net)
        nbytes = _vector_bytes(graph, costs, 1)
        to_edge = em.hop("wafer_io", -1, "x", costs.grid_w // 2, _vector_bytes(graph, costs, plan.region_w), [])
        across = em.wafer_crossing("wafer_io", -1, nbytes, to_edge)
        em.hop("wafer_io", -1, "x", costs.grid_w // 2, _vector_bytes(graph, costs, plan.region_w), across)
        out.append(Segment(em.build(), plan.crossings, "wafer crossing"))
    return out


def _post(graph, plan, costs, strategy, levels, net) -> list[Segment]:
    ops = graph.post_ops
    if not ops:
        return []
    em = MeshEmitter(costs, strategy, levels, net)
    w, h = plan.head_shape
    low = RegionLowering(em, w, h, graph.phase, graph.tokens)
    deps: list[int] = []
    for op in ops:
        deps = low.emit(op, deps)
    # sampling: arg-max over the vocabulary, then the token goes back to the embedding (first wafer)
    layer = ops[-1].layer
    deps = em.allreduce("sample", layer, "x", w, 2 * graph.batch, deps)
    deps = em.allreduce("sample", layer, "y", h, 2 * graph.batch, deps)
    if plan.wafers_used > 1:
        em.wafer_crossing("sample", layer, 4 * graph.batch, deps)
    else:
        em.hop("sample", layer, "x", (costs.grid_w + costs.grid_h) // 2, 4 * graph.batch, deps)
    return [Segment(em.build(), 1, "LM head and sampling")]


def _map_kernel(system, graph, options, costs, region, net) -> Mapping:
    """A single GEMM/GEMV (gemm:MxNxK) on one region (default: the whole wafer)."""
    w, h = region or (costs.grid_w, costs.grid_h)
    if w > costs.grid_w or h > costs.grid_h:
        raise ArchsimInputError(f"region {w}x{h} does not fit {system.chip.name}'s {costs.grid_w}x{costs.grid_h} "
                                "core grid")
    op = graph.ops[0]
    per_core = Demand(op.weight_bytes / (w * h), 0.0, 2.0 * (op.act_read_bytes + op.act_write_bytes) / min(w, h)
                      if op.m < min(w, h) else 6.0 * max(op.act_read_bytes, op.act_write_bytes) / (w * h))
    if per_core.total > costs.sram_bytes:
        raise InfeasibleError(f"{op.name} does not fit a {w}x{h} region of {system.chip.name}: each core would "
                              f"hold {per_core.describe()} but has {costs.sram_bytes / 1024:.1f} KiB",
                              {"per_core_bytes": per_core.total})
    em = MeshEmitter(costs, options["strategy"], options["tree_levels"], net)
    RegionLowering(em, w, h, "decode" if op.m < min(w, h) else "prefill", op.m).emit(op, [])
    notes = [f"{NAME}: {op.name} on a {w}x{h} core region ({options['strategy']}); "
             f"each core holds {per_core.describe()}"]
    extra = {"region": f"{w}x{h}"}
    fidelity_notes, fidelity_extra = noc_fidelity(net)
    return Mapping(NAME, dict(options), [Segment(em.build(), 1, "kernel")], chips_used=1,
                   notes=notes + fidelity_notes, extra={**extra, **fidelity_extra})


def _critical_split_s(task_graph) -> dict[str, float]:
    """Seconds of one simulated layer along its critical path, by category (and waiting)."""
    sim = simulate(task_graph)
    parts = {"compute": 0.0, "memory": 0.0, "communication": 0.0, "wait": 0.0}
    previous = 0
    for k in sim.critical_path:
        start, end = int(sim.start_cycle[k]), int(sim.end_cycle[k])
        parts["wait"] += max(0, start - previous)
        parts[CATEGORIES[int(task_graph.task_category[k])]] += end - start
        previous = max(previous, end)
    return {key: cycles / task_graph.clock_hz for key, cycles in parts.items()}


