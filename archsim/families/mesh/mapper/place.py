"""Placement for the mesh mapper: decoder layers onto rectangular core regions,
regions onto wafers, and the per-core SRAM check.

Each wafer is cut into a grid of `cols x rows` equal regions. The token's path
is a chain of units: the embedding table (k_e regions), the decoder layers (one
region holds `stack` consecutive layers) and the head (final norm + LM head,
k_h regions); units fill wafer 0 first, then wafer 1, ... (a layer pipeline:
only activations cross between wafers). Every core of a region holds an equal
share of the region's weights and KV cache (WaferLLM's shift-based KV cache
keeps cores balanced), plus activation buffers and a reserve for code.

`region=auto` takes the fewest, largest regions with which every layer gets
its own region and everything fits (the whole system is used, as Cerebras's
layer-pipelined inference does); `region=WxH` uses that size, stacking layers
when there are fewer regions than layers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.calibration import RESERVED_SRAM_BYTES
from archsim.families.mesh.mapper.costs import MeshCosts

_REGION = re.compile(r"^(\d+)x(\d+)$")
_MAX_GRID = 64  # regions per wafer side searched by region=auto
AUTO_SLACK = 0.15  # region=auto accepts this many more regions than the fewest for squarer ones


def parse_region(text: str) -> tuple[int, int] | None:
    """'auto' -> None; 'WxH' -> (W, H)."""
    if text == "auto":
        return None
    m = _REGION.match(text.strip().lower())
    if not m or min(int(m.group(1)), int(m.group(2))) < 1:
        raise ArchsimInputError(f"mapper 'mesh-dataflow' option 'region' must be 'auto' or WxH like 420x420, "
                                f"got {text!r}")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Footprint:
    """Bytes that must live on the wafer, per unit of the token's path."""

    layer_weights: float  # one decoder layer (all MoE experts)
    layer_kv: float  # one layer's KV cache for the scenario
    layer_act: float  # the largest activation a non-attention operator of a layer writes
    score_act: float  # the attention scores (and probabilities) of a layer
    score_rows: int  # decode: query rows that share one KV head (batch x q_len x heads / kv_heads)
    kv_len: int  # decode: cached tokens attended to
    act_is_2d: bool  # prefill blocks are spread over the region; decode vectors over a line
    head_weights: float  # final norm + LM head
    embed_weights: float  # token embedding table
    layers: int


def footprint(graph, scenario) -> Footprint:
    ops = graph.layer_ops(0)
    router = [op for op in ops if op.short_name == "router"]
    experts = router[0].n if router else 1
    weights = 0.0
    for op in ops:
        if op.attrs.get("moe"):
            weights += op.weight_bytes * experts / max(1, op.attrs["experts_touched"])
        else:
            weights += op.weight_bytes
    kv = sum(op.kv_read_bytes for op in ops) + sum(op.kv_write_bytes for op in ops if op.kind == "attn_score")
    attention = ("attn_score", "softmax", "attn_context")
    act = max((op.act_write_bytes for op in ops if op.kind not in attention), default=0.0)
    scores = max((op.act_write_bytes for op in ops if op.kind in ("attn_score", "softmax")), default=0.0)
    geometry = next((op.attrs for op in ops if op.kind == "attn_score"), {})
    rows = geometry.get("batch", 1) * geometry.get("q_len", 1) * geometry.get("heads", 1) \
        // max(1, geometry.get("kv_heads", 1))
    head = sum(op.weight_bytes for op in graph.post_ops)
    embed = 0.0
    vocab = next((op.n for op in graph.post_ops if op.kind == "gemm"), 0)
    for op in graph.pre_ops:  # the lookup reads one row per token and table; the token table is resident
        if op.kind == "embedding" and graph.tokens:
            tables = 2 if op.flops else 1  # a position table adds an addition per element (GPT-3)
            embed += op.weight_bytes / graph.tokens / tables * vocab
    return Footprint(weights, kv, act, scores, rows, geometry.get("kv_len", 1), graph.phase != "decode", head,
                     embed, graph.layers)


@dataclass
class Demand:
    """Bytes per core of one region."""

    weights: float
    kv: float
    activations: float
    reserved: float = float(RESERVED_SRAM_BYTES)

    @property
    def total(self) -> float:
        return self.weights + self.kv + self.activations + self.reserved

    def describe(self, stack: int = 1) -> str:
        what = f"weights {_kib(self.weights)}" + (f" for {stack} stacked layers" if stack > 1 else "")
        return (f"{_kib(self.total)} ({what}, KV cache {_kib(self.kv)}, activations {_kib(self.activations)}, "
                f"reserved {_kib(self.reserved)})")


def _kib(nbytes: float) -> str:
    return f"{nbytes / 1024:.1f} KiB"


@dataclass
class Placement:
    region_w: int
    region_h: int
    cols: int  # regions per wafer along x
    rows: int
    stack: int  # consecutive layers per region
    layer_regions: int
    embed_regions: int
    head_regions: int
    wafers_used: int
    handoffs: int  # on-wafer hand-offs along the token's path
    crossings: int  # wafer-to-wafer hops along the token's path
    layer_demand: Demand
    head_demand: Demand | None
    auto: bool
    notes: list[str] = field(default_factory=list)
    # along the token's path after the embedding (layer regions, then the head): 'handoff' where the next unit
    # is on the same wafer, 'crossing' where it is on the next one (plan.handoffs and plan.crossings count them)
    boundaries: tuple[str, ...] = ()

    @property
    def head_shape(self) -> tuple[int, int]:
        """The head's regions side by side along x (wrapping to more rows)."""
        k = max(1, self.head_regions)
        across = min(k, self.cols)
        return self.region_w * across, self.region_h * math.ceil(k / across)

    def region_layers(self, layers: int) -> list[int]:
        """Decoder layers each layer region holds, along the token's path (the last may hold fewer)."""
        return [self.stack] * (self.layer_regions - 1) + [layers - (self.layer_regions - 1) * self.stack]

    def summary(self) -> str:
        parts = [f"{self.region_w}x{self.region_h} cores per layer region ({self.cols}x{self.rows} regions per wafer)",
                 f"{self.layer_regions} layer region{'s' if self.layer_regions != 1 else ''}"
                 + (f", {self.stack} layers stacked in {'each' if self.layer_regions > 1 else 'it'}"
                    if self.stack > 1 else "")]
        if self.embed_regions or self.head_regions:
            parts.append(f"embedding on {self.embed_regions}, LM head on {self.head_regions}")
        parts.append(f"{self.wafers_used} wafer{'s' if self.wafers_used != 1 else ''}")
        return "; ".join(parts)


def demand(fp: Footprint, w: int, h: int, stack: int, dtype_bytes: float) -> Demand:
    cores = w * h
    if fp.act_is_2d:  # an output block and a second live block per core (inputs stream through)
        act = 2.0 * max(fp.layer_act, fp.score_act) / cores
    else:  # a vector slice per line (and its message buffer), the residual stream, this core's scores
        act = 2.0 * fp.layer_act / min(w, h) + fp.layer_act / max(w, h)
        act += 2.0 * fp.score_rows * math.ceil(fp.kv_len / max(w, h)) * dtype_bytes
    return Demand(stack * fp.layer_weights / cores, stack * fp.layer_kv / cores, act)


def _unit_regions(nbytes: float, w: int, h: int, costs: MeshCosts, act: float) -> int:
    """Regions a weight-only unit (embedding, head) needs; 0 if it needs none."""
    if nbytes <= 0:
        return 0
    usable = costs.sram_bytes - RESERVED_SRAM_BYTES - act
    if usable <= 0:
        return 10**9
    return math.ceil(nbytes / (usable * w * h))


def _layout(fp: Footprint, costs: MeshCosts, count: int, w: int, h: int, stack: int | None,
            layers_only: bool) -> Placement | None:
    """The placement with w x h regions (stack None: as few stacked layers as the regions allow)."""
    cols, rows = costs.grid_w // w, costs.grid_h // h
    if min(w, h, cols, rows) < 1:
        return None
    per_wafer = cols * rows
    lay = demand(fp, w, h, 1, costs.dtype_bytes)
    k_e = 0 if layers_only else _unit_regions(fp.embed_weights, w, h, costs, lay.activations)
    k_h = 0 if layers_only else _unit_regions(fp.head_weights, w, h, costs, lay.activations)
    free = per_wafer * count - k_e - k_h
    if free < 1:
        return None
    if stack is None:
        stack = math.ceil(fp.layers / free)
    n_layer_regions = math.ceil(fp.layers / stack)
    if n_layer_regions > free:
        return None
    n_units = k_e + n_layer_regions + k_h
    wafer_of = [i // per_wafer for i in range(n_units)]
    # the token's path after the embedding (whose hop into layer 0 is timed with it): layers, then the head
    path = wafer_of[k_e:k_e + n_layer_regions] + ([wafer_of[-1]] if k_h else [])
    crossings = sum(1 for a, b in zip(path, path[1:]) if a != b)
    head = None
    if k_h:
        hw_, hh_ = w * min(k_h, cols), h * math.ceil(k_h / min(k_h, cols))
        head = Demand(fp.head_weights / (hw_ * hh_), 0.0, lay.activations)
    return Placement(w, h, cols, rows, stack, n_layer_regions, k_e, k_h, wafer_of[-1] + 1,
                     len(path) - 1 - crossings, crossings, demand(fp, w, h, stack, costs.dtype_bytes), head,
                     auto=False, boundaries=tuple("crossing" if a != b else "handoff" for a, b in zip(path, path[1:])))


def _fits(p: Placement, costs: MeshCosts) -> bool:
    return p.layer_demand.total <= costs.sram_bytes and (p.head_demand is None
                                                        or p.head_demand.total <= costs.sram_bytes)


def grid_layouts(fp: Footprint, costs: MeshCosts, count: int, layers_only: bool):
    """(cols, rows, region w, region h, layout or None) of every grid of equal regions `place(region=None)`
    considers, one layer per region (the candidates of auto, and of a search over regions)."""
    for cols in range(1, _MAX_GRID + 1):
        for rows in range(1, _MAX_GRID + 1):
            if cols * rows * count > 4 * fp.layers + 64:
                break
            w, h = costs.grid_w // cols, costs.grid_h // rows
            if min(w, h) < 2:
                break
            yield cols, rows, w, h, _layout(fp, costs, count, w, h, 1, layers_only)


def place(fp: Footprint, costs: MeshCosts, count: int, region: tuple[int, int] | None, layers_only: bool,
          workload: str, chip: str) -> Placement:
    """The placement for `region` (None: auto); InfeasibleError with the numbers if it does not fit."""
    if region is not None:
        w, h = region
        if w > costs.grid_w or h > costs.grid_h:
            raise ArchsimInputError(f"region {w}x{h} does not fit the {costs.grid_w}x{costs.grid_h} core grid of "
                                    f"{chip}")
        p = _layout(fp, costs, count, w, h, None, layers_only)
        if p is None:
            per_wafer = (costs.grid_w // w) * (costs.grid_h // h)
            raise InfeasibleError(f"{workload} on {chip}: {w}x{h} regions ({per_wafer} per wafer, {count} "
                                  f"wafer{'s' if count != 1 else ''}) leave no region for the decoder layers "
                                  "after the embedding and LM head take theirs; use smaller regions",
                                  {"region": f"{w}x{h}"})
        _check(p, costs, workload, chip)
        return p
    feasible, closest = [], None
    for cols, rows, w, h, p in grid_layouts(fp, costs, count, layers_only):
        if p is not None and _fits(p, costs):
            feasible.append(p)
            continue
        if cols * rows * count < fp.layers:
            continue
        probe = p.layer_demand if p is not None else demand(fp, w, h, 1, costs.dtype_bytes)
        if closest is None or probe.total < closest[2].total:
            closest = (w, h, probe, p)
    if not feasible:
        total = fp.layers * (fp.layer_weights + fp.layer_kv) + (0 if layers_only else fp.head_weights + fp.embed_weights)
        have = count * costs.grid_w * costs.grid_h * (costs.sram_bytes - RESERVED_SRAM_BYTES)
        raise InfeasibleError(
            f"{workload} does not fit {chip}: it needs {total / 1e9:.1f} GB of weights and KV cache, and no grid of "
            f"regions gives every layer its own region within {_kib(costs.sram_bytes)} per core "
            f"({have / 1e9:.1f} GB usable on {count} wafer{'s' if count != 1 else ''} after "
            f"{_kib(RESERVED_SRAM_BYTES)} reserved per core)"
            + (f"; the closest, {closest[0]}x{closest[1]} regions, needs {closest[2].describe()} per core"
               + _why_not(closest[3], closest[2], costs) if closest else "")
            + "; use more wafers, a smaller model or a smaller batch/context",
            {"needed_bytes": total, "usable_bytes": have})
    # the largest regions, except that up to AUTO_SLACK more regions buy squarer ones
    fewest = min(p.cols * p.rows for p in feasible)
    near = [p for p in feasible if p.cols * p.rows <= fewest * (1 + AUTO_SLACK)]
    p = min(near, key=lambda p: (abs(math.log(p.region_w / p.region_h)), p.cols * p.rows))
    p.auto = True
    return p


def _why_not(p: Placement | None, layer: Demand, costs: MeshCosts) -> str:
    """Why the closest grid fails when its layer regions alone would fit."""
    if layer.total > costs.sram_bytes:
        return ""
    if p is None:
        return " (which fits, but leaves too few regions for the embedding and LM head)"
    return f" (which fits, but its LM head region would need {_kib(p.head_demand.total)})" if p.head_demand else ""


def _check(p: Placement, costs: MeshCosts, workload: str, chip: str) -> None:
    if p.layer_demand.total > costs.sram_bytes:
        raise InfeasibleError(
            f"{workload} does not fit {chip} with {p.region_w}x{p.region_h} regions: each core would hold "
            f"{p.layer_demand.describe(p.stack)} but has {_kib(costs.sram_bytes)}; use a larger region or more "
            "wafers (WaferLLM's method of timing one layer per region and scaling by the layer count needs "
            "--set core.sram=... to make room)",
            {"per_core_bytes": p.layer_demand.total, "sram_bytes": costs.sram_bytes, "stack": p.stack})
    if p.head_demand is not None and p.head_demand.total > costs.sram_bytes:
        raise InfeasibleError(f"{workload}'s LM head does not fit {chip}: each of its cores would hold "
                              f"{p.head_demand.describe()} but has {_kib(costs.sram_bytes)}",
                              {"per_core_bytes": p.head_demand.total})
