"""One step of the mesh mapper as segments: the embedding's hop, a decoder layer on its region,
the hand-offs and wafer crossings between units, and the LM head with sampling (docs/wafer.md)."""
from __future__ import annotations

import numpy as np

from archsim.engine import CATEGORIES, simulate
from archsim.mapping.base import Segment
from archsim.families.mesh.mapper.costs import MeshEmitter
from archsim.families.mesh.mapper.layer import RegionLowering
from archsim.families.mesh.mapper.lowering import Lowering, layer_graph
from archsim.families.mesh.mapper.place import Placement

BOUNDARY_LABELS = {"handoff": "region hand-off", "crossing": "wafer crossing"}


def whole_step(graph, plan: Placement, costs, step, net, lowering: Lowering | None = None, built=None):
    """One step through every unit at once: (segments, the decoder layer's graph, its link events).
    `lowering`: how a prefill layer runs (mesh_lowering.py; None: the phase's default); `built`: that layer's
    (graph, events) when already built."""
    strategy, levels, layers_only = step
    segments = []
    if not layers_only:
        segments += pre_segments(graph, plan, costs, strategy, levels, net)
    layer, events = built or layer_graph(graph, plan, costs, strategy, levels, net, lowering)
    segments.append(Segment(layer, graph.layers, "decoder layer"))
    if not layers_only:
        segments += between_segments(graph, plan, costs, strategy, levels, net)
        segments += post_segments(graph, plan, costs, strategy, levels, net)
    return segments, layer, events


def vector_bytes(graph, costs, lines: int) -> float:
    """Bytes one line of cores carries when the hidden state of every token moves between regions."""
    hidden_bytes = graph.ops[0].act_write_bytes if graph.ops else 0.0  # the embedding writes tokens x hidden
    return max(costs.dtype_bytes, hidden_bytes / max(1, lines))


def pre_segments(graph, plan, costs, strategy, levels, net) -> list[Segment]:
    ops = graph.pre_ops
    if not ops:
        return []
    em = MeshEmitter(costs, strategy, levels, net)
    # the token's row moves from the embedding region into the first layer region, every column in parallel
    em.hop(ops[0].name, ops[0].layer, "y", plan.region_h, vector_bytes(graph, costs, plan.region_w), [])
    return [Segment(em.build(), 1, "embedding")]


def between_segments(graph, plan, costs, strategy, levels, net) -> list[Segment]:
    out = []
    if plan.handoffs:
        out.append(Segment(boundary_graph(graph, plan, costs, strategy, levels, net, "handoff"), plan.handoffs,
                           BOUNDARY_LABELS["handoff"]))
    if plan.crossings:
        out.append(Segment(boundary_graph(graph, plan, costs, strategy, levels, net, "crossing"), plan.crossings,
                           BOUNDARY_LABELS["crossing"]))
    return out


def boundary_graph(graph, plan, costs, strategy, levels, net, kind: str):
    """The hidden state moving to the next unit: on the wafer ('handoff') or to the next wafer ('crossing')."""
    em = MeshEmitter(costs, strategy, levels, net)
    if kind == "handoff":
        em.hop("handoff", -1, "y", plan.region_h, vector_bytes(graph, costs, plan.region_w), [])
        return em.build()
    nbytes = vector_bytes(graph, costs, 1)
    to_edge = em.hop("wafer_io", -1, "x", costs.grid_w // 2, vector_bytes(graph, costs, plan.region_w), [])
    across = em.wafer_crossing("wafer_io", -1, nbytes, to_edge)
    em.hop("wafer_io", -1, "x", costs.grid_w // 2, vector_bytes(graph, costs, plan.region_w), across)
    return em.build()


def post_segments(graph, plan, costs, strategy, levels, net) -> list[Segment]:
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


def critical_split_s(task_graph, sim=None) -> dict[str, float]:
    """Seconds of one simulated layer along its critical path, by category (and waiting). `sim`: the graph's
    SimResult when already simulated. Cycles are integers summed exactly (int64, then one division each: the
    same floats as adding them one by one, which is exact below 2**53)."""
    sim = simulate(task_graph) if sim is None else sim
    path = np.asarray(sim.critical_path, dtype=np.int64)
    start, end = sim.start_cycle[path].astype(np.int64), sim.end_cycle[path].astype(np.int64)
    previous = np.maximum.accumulate(np.concatenate(([0], end[:-1]))) if len(path) else end
    parts = {"compute": 0, "memory": 0, "communication": 0, "wait": int(np.maximum(start - previous, 0).sum())}
    codes = task_graph.task_category[path].astype(np.int64)
    for code in np.unique(codes):
        parts[CATEGORIES[int(code)]] += int((end - start)[codes == code].sum())
    return {key: cycles / task_graph.clock_hz for key, cycles in parts.items()}
