"""`mesh-dataflow`: the default mapper for wafer-scale mesh chips (Cerebras WSE-2/WSE-3).

Decoder layers are placed on rectangular regions of cores (archsim/mapping/
mesh_place.py), weights and KV cache resident in SRAM; GEMV/GEMM run as mesh
algorithms with explicit reduction and broadcast traffic (mesh_layer.py) whose
costs follow WaferLLM's PLMR model (mesh_costs.py). One representative layer is
simulated and repeated `layers` times; region hand-offs, wafer crossings, the
embedding and the LM head are segments of their own (mesh_step.py). A step whose
activations do not fit runs in pieces pipelined over the layer regions: prefill
chunks, decode micro-batches (mesh_pipeline.py, mesh_pieces.py). Model,
constants and validation: docs/wafer.md.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.families.mesh.mapper.chunk import count_option
from archsim.families.mesh.mapper.costs import ACCUMULATOR_BYTES, KERNEL_PROFILES, MeshCosts, MeshEmitter, colors_needed
from archsim.families.mesh.mapper import reuse
from archsim.families.mesh.mapper.cycle import WaferNetwork
from archsim.families.mesh.mapper.layer import RegionLowering
from archsim.families.mesh.mapper.pieces import fastest
from archsim.families.mesh.mapper.pipeline import choose_split
from archsim.families.mesh.mapper.place import Demand, Placement, parse_region
from archsim.families.mesh.mapper.report import describe, noc_fidelity
from archsim.families.mesh.mapper.traffic import link_bytes
from archsim.workload.model import DTYPE_BYTES
from archsim.workload.inline import reject_collective, require_uniform_layers

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
        Option("prefill_chunk", str, "auto", "prefill: tokens per chunk, the chunks pipelined over the layer "
                                             "regions (chunked prefill); auto: the fastest of a few candidates "
                                             "(the largest chunk that fits, the largest that runs as one MeshGEMV "
                                             "pass, halved while that is faster)",
               check=count_option("prefill_chunk", "tokens")),
        Option("prefill_layout", str, "auto", "prefill: how a region runs a step or chunk: auto (the cheaper "
                                              "that fits), blocks (every GEMM as MeshGEMM, WaferLLM's prefill) or "
                                              "passes (MeshGEMV passes of as many tokens as fit)",
               choices=("auto", "blocks", "passes")),
        Option("microbatch", str, "auto", "decode: sequences per micro-batch, the micro-batches pipelined over "
                                          "the layer regions; auto: the fastest of the largest micro-batch that "
                                          "fits and the powers of two below it",
               check=count_option("microbatch", "sequences")),
    ))
def map_mesh(system, graph, scenario, options) -> Mapping:
    reject_collective(graph, NAME)
    require_uniform_layers(graph, NAME)
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
    # messages name what the user asked for: a system as "cs3x4 (4 x wse3)", a single chip by its name
    where = system.chip.name if system.count == 1 else f"{system.name} ({system.count} x {system.chip.name})"
    runs, failures = [], []
    for view in _views(graph):
        try:
            candidates, shrink = choose_split(view, scenario, costs, system.count, region, layers_only, options,
                                              graph.workload, where)
            best, tried = fastest(view, candidates, shrink, costs, (strategy, levels, layers_only), net,
                                  options["prefill_layout"])
        except InfeasibleError as err:
            failures.append(err)
            continue
        runs.append((best.cycles, len(runs), view, best, tried))
    if not runs:
        raise failures[0]
    _, _, view, best, tried = min(runs)
    notes, extra = describe(system, view, best.plan, costs, options, best.split, net, best.task_split,
                            best.piece, best.lowering, tried)
    if view is not graph or len(runs) > 1:
        notes.append(_verify_note(graph, view, runs))
    if reuse.active() is None:  # a caller timing many steps (serving, mesh_reuse.py) reads no heatmaps
        extra.update(_heatmaps(best.plan, costs, best.events, levels))
    return Mapping(NAME, dict(options), best.segments, chips_used=best.plan.wafers_used, notes=notes,
                   extra=extra)


def _views(graph) -> list:
    """The step, and for a speculative verify step (a decode of q > 1 tokens per sequence) also the same
    operators run token-pipelined: the q tokens as chunks after the cached context, through the layer regions
    like prefill chunks (each token's attention reads the K/V the tokens before it wrote in the same region).
    The mapper keeps the faster."""
    geometry = next((op.attrs for op in graph.ops if op.kind == "attn_score"), {})
    if graph.phase == "decode" and geometry.get("q_len", 1) > 1:
        return [graph, replace(graph, phase="prefill")]
    return [graph]


def _verify_note(graph, view, runs) -> str:
    q = next(op.attrs for op in graph.ops if op.kind == "attn_score")["q_len"]
    times = ", ".join(f"{'token-pipelined' if v.phase == 'prefill' else 'decode micro-batches'} "
                      f"{c:,} cycles" for c, _, v, _, _ in runs)
    chosen = "token-pipelined (the q tokens as chunks after the context)" if view.phase == "prefill" \
        else "as decode micro-batches"
    return f"speculative verify step of {q} tokens per sequence: run {chosen}, the faster of {times}"


def _heatmaps(plan: Placement, costs: MeshCosts, events, levels: int) -> dict:
    """Per-core SRAM and per-link bytes of one layer region (the report's mesh heatmap hook).
    Every core of a region holds an equal share, so the SRAM map is flat by construction."""
    w, h = plan.region_w, plan.region_h
    link_x, link_y = link_bytes(w, h, events, levels)
    return {"core_sram_bytes": np.full((h, w), plan.layer_demand.total),
            "core_sram_capacity_bytes": costs.sram_bytes, "link_bytes_x": link_x, "link_bytes_y": link_y,
            "region_origin": (0, 0)}


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
