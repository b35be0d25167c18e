"""How a region runs the decoder layer of a prefill step or chunk: MeshGEMM blocks or MeshGEMV passes.

A prompt (or a chunk of it) of c tokens per sequence can run on its region in two ways:

- blocks: every GEMM as MeshGEMM (Cannon's algorithm) over the c tokens, attention on per-head
  sub-regions (mesh_layer.py, block layout). WaferLLM's kernel (`meshgemm.csl`) vectorises over the
  token rows of a core's block, ceil(c / H) of them, so with few tokens per row of cores nearly all
  of its time is instruction start-up (sigma per 1-3 element vector);
- passes: the c tokens in passes of at most g, one after another, each the whole layer in the vector
  layout (MeshGEMV, attention over the cache and the passes before it), as decode runs a batch. A
  GEMM of m tokens is m / g GEMVs of g vectors over the same weights on the same cores. Between
  passes the chunk's hidden states rest spread over the region (input and output, 2 x c x hidden per
  region); each pass first multicasts its tokens' slices down the columns (one broadcast). g is the
  largest pass whose MeshGEMV buffers fit (mesh_place.demand, vector layout) beside the weights, the
  whole prompt's KV cache and the resting hidden states.

A compiler takes the cheaper of the two that fits (option `prefill_layout=auto`; `blocks` or `passes`
force one). Which is cheaper is decided on one representative piece, the last full chunk (the longest
attention), by simulating its layer both ways at task fidelity; every piece of the step then uses that
lowering. Ties go to blocks. Decode always uses the vector layout for the whole micro-batch (its SRAM
check is the vector layout's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from archsim.engine import simulate
from archsim.errors import InfeasibleError
from archsim.families.mesh.mapper import stepmemo
from archsim.families.mesh.mapper.chunk import largest, representative, scaled_graph
from archsim.families.mesh.mapper.costs import MeshEmitter
from archsim.families.mesh.mapper.layer import RegionLowering
from archsim.families.mesh.mapper.place import Demand, demand, footprint

BLOCKS, PASSES = "MeshGEMM blocks", "MeshGEMV passes"


@dataclass(frozen=True)
class Lowering:
    """The layout a prefill step's layers run in, with what decided it."""

    vector: bool
    pass_tokens: int = 0  # tokens per sequence in one MeshGEMV pass (vector); 0 for blocks
    demand: Demand | None = None  # per core of a layer region under this lowering (None: the placement's)
    cycles: int = 0  # the representative piece's layer under this lowering
    other: tuple[str, int] | None = None  # the lowering not taken and its cycles (None: it does not fit)

    @property
    def name(self) -> str:
        return PASSES if self.vector else BLOCKS


def _geometry(graph) -> dict:
    return next(op.attrs for op in graph.ops if op.kind == "attn_score")


def _hidden_bytes_per_token(graph) -> float:
    """Bytes of one token's hidden state: what the layer's first norm writes per token."""
    norm = next(op for op in graph.layer_ops(0) if op.kind == "norm")
    return norm.act_write_bytes / graph.tokens


def pass_demand(graph, plan, costs, size: int, total: int, g: int) -> Demand:
    """Per core of a layer region when chunks of `size` tokens run as MeshGEMV passes of `g`: the vector
    layout's buffers for the prompt's last pass (attention over every token before it; the whole prompt's KV
    cache), plus, when a chunk takes more than one pass, its hidden states resting between passes."""
    memo = stepmemo.active()
    rep = memo.representative(graph, representative) if memo is not None else representative(graph)
    a = _geometry(rep)
    fp = replace(footprint(scaled_graph(rep, a["batch"], g, total - g), None), act_is_2d=False)
    need = demand(fp, plan.region_w, plan.region_h, plan.stack, costs.dtype_bytes)
    if g < size:
        resting = 2.0 * a["batch"] * size * _hidden_bytes_per_token(rep) / (plan.region_w * plan.region_h)
        need = replace(need, activations=need.activations + resting)
    return need


def pass_tokens(graph, plan, costs, size: int, total: int) -> int:
    """The largest MeshGEMV pass (tokens per sequence, at most `size`) that fits; 0 if not even one token does.
    With chunk layers shared (mesh_reuse.py) kept per step (stepmemo.py): auto's candidates, their bounds and
    the lowering choice ask for the same ones (a pure function of these arguments)."""
    memo = stepmemo.active()
    if memo is not None:
        return memo.pass_tokens(graph, plan, costs, size, total, _pass_tokens)
    return _pass_tokens(graph, plan, costs, size, total)


def _pass_tokens(graph, plan, costs, size: int, total: int) -> int:
    return largest(1, size, lambda g: pass_demand(graph, plan, costs, size, total, g).total <= costs.sram_bytes) or 0


def layer_graph(piece, plan, costs, strategy, levels, net, lowering: Lowering | None = None, trace=None):
    """(task graph, link events) of one decoder layer of `piece` on its region under `lowering`
    (None: the phase's default, vector for decode, blocks for prefill). `trace`: a list that receives
    (operator, its first task, the axis holding the activations before it) per operator of a one-pass layer
    (mesh_reuse.py patches attention from it); left empty for a layer in several MeshGEMV passes."""
    em = MeshEmitter(costs, strategy, levels, net)
    w, h = plan.region_w, plan.region_h
    vector = None if lowering is None else lowering.vector
    g = lowering.pass_tokens if lowering is not None else 0
    a = _geometry(piece)
    if not vector or not g or a["q_len"] <= g:
        low = RegionLowering(em, w, h, piece.phase, piece.tokens, vector)
        deps: list[int] = []
        for op in piece.layer_ops(0):
            if trace is not None:
                trace.append((op, em.b.n_tasks, low.axis))
            deps = low.emit(op, deps)
        return em.build(), em.events
    rep = representative(piece)
    q, prefix, batch = a["q_len"], a["kv_len"] - a["q_len"], a["batch"]
    first = rep.layer_ops(0)[0]
    per_column = math.ceil(_hidden_bytes_per_token(rep) / costs.dtype_bytes / w)
    deps = []
    for start in range(0, q, g):
        part = scaled_graph(rep, batch, min(g, q - start), prefix + start)
        # the pass's tokens rest on their rows: a multicast down every column brings them to all rows
        deps = em.broadcast(first.name, first.layer, "y", h, part.tokens * per_column, deps)
        low = RegionLowering(em, w, h, part.phase, part.tokens, vector=True)
        for op in part.layer_ops(0):
            deps = low.emit(op, deps)
    return em.build(), em.events


def _cycles(piece, plan, costs, strategy, levels, lowering) -> int:
    return int(simulate(layer_graph(piece, plan, costs, strategy, levels, None, lowering)[0]).makespan_cycles)


def choose(graph, piece, plan, costs, strategy, levels, size: int, total: int, layout: str = "auto",
           layer_cycles=None, blocks_floor=None) -> Lowering:
    """The lowering for prefill pieces of `size` tokens (of `total`) on `plan`'s regions: `layout` 'blocks' or
    'passes' as asked, 'auto' the cheaper on `piece` (the last full one) at task fidelity, blocks when MeshGEMV
    passes do not fit. InfeasibleError for 'passes' when not even one token's MeshGEMV buffers fit.
    `layer_cycles(lowering)`: the piece's layer cycles under a lowering (default: built and simulated here);
    `blocks_floor()`: a number of cycles the piece's layer in blocks cannot beat (mesh_reuse.blocks_floor):
    passes faster than it are taken without building the blocks layer (the same choice)."""
    if layer_cycles is None:
        def layer_cycles(lowering):
            return _cycles(piece, plan, costs, strategy, levels, lowering)
    if layout == "auto" and blocks_floor is not None:
        g = pass_tokens(graph, plan, costs, size, total)
        if g:
            passes = Lowering(True, g, pass_demand(graph, plan, costs, size, total, g))
            passes = replace(passes, cycles=layer_cycles(passes))
            floor = blocks_floor()
            if passes.cycles < floor:
                return replace(passes, other=(f"{BLOCKS} (at least)", floor))
    blocks = Lowering(False)
    blocks = replace(blocks, cycles=layer_cycles(blocks))
    g = pass_tokens(graph, plan, costs, size, total) if layout != "blocks" else 0
    if not g:
        if layout == "passes":
            need = pass_demand(graph, plan, costs, size, total, 1)
            raise InfeasibleError(f"mapper 'mesh-dataflow' option 'prefill_layout'=passes does not fit: a MeshGEMV "
                                  f"pass of one token needs {need.describe(plan.stack)} per core of a "
                                  f"{plan.region_w}x{plan.region_h} region, which has "
                                  f"{costs.sram_bytes / 1024:.1f} KiB", {"per_core_bytes": need.total})
        return blocks
    passes = Lowering(True, g, pass_demand(graph, plan, costs, size, total, g))
    passes = replace(passes, cycles=layer_cycles(passes))
    if layout == "passes" or (layout == "auto" and passes.cycles < blocks.cycles):
        return replace(passes, other=(BLOCKS, blocks.cycles))
    return replace(blocks, other=(f"{PASSES} of {g}", passes.cycles))
