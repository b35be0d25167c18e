"""Prefill chunk layers shared across steps, for callers that time many steps (the serving layer's table).

A chunked prefill (mesh_pieces.chunked_prefill) builds and simulates one decoder layer per chunk: a chunk of
c tokens after p others, for b prompts, on the pinned region. A serving run asks for hundreds of prefill
steps whose chunks are the same (b, c, p) shapes again and again (a prompt of 744 tokens in chunks of one
token and one of 512 share their first 512 chunks), so inside `with shared_chunks(source):` each shape is
built and simulated once and reused by every later step: the layer's task graph, its cycles, its
critical-path split, and the graph relabelled after the first layer of a region. A shape after the first of
its (b, c) is that one's task graph with only its attention tasks' work and latency emitted anew (attention
is all that depends on the prefix; its tasks' layout is checked to be the same, else the layer is built in
full). Also kept: the whole step's layer while one step is mapped (auto's lowering choice and the step's run
share it) and, per chunk size, the MeshGEMM layout's floor (`blocks_floor`). Steps mapped inside draw no
heatmaps and carry no link events.

Exact up to rounding: outside, a chunk's operators are scaled down from its step's graph (chunk.scaled_graph,
FLOPs x c / the step's tokens); inside, from `source(b)`, the step of b one-token prompts, so a shape's
operators do not depend on which step asked first (deterministic whatever the order of the table's fills).
Measured against the per-step path: the same seconds and joules bit for bit (docs/serving.md, Speed). Only
task fidelity (a cycle-level network times transfers by their order on the wafer: nothing is shared there)
and only inside the context.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from archsim.engine import CATEGORIES, TaskGraphBuilder, simulate
from archsim.engine.builder import _DELAY_CATEGORY, _KIND_CATEGORY
from archsim.families.mesh.mapper import stepmemo
from archsim.families.mesh.mapper.chunk import ATTENTION, representative, scaled_graph
from archsim.families.mesh.mapper.costs import MeshEmitter
from archsim.families.mesh.mapper.layer import RegionLowering
from archsim.families.mesh.mapper.lowering import layer_graph
from archsim.families.mesh.mapper.step import critical_split_s

MAX_ENTRIES = 40_000  # chunk shapes kept (a few kB each); the oldest go first past it


@dataclass(frozen=True)
class ChunkLayer:
    graph: object  # OpGraph of the chunk (embedding, layer 0, head)
    layer: object  # TaskGraph of its decoder layer on the region
    cycles: int
    split: dict


class ChunkStore:
    """Chunk layers kept across steps: `with store:` shares them with the steps mapped inside (reusable)."""

    def __init__(self, source):
        self.source = source  # batch -> OpGraph of that many one-token prompts (the scaling's common origin)
        self.sources: dict = {}
        self.layers: dict = {}
        self.relabelled: dict = {}
        self.cycles: dict[int, int] = {}  # id(task graph) -> makespan, for graphs held in the entries above
        self.whole: dict = {}  # a whole step's layer per lowering, for the step being mapped (few entries)
        self.splits: dict[int, dict] = {}  # id(task graph) -> critical split, for the graphs in `whole`
        self.floors: dict = {}
        self.templates: dict = {}  # a chunk shape less its prefix -> (task graph, layer_graph's trace)
        self.hits = self.misses = self.patched = 0  # patched: misses built from a template
        self.scaled: dict = {}  # (batch, chunk tokens) -> a chunk's operator graph (chunk.scaled_graph's `like`)
        self.step = stepmemo.StepMemo()  # pass sizes and the representative graph of the step being mapped
        self.skipped = 0  # candidates auto left unrun (step_bound above the best run: pieces.fastest)

    def origin(self, batch: int):
        if batch not in self.sources:
            self.sources[batch] = representative(self.source(batch))
        return self.sources[batch]

    def __enter__(self) -> "ChunkStore":
        _ACTIVE.append(self)
        stepmemo._ACTIVE.append(self.step)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)
        stepmemo._ACTIVE.remove(self.step)


_ACTIVE: list[ChunkStore] = []


def shared_chunks(source) -> ChunkStore:
    """A store of chunk layers whose operators are scaled from `source(batch)` (module docstring)."""
    return ChunkStore(source)


def active() -> ChunkStore | None:
    return _ACTIVE[-1] if _ACTIVE else None


def chunk_layer(store: ChunkStore, plan, costs, strategy, levels, lowering, batch: int, size: int,
                prefix: int) -> ChunkLayer:
    """The decoder layer of `batch` prompts' chunk of `size` tokens after `prefix`, built once per shape: from
    the first layer built of its size (a template) with only its attention tasks' work redone when their
    tasks are laid out as the template's, else in full."""
    key = (costs, plan.region_w, plan.region_h, strategy, levels, lowering.vector if lowering else None,
           lowering.pass_tokens if lowering else 0, batch, size, prefix)
    entry = store.layers.get(key)
    if entry is not None:
        store.hits += 1
        return entry
    store.misses += 1
    like = store.scaled.get((batch, size))  # the same shape at another prefix: its other operators reused
    graph = scaled_graph(store.origin(batch), batch, size, prefix, like)
    store.scaled.setdefault((batch, size), graph)
    template = store.templates.get(key[:-1])
    tg = _patched(template, graph, plan, costs, strategy, levels, lowering) if template else None
    store.patched += tg is not None
    if tg is None:
        trace: list = []
        tg, _ = layer_graph(graph, plan, costs, strategy, levels, None, lowering, trace)
        if trace and key[:-1] not in store.templates:
            store.templates[key[:-1]] = (tg, trace)
    sim = simulate(tg)  # one simulation for both the cycles and the critical-path split
    entry = ChunkLayer(graph, tg, int(sim.makespan_cycles), critical_split_s(tg, sim))
    if len(store.layers) >= MAX_ENTRIES:
        old = store.layers.pop(next(iter(store.layers)))
        store.cycles.pop(id(old.layer), None)
    store.layers[key] = entry
    store.cycles[id(tg)] = entry.cycles
    return entry


def _patched(template, graph, plan, costs, strategy, levels, lowering):
    """`graph`'s layer as the template's task graph with the attention operators' work and latency emitted
    anew (the other operators are the same at every prefix: checked); None where an operator differs from
    the template's or its attention tasks are laid out otherwise (then the caller builds it in full).
    Consecutive attention operators are emitted together, one after another as the layer has them."""
    base, trace = template
    ops = graph.layer_ops(0)
    if len(ops) != len(trace):
        return None
    work, latency = base.task_work.copy(), base.task_latency.copy()
    ends = [first for _, first, _ in trace[1:]] + [base.n_tasks]
    run: list = []  # (operator, first task, axis, end) of the attention operators being gathered
    for (was, lo, axis), hi, op in zip(trace, ends, ops):
        if op.kind in ATTENTION:
            run.append((op, lo, axis, hi))
            continue
        same = op is was or op == was  # the same object when scaled with `like` (chunk_layer)
        if not same or (run and not _redo(base, run, graph, plan, costs, strategy, levels, lowering, work,
                                          latency)):
            return None
        run = []
    if run and not _redo(base, run, graph, plan, costs, strategy, levels, lowering, work, latency):
        return None
    return swapped(base, task_work=work, task_latency=latency)


def swapped(task_graph, **arrays):
    """`dataclasses.replace(task_graph, **arrays)` without TaskGraph's validation run again, for arrays of the
    same shapes and dtypes whose every element already passed it: attention's work and latency from a validated
    graph (`_redo`'s part, its tasks laid out as these), a layer's labels renamed (`pieces._relabel`). The
    checks are element by element (work finite and >= 0, latency in range, labels any strings) and the routes
    and dependencies are unchanged, so the graph is as valid as the one replace would build; the checks were
    a tenth of a serving run's time."""
    for name, value in arrays.items():
        old = getattr(task_graph, name)
        if not (isinstance(value, np.ndarray) and value.shape == old.shape
                and value.dtype.kind == old.dtype.kind):
            return replace(task_graph, **arrays)
    new = object.__new__(type(task_graph))
    new.__dict__.update(task_graph.__dict__)
    new.__dict__.update(arrays)
    return new


def _redo(base, run, graph, plan, costs, strategy, levels, lowering, work, latency) -> bool:
    """Emit the operators of `run` anew into `work` and `latency` at their tasks; False if laid out otherwise."""
    em = MeshEmitter(costs, strategy, levels, None)
    em.b = _Recorder(em.b)
    low = RegionLowering(em, plan.region_w, plan.region_h, graph.phase, graph.tokens, lowering.vector)
    low.axis = run[0][2]
    deps: list[int] = []
    for op, _, _, _ in run:
        deps = low.emit(op, deps)
    lo, hi = run[0][1], run[-1][3]
    if not em.b.same_layout(base, lo, hi):
        return False
    work[lo:hi] = np.asarray(em.b.work, dtype=np.float64)
    latency[lo:hi] = np.asarray(em.b.latency, dtype=np.int64)
    return True


class _Recorder(TaskGraphBuilder):
    """The emitter's tasks recorded as TaskGraphBuilder would store them, without building (and validating) a
    graph: `_redo` needs only their work and latency, once their layout (routes, categories, labels,
    dependencies) is checked to be that of the template's tasks (`same_layout`), which were validated. Work
    and latency are converted as TaskGraphBuilder._add_one converts them (float(work), int(latency)) and
    checked as it checks them (work finite and >= 0, none for a delay, latency a whole number >= 0): a task
    that would fail there makes `same_layout` false, and the caller builds the layer in full (which reports
    it). Before it, `_redo` built and validated a TaskGraph per run: a tenth of a serving run."""

    def __init__(self, builder: TaskGraphBuilder):
        super().__init__(builder.clock_hz)
        self._resources = list(builder._resources)  # the emitter's resources, same indices
        self.routes: list[tuple] = []
        self.work: list[float] = []
        self.latency: list[int] = []
        self.deps: list[list] = []
        self.ops: list = []
        self.categories: list[int] = []
        self.valid = True

    def _add_one(self, route, work, deps, op, layer, category, latency) -> int:
        k = self._n_tasks
        ok = (isinstance(work, (int, float, np.number)) and not isinstance(work, (bool, np.bool_))
              and math.isfinite(work) and work >= 0 and (bool(route) or work == 0)
              and isinstance(latency, (int, np.integer)) and not isinstance(latency, (bool, np.bool_))
              and latency >= 0)
        self.valid = self.valid and ok
        if category is None:
            cat = int(_KIND_CATEGORY[self._resources[route[0]][1]]) if route else _DELAY_CATEGORY
        else:
            cat = CATEGORIES.index(category) if category in CATEGORIES else -1
        self.routes.append(tuple(route))
        self.work.append(float(work) if ok else 0.0)
        self.latency.append(int(latency) if ok else 0)
        self.deps.append(deps)
        self.ops.append(op)
        self.categories.append(cat)
        self._n_tasks += 1
        return k

    def same_layout(self, base, lo: int, hi: int) -> bool:
        """The recorded tasks are tasks lo..hi of `base` but for work and latency: routes, categories, labels
        and the dependencies among them (base's on tasks before lo are the operators' inputs)."""
        if not self.valid or self._n_tasks != hi - lo:
            return False
        if base.task_category[lo:hi].tolist() != self.categories:
            return False
        if base.op_labels[base.task_op[lo:hi]].tolist() != self.ops:
            return False
        ptr, dptr = base.route_ptr[lo:hi + 1].tolist(), base.dep_ptr[lo:hi + 1].tolist()
        res = base.route_res[ptr[0]:ptr[-1]].tolist()
        didx = base.dep_idx[dptr[0]:dptr[-1]].tolist()
        r0, d0 = ptr[0], dptr[0]
        for i, (route, deps) in enumerate(zip(self.routes, self.deps)):
            if tuple(res[ptr[i] - r0:ptr[i + 1] - r0]) != route:
                return False
            if [d - lo for d in didx[dptr[i] - d0:dptr[i + 1] - d0] if d >= lo] != [int(d) for d in deps]:
                return False
        return True


def relabelled(store: ChunkStore, entry: ChunkLayer, layer: int, relabel):
    """`relabel(entry.layer, layer)`, once per chunk shape and first layer."""
    key = (id(entry.layer), layer)
    if key not in store.relabelled:
        if len(store.relabelled) >= MAX_ENTRIES:
            old = store.relabelled.pop(next(iter(store.relabelled)))
            store.cycles.pop(id(old[1]), None)
        tg = relabel(entry.layer, layer)
        store.relabelled[key] = (entry.layer, tg)  # the original kept alive: its id stays unique
        store.cycles[id(tg)] = entry.cycles
    return store.relabelled[key][1]


def known_cycles(task_graph) -> int | None:
    """The makespan of a task graph the active store built (None: not one of its graphs)."""
    store = active()
    return store.cycles.get(id(task_graph)) if store is not None else None


def whole_layer(store: ChunkStore, graph, plan, costs, strategy, levels, lowering):
    """(task graph, events, cycles) of a whole step's decoder layer (one piece: the step's own operators, not a
    chunk shape), kept while the same step is mapped: auto's lowering choice and the step's run share it."""
    key = (id(graph), costs, plan.region_w, plan.region_h, strategy, levels,
           lowering.vector if lowering else None, lowering.pass_tokens if lowering else 0)
    if key not in store.whole:
        if store.whole and next(iter(store.whole))[0] != id(graph):
            for _, tg, _, _ in store.whole.values():
                store.cycles.pop(id(tg), None)
                store.splits.pop(id(tg), None)
            store.whole.clear()
        tg, events = layer_graph(graph, plan, costs, strategy, levels, None, lowering)
        cycles = int(simulate(tg).makespan_cycles)
        store.whole[key] = (graph, tg, events, cycles)  # the graph kept alive: its id stays unique
        store.cycles[id(tg)] = cycles
    _, tg, events, cycles = store.whole[key]
    return tg, list(events), cycles


def whole_split(store: ChunkStore, task_graph) -> dict:
    """critical_split_s of a graph from whole_layer, once."""
    key = id(task_graph)
    if key not in store.splits:
        store.splits[key] = critical_split_s(task_graph)
    return store.splits[key]


def blocks_floor(store: ChunkStore, plan, costs, strategy, levels, batch: int, size: int) -> int:
    """Cycles that a chunk of `size` tokens for `batch` prompts cannot beat in the MeshGEMM blocks layout,
    whatever its prefix: the busy cycles of the region's core (one server) on the layer's operators other than
    attention, which are the same tasks at every prefix (attention only adds to them). Built once per size."""
    key = (costs, plan.region_w, plan.region_h, strategy, levels, batch, size)
    if key not in store.floors:
        graph = scaled_graph(store.origin(batch), batch, size, 0)
        em = MeshEmitter(costs, strategy, levels, None)
        low = RegionLowering(em, plan.region_w, plan.region_h, graph.phase, graph.tokens, vector=False)
        deps: list[int] = []
        for op in graph.layer_ops(0):
            if op.kind not in ATTENTION:
                deps = low.emit(op, deps)
        store.floors[key] = int(simulate(em.build()).busy_cycles[em.core])
    return store.floors[key]


def step_bound(store: ChunkStore, graph, plan, costs, strategy, levels, cut, layout: str) -> int | None:
    """Cycles that `graph`'s prefill step run on `plan` as `cut` says (its chunks; one piece: the whole prompt)
    cannot beat, whichever lowering `layout` lets the step take (MeshGEMM blocks or MeshGEMV passes); None
    where no bound is derived (MoE layers).

    Why it is a bound (an exact one, not an estimate). Let t_j be the cycles of chunk j's decoder layer.
    - The step: one piece is the sum of its segments' cycles (pieces.step_in), the decoder layer repeated
      `graph.layers` times among them (the others >= 0): >= layers x t_0. Chunks: the segments add up to at least
      the pipeline's fill-and-drain time done[R-1][n-1] (they are its critical path, the argmax path of the
      max-plus recurrence, whose cells sum to it, plus the head). With hand-offs and entries >= 0,
      done[r][j] >= done[r][j-1] + layers_r t_j and >= done[r-1][j] + layers_r t_j, so done[R-1][n-1] is at
      least the sum of layers_r t_j over any staircase of cells from (0, 0) to (R-1, n-1): here along the first
      region to some chunk j, down its column through every region, then along the last region.
    - A layer's makespan is at least the busy cycles of any one of its resources: the core and the two link
      axes are resources of capacity 1 (MeshEmitter), whose tasks run one after another, each holding it
      latency + ceil(work / rate) cycles (engine/kernels.task_times).
    - Core (either layout): every GEMM of a layer of T tokens puts at least T K N count / (w h)
      multiply-accumulates on it (layer.py): MeshGEMV is block_gemm(m, ceil(K / a), ceil(N count / b)) per pass,
      {a, b} = {w, h}, the passes' m adding up to T; MeshGEMM is max(w, h) Cannon rounds of
      block_gemm(ceil(T / h), ceil(K / max(w, h)), ceil(N count / w)). A chunk's GEMMs have the step's K, N and
      count and m = its tokens (chunk.scaled_graph). layer.py's _ceil(a, b) = max(1, ceil(a / b - 1e-9)) is
      >= (a / b)(1 - 1e-9) per factor and work / simd rounds by ~1e-16: a margin of 1e-6 covers both.
    - Links: at task fidelity a transfer's latency (beta + alpha x hops per message, tree levels, Cannon
      shifts) depends on the region's sides, the strategy and the operator (its kind, heads, the axis holding
      the activations), never on the bytes, the tokens or the prefix (costs.py, layer.py), so the latencies
      on one axis of one MeshGEMV pass add up to the same V_a at every size and prefix, and those of a
      MeshGEMM blocks layer to the same B_a (for a given batch): measured here on a one-token chunk
      (`_link_latencies`). A chunk of c tokens in passes of g runs ceil(c / g) passes (lowering.layer_graph;
      each a whole vector layer, plus a multicast): t >= ceil(c / g) max_a V_a; in blocks t >= max_a B_a.
    So t_j >= max(core bound, the link bound of the layout taken), and for `auto` the smaller of the two
    layouts' link bounds (blocks alone where no MeshGEMV pass fits). Attention, norms, element-wise
    operators and SRAM only add to the cycles, so they are left out. tests/test_mesh_serving_reuse.py checks
    bound <= cycles on random shapes, both layouts, one piece and chunks."""
    from archsim.families.mesh.mapper.lowering import pass_tokens

    a = next(op.attrs for op in graph.ops if op.kind == "attn_score")
    batch = a["batch"]
    macs = 0  # per token
    for op in graph.layer_ops(0):
        if op.attrs.get("moe") or (op.kind == "gemm" and int(op.m) < batch * a["q_len"]):
            return None  # (a GEMM of fewer rows than the tokens: not the shapes the argument above covers)
        if op.kind == "gemm":
            macs += int(op.k) * int(op.n) * int(op.count)
    cores = plan.region_w * plan.region_h
    g = pass_tokens(graph, plan, costs, cut.size, cut.total) if layout != "blocks" else 0
    vector = _link_latencies(store, graph, plan, costs, strategy, levels, batch, True) if g else 0
    blocks = _link_latencies(store, graph, plan, costs, strategy, levels, batch, False) \
        if layout != "passes" or not g else 0
    t = []  # a bound on each chunk's layer cycles
    for size, _ in cut.pieces:
        core = math.floor(batch * size * macs * (1.0 - 1e-6) / (cores * costs.simd))
        if layout == "blocks" or not g:
            link = blocks
        elif layout == "passes":
            link = -(-size // g) * vector
        else:
            link = min(blocks, -(-size // g) * vector)
        t.append(max(0, core, link))
    if cut.count == 1:
        return graph.layers * t[0]
    # the staircase along the first region to chunk j, down chunk j's column, along the last region: the
    # best such j (every one is a path of the recurrence, so each is a bound)
    layers = plan.region_layers(graph.layers)
    first, last, middle = layers[0], layers[-1], sum(layers[1:])
    before, after = 0, sum(t)
    best = 0
    for tj in t:
        after -= tj
        best = max(best, first * (before + tj) + middle * tj + last * after)
        before += tj
    return best


def _link_latencies(store: ChunkStore, graph, plan, costs, strategy, levels, batch: int, vector: bool) -> int:
    """max over the region's two link axes of the latencies of the transfers on it in one decoder layer of a
    one-token chunk for `batch` prompts in the given layout (one MeshGEMV pass, or MeshGEMM blocks): the same
    at every size and prefix (step_bound). Emitted into a _Recorder once per (region, layout, batch)."""
    key = ("links", costs, plan.region_w, plan.region_h, strategy, levels, batch, vector)
    if key not in store.floors:
        piece = scaled_graph(store.origin(batch), batch, 1, 0)
        em = MeshEmitter(costs, strategy, levels, None)
        em.b = _Recorder(em.b)
        low = RegionLowering(em, plan.region_w, plan.region_h, piece.phase, piece.tokens, vector)
        deps: list[int] = []
        for op in piece.layer_ops(0):
            deps = low.emit(op, deps)
        sums = {em.noc["x"]: 0, em.noc["y"]: 0}
        for route, latency in zip(em.b.routes, em.b.latency):
            if len(route) == 1 and route[0] in sums:
                sums[route[0]] += latency
        store.floors[key] = max(sums.values()) if em.b.valid else 0
    return store.floors[key]
