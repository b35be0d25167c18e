"""Segments of a step that runs in pieces through the layer pipeline (mesh_pipeline.py):
chunked prefill (its fill-and-drain critical path) and micro-batched decode (one step
of its steady state). Every segment is a graph the engine runs; their times add up to
the pipeline's time, so the report's per-operator split is that of the critical path."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from archsim.engine import simulate
from archsim.mapping.base import Segment
from archsim.mapping.choose import first_best
from archsim.families.mesh.mapper import reuse
from archsim.families.mesh.mapper.lowering import Lowering, choose
from archsim.families.mesh.mapper.place import Placement
from archsim.families.mesh.mapper.pipeline import Split, fill_and_drain, piece_graph, steady_period
from archsim.families.mesh.mapper.report import describe_split
from archsim.families.mesh.mapper.step import (BOUNDARY_LABELS, boundary_graph, critical_split_s, layer_graph,
                                       post_segments, pre_segments, whole_step)


def _cycles(task_graph) -> int:
    known = reuse.known_cycles(task_graph)
    return known if known is not None else int(simulate(task_graph).makespan_cycles)


def _relabel(task_graph, layer: int):
    """The representative layer's graph with its operators named after `layer` ('L0.qkv' -> 'L5.qkv')."""
    labels = [f"L{layer}." + s[3:] if s.startswith("L0.") else s for s in map(str, task_graph.op_labels)]
    return reuse.swapped(task_graph, op_labels=np.array(labels, dtype=str))


def _times(split: dict[str, float], k: int) -> dict[str, float]:
    return {key: value * k for key, value in split.items()}


def _sum_splits(splits) -> dict[str, float] | None:
    splits = [s for s in splits if s is not None]
    return {k: sum(s[k] for s in splits) for k in splits[0]} if splits else None


def chunked_prefill(graph, plan, costs, step, net, cut: Split, lowering=None):
    """(segments, per-layer split, its task-level twin, link events, description) of a chunked prefill whose
    layers run as `lowering` says (mesh_lowering.Lowering)."""
    strategy, levels, layers_only = step
    pieces = cut.pieces
    store = reuse.active() if net is None else None
    layers, events, cycles, splits = [], [], [], []
    if store is not None:  # chunk layers shared across the steps mapped in this context (mesh_reuse.py)
        batch = next(op.attrs for op in graph.ops if op.kind == "attn_score")["batch"]
        shared = [reuse.chunk_layer(store, plan, costs, strategy, levels, lowering, batch, size, prefix)
                  for size, prefix in pieces]
        graphs = [e.graph for e in shared]
        for e in shared:  # no link events: steps mapped inside draw no heatmaps
            layers.append(e.layer)
            cycles.append(e.cycles)
            splits.append(e.split)
    else:
        graphs = [piece_graph(graph, cut, size, prefix) for size, prefix in pieces]
        for g in graphs:
            tg, ev = layer_graph(g, plan, costs, strategy, levels, net, lowering)
            layers.append(tg)
            events += ev
            cycles.append(_cycles(tg))
    region_layers = plan.region_layers(graph.layers)
    hops: dict[tuple[str, int], tuple] = {}  # (kind, chunk size) -> (graph, cycles), built once per size

    def hop(kind: str, j: int):
        key = (kind, pieces[j][0])
        if key not in hops:
            if kind == "entry":
                tg = pre_segments(graphs[j], plan, costs, strategy, levels, net)[0].graph
            else:
                tg = boundary_graph(graphs[j], plan, costs, strategy, levels, net, kind)
            hops[key] = (tg, _cycles(tg))
        return hops[key]

    if layers_only or not graph.pre_ops:
        entry = [0] * len(pieces)
    else:
        entry = [hop("entry", j)[1] for j in range(len(pieces))]
    if layers_only:
        path = fill_and_drain(region_layers, cycles, entry, lambda r, j: 0)
    else:
        rows: dict[str, list[int]] = {}  # a hand-off's cycles depend on its kind and the chunk's size only

        def row(r: int) -> list[int]:
            kind = plan.boundaries[r - 1]
            if kind not in rows:
                rows[kind] = [hop(kind, j)[1] for j in range(len(pieces))]
            return rows[kind]

        path = fill_and_drain(region_layers, cycles, entry, lambda r, j: hop(plan.boundaries[r - 1], j)[1], row)
    segments = []
    if not layers_only and graph.pre_ops:
        segments.append(Segment(hop("entry", path.entry)[0], 1, "embedding"))
    first_layer = np.concatenate(([0], np.cumsum(region_layers)))
    n = len(pieces)
    for j, r_first, r_last in path.columns:
        count = int(sum(region_layers[r_first:r_last + 1]))
        if count == graph.layers:
            tg = layers[j]
        elif store is not None:
            tg = reuse.relabelled(store, shared[j], int(first_layer[r_first]), _relabel)
        else:
            tg = _relabel(layers[j], int(first_layer[r_first]))
        segments.append(Segment(tg, count, f"decoder layer, chunk {j + 1} of {n} ({pieces[j][0]} tokens)"))
    if not layers_only:
        crossed = [(plan.boundaries[r - 1], j) for r, j in enumerate(path.crossed, start=1)]
        if len(plan.boundaries) == len(region_layers):  # the last layer region hands the last chunk to the head
            crossed.append((plan.boundaries[-1], n - 1))
        by_size = Counter((kind, pieces[j][0]) for kind, j in crossed)  # chunks of one size hand off alike
        some = {size: j for j, (size, _) in enumerate(pieces)}
        for (kind, size), k in sorted(by_size.items(), key=lambda item: (item[0][0] != "handoff", -item[0][1])):
            segments.append(Segment(hop(kind, some[size])[0], k, BOUNDARY_LABELS[kind]))
        segments += post_segments(graphs[-1], plan, costs, strategy, levels, net)
    split = _sum_splits(splits if store is not None else (critical_split_s(tg) for tg in layers))
    task_split = _sum_splits(critical_split_s(layer_graph(g, plan, costs, strategy, levels, None, lowering)[0])
                             for g in graphs) if net else None
    serial = sum(cycles) * graph.layers
    return segments, split, task_split, events, describe_split(cut, {
        "layer_cycles": cycles, "clock_hz": costs.clock_hz, "regions": len(region_layers),
        "pipeline_cycles": path.cycles, "serial_layer_cycles": serial, "layers_only": layers_only})


def microbatched_decode(graph, plan, costs, step, net, cut: Split):
    """(segments, per-layer split, its task-level twin, link events, description) of one decode step in
    steady state with the batch's micro-batches circulating through the layer pipeline."""
    strategy, levels, layers_only = step
    sizes = Counter(size for size, _ in cut.pieces)
    trips, layer_cycles, head_cycles, events = {}, {}, {}, []
    for size in sizes:
        g = piece_graph(graph, cut, size, 0)
        segments, layer, ev = whole_step(g, plan, costs, step, net)
        trips[size] = (segments, sum(_cycles(s.graph) * s.repeat for s in segments), g, layer)
        layer_cycles[size] = _cycles(layer)
        head = [s for s in segments if s.label == "LM head and sampling"]
        head_cycles[size] = _cycles(head[0].graph) if head else 0
        events += ev * sizes[size]
    region_layers = plan.region_layers(graph.layers)
    busy = {"the busiest layer region": max(region_layers) * sum(layer_cycles[s] * k for s, k in sizes.items()),
            "the LM head": sum(head_cycles[s] * k for s, k in sizes.items())}
    period, why = steady_period([t[1] for t in trips.values()], busy)
    if why == "round trip":
        segments = trips[max(trips, key=lambda s: (trips[s][1], s))][0]
    elif why == "the LM head":
        segments = [Segment(next(s for s in trips[size][0] if s.label == "LM head and sampling").graph, k,
                            f"LM head and sampling, micro-batches of {size}") for size, k in sizes.items()]
    else:
        segments = [Segment(trips[size][3], max(region_layers) * k, f"decoder layers of the busiest region, "
                            f"micro-batches of {size}") for size, k in sizes.items()]
    split = _sum_splits(_times(critical_split_s(trips[size][3]), k) for size, k in sizes.items())
    task_split = None
    if net:
        task_split = _sum_splits(_times(critical_split_s(layer_graph(trips[size][2], plan, costs, strategy, levels,
                                                                     None)[0]), k) for size, k in sizes.items())
    return segments, split, task_split, events, describe_split(cut, {
        "clock_hz": costs.clock_hz, "period_cycles": period, "set_by": why,
        "round_trip_cycles": max(t[1] for t in trips.values()), "busy_cycles": busy, "layers_only": layers_only})


@dataclass
class StepRun:
    """One way to run the step: its placement and pieces, the lowering of its prefill layers, what the mapper
    builds from them, and the cycles its segments add up to (the step's latency)."""

    plan: Placement
    cut: Split
    lowering: Lowering | None
    segments: list
    split: dict
    task_split: dict | None
    events: list
    piece: dict
    cycles: int


def step_in(graph, plan, cut: Split, costs, step, net, layout: str = "auto") -> StepRun:
    """The step run as `cut` says on `plan`; a prefill's layers lowered as `layout` says (mesh_lowering.choose)."""
    strategy, levels, _ = step
    lowering = None
    store = reuse.active() if net is None else None
    if graph.phase == "prefill":
        piece = piece_graph(graph, cut, cut.size, cut.total - cut.size)  # the last full chunk
        floor = None
        if store is not None and cut.count > 1:
            batch = next(op.attrs for op in graph.ops if op.kind == "attn_score")["batch"]

            def floor():
                return reuse.blocks_floor(store, plan, costs, strategy, levels, batch, cut.size)
        lowering = choose(graph, piece, plan, costs, strategy, levels, cut.size, cut.total, layout,
                          _shared_cycles(store, graph, plan, costs, strategy, levels, cut), floor)
        if lowering.demand is not None:
            plan = replace(plan, layer_demand=lowering.demand)
    if cut.count == 1:
        built = reuse.whole_layer(store, graph, plan, costs, strategy, levels, lowering)[:2] if store else None
        segments, layer, events = whole_step(graph, plan, costs, step, net, lowering, built)
        split = reuse.whole_split(store, layer) if store else critical_split_s(layer)
        task_split = critical_split_s(layer_graph(graph, plan, costs, strategy, levels, None, lowering)[0]) \
            if net else None
        piece_info = describe_split(cut, None)
    elif cut.option == "prefill_chunk":
        segments, split, task_split, events, piece_info = chunked_prefill(graph, plan, costs, step, net, cut,
                                                                          lowering)
    else:
        segments, split, task_split, events, piece_info = microbatched_decode(graph, plan, costs, step, net, cut)
    cycles = sum(_cycles(s.graph) * s.repeat for s in segments)
    return StepRun(plan, cut, lowering, segments, split, task_split, events, piece_info, cycles)


def _shared_cycles(store, graph, plan, costs, strategy, levels, cut: Split):
    """With chunk layers shared (mesh_reuse.py): lowering -> cycles of the step's last full piece, from the
    store (a chunk's shape, or the whole step's layer kept for this step); None: choose builds its own."""
    if store is None:
        return None
    if cut.count == 1:
        return lambda low: reuse.whole_layer(store, graph, plan, costs, strategy, levels, low)[2]
    batch = next(op.attrs for op in graph.ops if op.kind == "attn_score")["batch"]
    return lambda low: reuse.chunk_layer(store, plan, costs, strategy, levels, low, batch, cut.size,
                                         cut.total - cut.size).cycles


def fastest(graph, candidates, shrink, costs, step, net, layout: str = "auto") -> tuple[StepRun, list[StepRun]]:
    """The fastest of `candidates` [(placement, Split)], the largest piece first (it wins ties), and every run
    tried. `shrink(size)` gives the next smaller piece after the last candidate (None: none); it is tried, and
    the next after it, while each is faster than the one before. Candidates are compared at task fidelity; the
    one kept is re-run at the fidelity asked for."""
    if len(candidates) == 1 and shrink is None:
        run = step_in(graph, *candidates[0], costs, step, net, layout)
        return run, [run]
    pairs = list(candidates)
    store = reuse.active() if net is None else None

    def attempt(plan, cut):
        if store is not None and layout == "auto" and graph.phase == "prefill" and cut.option == "prefill_chunk":
            bound = reuse.step_bound(store, graph, plan, costs, step[0], step[1], cut, layout)
            if bound is not None:
                return _Deferred(bound, lambda: step_in(graph, plan, cut, costs, step, None, layout), cut)
        return step_in(graph, plan, cut, costs, step, None, layout)

    tried = [attempt(plan, cut) for plan, cut in pairs]
    if isinstance(tried[-1], _Deferred):  # the smallest piece: usually the fastest, and what shrink starts from
        tried[-1] = tried[-1].run()
    while shrink is not None:
        more = shrink(tried[-1].cut.size)
        if more is None:
            break
        pairs.append(more)
        tried.append(step_in(graph, *more, costs, step, None, layout))
        if tried[-1].cycles >= tried[-2].cycles:
            break
    # With chunk layers shared (serving), a candidate before the last is run only if it could be the fastest:
    # its cycles are >= its bound (reuse.step_bound), so one whose bound exceeds the least cycles of the runs
    # made is slower than that run and first_best never picks it; leaving it out of `tried` gives the same best
    # (ties: a bound equal to the least is run, it may come first). Only the report's list of auto's
    # candidates, which a serving step's cost does not read, lacks it. The shrink loop compares runs made.
    least = min(r.cycles for r in tried if not isinstance(r, _Deferred))
    for i in sorted((i for i, r in enumerate(tried) if isinstance(r, _Deferred)), key=lambda i: tried[i].bound):
        if tried[i].bound <= least:  # it may be the fastest (or tie with it and come first): run it
            tried[i] = tried[i].run()
            least = min(least, tried[i].cycles)
        else:
            store.skipped += 1
    kept = [(pair, r) for pair, r in zip(pairs, tried) if not isinstance(r, _Deferred)]
    pairs, tried = [p for p, _ in kept], [r for _, r in kept]
    best = first_best(tried, lambda r: r.cycles)  # the rule archsim search ranks by (archsim/mapping/choose.py)
    if net is not None:
        best = step_in(graph, pairs[tried.index(best)][0], best.cut, costs, step, net, layout)
    return best, tried


@dataclass
class _Deferred:
    """A candidate not run yet: `bound` cycles it cannot beat, `run()` runs it (fastest)."""

    bound: int
    run: object
    cut: Split
