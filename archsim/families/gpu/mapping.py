"""Mapping files for GPUs (`family: gpu`, mapper gpu-tiled): parallelism, launch mode, per-operator GEMM tiles.

    version: 1
    family: gpu
    tp: 8                      # GPUs sharing each layer (auto: the most that divide the heads)
    pp: 1                      # pipeline stages
    microbatches: 1            # micro-batches through the stages (auto: pp)
    ep: 1                      # expert-parallel groups of tp GPUs (MoE models)
    ep_imbalance: 1.0          # busiest expert group's routed tokens over the mean
    cuda_graphs: true
    host_overhead: true
    tile: auto                 # the GEMM tile of operators not listed below (auto: the fastest per GEMM)
    attention: fused           # the one attention kernel gpu-tiled has (FlashAttention-2 / split-KV decode)
    operators:                 # per operator, by name without the layer: every decoder layer's qkv
      qkv: {tile: 32x128x64, split_k: 12}
      lm_head: {tile: 64x128x32}

What gpu-tiled honours is what the file may say (docs/mapping.md): tp, pp, micro-batches and ep, the launch
mode, one GEMM tile and split-K per operator (the same in every decoder layer of a run of identical layers: one
layer is simulated), and the attention kernel that exists. Softmax and the attention context are always fused
into the attention kernel.
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.mapping.file import MappingSchema
from archsim.spec import Field, did_you_mean

GEMM_NAMES = ("qkv", "o_proj", "ffn_up", "ffn_down", "lm_head", "router", "experts_up", "experts_down",
              "shared_up", "shared_down", "qkv_a", "q_b", "kv_b", "q_absorb", "v_absorb", "gemm:*", "gemv:*")

FIELDS = {
    "tp": Field("scalar", "tensor-parallel degree, or auto", required=False, default="auto"),
    "pp": Field("int", "pipeline-parallel stages", required=False, default=1, positive=True),
    "microbatches": Field("scalar", "micro-batches through the pp stages, or auto", required=False, default=1),
    "ep": Field("int", "expert-parallel groups of tp GPUs (MoE)", required=False, default=1, positive=True),
    "ep_imbalance": Field("float", "busiest expert group's load over the mean", required=False, default=1.0),
    "cuda_graphs": Field("bool", "one CUDA-graph replay per step (false: eager launches)", required=False,
                         default=True),
    "host_overhead": Field("bool", "charge the host's dispatch time", required=False, default=True),
    "tile": Field("str", "GEMM tile BMxBNxBK of operators not listed in `operators`, or auto", required=False,
                  default="auto"),
    "attention": Field("choice", "attention kernel: fused (FlashAttention-2 prefill, split-KV decode)",
                       required=False, default="fused", choices=("fused",)),
    "operators": Field("mapping", "per-operator GEMM choices: {name: {tile: BMxBNxBK, split_k: N}}",
                       required=False),
}
OPERATOR = {
    "tile": Field("str", "thread-block tile BMxBNxBK", required=False),
    "split_k": Field("int", "CTAs sharing K (1: no split)", required=False, positive=True),
}


def to_options(data: dict) -> dict:
    return {"tp": str(data["tp"]), "pp": data["pp"], "microbatches": str(data["microbatches"]), "ep": data["ep"],
            "ep_imbalance": float(data["ep_imbalance"]), "cuda_graphs": data["cuda_graphs"],
            "host_overhead": data["host_overhead"], "tile": data["tile"],
            "gemm": {name: dict(choice) for name, choice in (data.get("operators") or {}).items()}}


def effective(result) -> dict:
    """tp and pp as resolved, and every GEMM's tile and split-K as the run chose them."""
    options = result.provenance["options"]
    operators = {}
    for entry in result.extra.get("gpu_kernel_plan", []):
        if "tile" in entry:
            operators.setdefault(entry["op"].split(".", 1)[-1], {"tile": entry["tile"], "split_k": entry["split_k"]})
    return {"tp": int(options["tp"]), "pp": int(options["pp"]),
            "microbatches": int(result.extra.get("microbatches", 1)),
            "ep": int(options.get("ep", 1)), "ep_imbalance": float(options.get("ep_imbalance", 1.0)),
            "cuda_graphs": bool(options["cuda_graphs"]),
            "host_overhead": bool(options["host_overhead"]), "attention": "fused", "operators": operators}


def check(system, graph, scenario, options) -> None:
    """What gpu-tiled would reject, without simulating: the degrees against the system and the heads, the HBM
    each GPU needs, and every listed operator's tile and split-K against one SM (InfeasibleError naming the
    operator, its layers, the resource and the numbers)."""
    from archsim.families.gpu.mapper.chip import gpu_chip
    from archsim.families.gpu.mapper.gemm import parse_tile
    from archsim.families.gpu.mapper.parallel import check_capacity, check_parallel, geometry, shard_op
    from archsim.families.gpu.mapper.tiled import _is_gemm, check_gemm_choice, parse_gemm_choices, resolve_tp
    from archsim.workload.model import DTYPE_BYTES

    geo = geometry(graph)
    ep = int(options.get("ep", 1))
    tp = resolve_tp(str(options.get("tp", "auto")), int(options.get("pp", 1)) * ep, system.count, geo.get("heads"))
    pp = int(options.get("pp", 1))
    check_parallel(system, tp, pp)
    chip = gpu_chip(system.chip, scenario.weight_dtype)
    check_capacity(system, graph, scenario, tp, pp, chip.hbm_capacity, ep)
    choices = parse_gemm_choices(options.get("gemm") or {})
    runs = graph.model.layer_runs() if graph.model is not None else [(0, graph.layers)]
    layer_ops = [op for first, _ in runs for op in graph.layer_ops(first)]
    ops = [op for op in (*graph.pre_ops, *layer_ops, *graph.post_ops) if _is_gemm(op)] \
        if graph.layers else [op for op in graph.ops if _is_gemm(op)]
    names = {op.short_name for op in ops}
    for name in choices:
        if name not in names:
            raise ArchsimInputError(f"operators.{name}: {graph.workload} has no GEMM called {name!r}"
                                    f"{did_you_mean(name, names)}; its GEMMs: {', '.join(sorted(names))}")
    default_tile = parse_tile(str(options.get("tile", "auto")))
    for op in ops:
        choice = choices.get(op.short_name)
        if choice:
            local = shard_op(op, tp, geo)
            check_gemm_choice(chip, local, choice["tile"] or default_tile, choice["split_k"],
                              DTYPE_BYTES[scenario.weight_dtype], graph.layers)


def auto_space(system, graph, scenario, options) -> dict:
    """Candidate values for a space's `KEY: auto`: the tensor-parallel degrees that divide the heads within the
    system, the expert-parallel degrees that divide an MoE model's experts within it, micro-batch counts (powers
    of two up to the batch and 16), and the GEMM tiles gpu-tiled's `tile: auto` compares (for any
    `operators.NAME.tile`)."""
    from archsim.families.gpu.mapper.gemm import SPLITS, TILES
    from archsim.families.gpu.mapper.parallel import geometry

    heads = geometry(graph).get("heads") or system.count
    pp = int(options.get("pp", 1))
    tps = [t for t in range(1, system.count // max(1, pp) + 1) if heads % t == 0]
    experts = graph.model.experts if graph.model is not None else 1
    eps = [e for e in range(1, system.count // max(1, pp) + 1) if experts % e == 0]
    micro = [m for m in (1, 2, 4, 8, 16) if m <= max(1, scenario.batch)]
    return {"tp": tps, "ep": eps, "microbatches": micro, "operators.*.tile": ["x".join(map(str, t)) for t in TILES],
            "operators.*.split_k": list(SPLITS)}


SCHEMA = MappingSchema(family="gpu", mapper="gpu-tiled", fields=FIELDS, to_options=to_options, effective=effective,
                       option_keys={"tp": ("tp",), "pp": ("pp",), "cuda_graphs": ("cuda_graphs",),
                                    "host_overhead": ("host_overhead",), "tile": ("tile",),
                                    "gemm": ("operators",)},
                       entries={"operators": (OPERATOR, GEMM_NAMES)}, check=check, auto_space=auto_space)
