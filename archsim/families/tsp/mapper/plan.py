"""Where the model lives on a TSP system: SRAM footprint, sharding and the chip count.

Everything a chip needs sits in its SRAM (no other memory): its share of the
weights of its stage's layers, of their KV cache, and the embedding table
(first stage) or LM head (last stage). Tensor parallelism (tp) splits every
layer over tp chips; pipeline parallelism (pp) splits the layers into pp
consecutive stages. chips used = tp x pp.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.errors import ArchsimInputError, InfeasibleError


@dataclass(frozen=True)
class Footprint:
    """Bytes of one workload, whole (before sharding)."""

    layers: int
    layer_weight_bytes: float  # one decoder layer, every expert of an MoE layer included
    layer_kv_bytes: float  # one layer's KV cache for the scenario's sequence length and batch
    embed_bytes: float  # the token-embedding table (first stage)
    head_bytes: float  # final norm and LM head (last stage)

    @property
    def total_bytes(self) -> float:
        return self.layers * (self.layer_weight_bytes + self.layer_kv_bytes) + self.embed_bytes + self.head_bytes


def footprint(graph) -> Footprint:
    """The SRAM the workload needs, from its operator graph."""
    layer0 = graph.layer_ops(0) if graph.phase in ("prefill", "decode", "mixed") else graph.ops
    weights = 0.0
    experts = next((op.n for op in layer0 if op.short_name == "router"), None)
    for op in layer0:
        if op.attrs.get("moe") and experts:  # the graph counts the experts a step touches; SRAM holds all
            weights += op.weight_bytes / op.count * experts
        else:
            weights += op.weight_bytes
    kv = sum(2 * op.kv_read_bytes + op.kv_write_bytes for op in layer0 if op.kind == "attn_score")
    head = sum(op.weight_bytes for op in graph.post_ops) if graph.phase in ("prefill", "decode", "mixed") else 0.0
    lm_head = next((op for op in graph.post_ops if op.short_name == "lm_head"), None)
    # The graph's embedding op reads only the rows it gathers; the table has vocab rows, as many
    # as the LM head has columns (a tied table is still a separate copy on the first stage).
    embed = lm_head.weight_bytes if lm_head is not None else 0.0
    return Footprint(graph.layers if graph.phase in ("prefill", "decode", "mixed") else 1, weights, kv, embed, head)


def stage_layers(fp: Footprint, tp: int, pp: int, capacity: float) -> list[int] | None:
    """Layers of each stage, or None if they do not fit: first and last stages
    also hold the embedding table and LM head, so they take fewer layers, and
    none when the table or head leaves no room for a layer (a stage of its own
    for the embedding or the LM head, its vocabulary split over tp chips)."""
    if pp == 1:
        per_layer = (fp.layer_weight_bytes + fp.layer_kv_bytes) / tp
        fits = (fp.embed_bytes + fp.head_bytes) / tp + fp.layers * per_layer <= capacity
        return [fp.layers] if fits else None
    per_layer = (fp.layer_weight_bytes + fp.layer_kv_bytes) / tp
    if fp.embed_bytes / tp > capacity or fp.head_bytes / tp > capacity:
        return None

    def cap(free: float) -> int:
        return min(fp.layers, math.floor(free / per_layer)) if per_layer else fp.layers

    caps = [cap(capacity - fp.embed_bytes / tp)] + [cap(capacity)] * (pp - 2) + [cap(capacity - fp.head_bytes / tp)]
    if (pp > 2 and min(caps[1:-1]) < 1) or sum(caps) < fp.layers or pp > fp.layers + 2:
        return None
    # a stage per embedding or head only when it must be; then as even as the caps allow: fill the
    # roomiest stages first, one layer at a time
    layers = [1 if c >= 1 else 0 for c in caps]
    if sum(layers) > fp.layers:
        return None
    left = fp.layers - sum(layers)
    while left:
        room = [(caps[i] - layers[i], -layers[i], i) for i in range(pp) if layers[i] < caps[i]]
        _, _, i = max(room, key=lambda r: (r[1], r[0]))
        layers[i] += 1
        left -= 1
    return layers


def chip_bytes(fp: Footprint, tp: int, layers: list[int]) -> float:
    """SRAM used on the fullest chip."""
    per_layer = (fp.layer_weight_bytes + fp.layer_kv_bytes) / tp
    used = [n * per_layer for n in layers]
    used[0] += fp.embed_bytes / tp
    used[-1] += fp.head_bytes / tp
    return max(used)


def min_pp(fp: Footprint, tp: int, capacity: float, max_chips: int) -> int | None:
    for pp in range(1, min(fp.layers + 2, max_chips // tp) + 1):
        if stage_layers(fp, tp, pp, capacity) is not None:
            return pp
    return None


def parse_degree(name: str, raw) -> int | None:
    """An option value: a positive int, or None for `auto`."""
    if str(raw).strip().lower() == "auto":
        return None
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if value < 1:
        raise ArchsimInputError(f"mapper 'tsp-static' option {name!r} must be a positive integer or 'auto', "
                                f"got {raw!r}")
    return value


def parse_stages(raw) -> list[int] | None:
    """The `stages` option: 'auto' -> None; '4,4,3' -> [4, 4, 3] (decoder layers per stage, in order)."""
    text = str(raw).strip().lower()
    if text == "auto":
        return None
    try:
        stages = [int(part) for part in text.replace(" ", "").split(",")]
    except ValueError:
        stages = []
    if not stages or min(stages) < 1:
        raise ArchsimInputError(f"mapper 'tsp-static' option 'stages' must be 'auto' or positive layer counts "
                                f"separated by commas (like 4,4,3), got {raw!r}")
    return stages


def check_stages(stages: list[int], pp: int | None, fp: Footprint, graph) -> int:
    """pp implied by an explicit layer-to-stage assignment, checked against `pp` and the model's layers."""
    if pp is not None and pp != len(stages):
        raise ArchsimInputError(f"mapper 'tsp-static': stages lists {len(stages)} stages ({','.join(map(str, stages))}) "
                                f"but pp={pp}")
    if sum(stages) != fp.layers:
        raise ArchsimInputError(f"mapper 'tsp-static': stages assign {sum(stages)} decoder layers "
                                f"({','.join(map(str, stages))}); {graph.workload} has {fp.layers}")
    return len(stages)


def check_stage_sram(fp: Footprint, tp: int, stages: list[int], capacity: float, system) -> None:
    """Every chip of every stage must hold its layers (and the first stage the embedding table, the last the
    LM head) in SRAM; InfeasibleError naming the stage, its layers, the resource and the numbers."""
    per_layer = (fp.layer_weight_bytes + fp.layer_kv_bytes) / tp
    first = 0
    for i, n in enumerate(stages):
        used = n * per_layer + (fp.embed_bytes / tp if i == 0 else 0.0) + (fp.head_bytes / tp if i == len(stages) - 1
                                                                          else 0.0)
        if used > capacity:
            extra = " with the embedding table" if i == 0 else (" with the LM head" if i == len(stages) - 1 else "")
            raise InfeasibleError(
                f"stage {i} (decoder layers L{first}-L{first + n - 1}{extra}, tp={tp}) needs "
                f"{used / 2**20:.1f} MiB of SRAM per chip ({per_layer / 2**20:.1f} MiB of weights and KV cache per "
                f"layer); a {system.chip.name} chip has {capacity / 2**20:.1f} MiB",
                {"stage": i, "layers": n, "sram_need_bytes": used, "sram_bytes": capacity, "tp": tp})
        first += n


def infeasible(fp: Footprint, system, graph, scenario, why: str) -> InfeasibleError:
    capacity = float(system.chip.sram.capacity)
    need = math.ceil(fp.total_bytes / capacity)
    weights = fp.layers * fp.layer_weight_bytes + fp.embed_bytes + fp.head_bytes
    kv = fp.layers * fp.layer_kv_bytes
    reason = (f"{graph.workload} with {scenario.weight_dtype} weights needs at least {need} chips of "
              f"{capacity / 2**20:.0f} MiB SRAM (weights {weights / 1e9:.1f} GB + KV cache {kv / 1e9:.2f} GB); "
              f"{why}")
    from archsim.workload.model import DTYPE_BYTES

    w = DTYPE_BYTES[scenario.weight_dtype]
    if w > 1:
        eight = math.ceil((weights / w + kv) / capacity)
        reason += f". With 8-bit weights (--weight-dtype int8) it needs about {eight}"
    return InfeasibleError(reason, dict(chips_needed=need, chips_available=system.count,
                                        weight_bytes=weights, kv_cache_bytes=kv, sram_per_chip_bytes=capacity))
