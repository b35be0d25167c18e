"""Mapping files for wafer-scale meshes (`family: mesh`, mapper mesh-dataflow).

    version: 1
    family: mesh
    region: 152x168         # cores per decoder-layer region, WxH (auto: the fewest, largest that fit)
    strategy: meshgemv      # collectives: meshgemv (K-tree reductions, MeshGEMM) or gather (GPU/T10 style)
    tree_levels: 2          # levels of the K-tree reduction
    accumulate: fp16        # partial sums' precision
    lowering: meshgemm      # prefill: meshgemm (blocks) or meshgemv (passes of a few tokens); decode: meshgemv
    prefill_chunk: 10       # prefill: tokens per chunk pipelined over the layer regions
    microbatch: 1           # decode: sequences per micro-batch circulating through the regions
    kernels: waferllm       # whose software overheads apply (a calibration, not a mapping choice)
    layers_only: false

Layers are placed in order on equal regions, one layer (or `stack` of them) per region, wafer after wafer;
every decoder layer is lowered the same way (one layer is simulated), so region shape, lowering, chunk and
micro-batch are per-layer choices that hold for every layer (docs/mapping.md).
"""
from __future__ import annotations

from archsim.errors import InfeasibleError
from archsim.mapping.file import MappingSchema
from archsim.spec import Field

LOWERINGS = {"auto": "auto", "meshgemm": "blocks", "meshgemv": "passes"}

FIELDS = {
    "region": Field("str", "cores per decoder-layer region, WxH, or auto", required=False, default="auto"),
    "strategy": Field("choice", "collective strategy", required=False, default="meshgemv",
                      choices=("meshgemv", "gather")),
    "tree_levels": Field("int", "levels of the K-tree reduction (meshgemv)", required=False, default=2,
                         positive=True),
    "accumulate": Field("choice", "precision of partial sums", required=False, default="fp16",
                        choices=("fp16", "fp32")),
    "lowering": Field("choice", "prefill layers as meshgemm (blocks) or meshgemv (passes), or auto; decode layers "
                                "are always meshgemv", required=False, default="auto", choices=tuple(LOWERINGS)),
    "prefill_chunk": Field("scalar", "prefill: tokens per chunk, or auto", required=False, default="auto"),
    "microbatch": Field("scalar", "decode: sequences per micro-batch, or auto", required=False, default="auto"),
    "kernels": Field("str", "software overhead profile: waferllm or cerebras-2024", required=False,
                     default="waferllm"),
    "layers_only": Field("bool", "time the decoder layers only (WaferLLM's method)", required=False, default=False),
}


def to_options(data: dict) -> dict:
    return {"region": str(data["region"]), "strategy": data["strategy"], "tree_levels": data["tree_levels"],
            "accumulate": data["accumulate"], "prefill_layout": LOWERINGS[data["lowering"]],
            "prefill_chunk": str(data["prefill_chunk"]), "microbatch": str(data["microbatch"]),
            "kernels": data["kernels"], "layers_only": data["layers_only"]}


def effective(result) -> dict:
    """The region, chunk or micro-batch and prefill lowering the run chose, with the fixed options."""
    options, extra = result.provenance["options"], result.extra
    mesh = extra.get("mesh", {})
    out = {"region": extra.get("region", options["region"]), "strategy": options["strategy"],
           "tree_levels": int(options["tree_levels"]), "accumulate": options["accumulate"]}
    if "prefill_lowering" in mesh:
        out["lowering"] = "meshgemv" if mesh["prefill_lowering"] == "meshgemv-passes" else "meshgemm"
    if "prefill_chunk_tokens" in mesh:
        out["prefill_chunk"] = int(mesh["prefill_chunk_tokens"])
    if "microbatch" in mesh:
        out["microbatch"] = int(mesh["microbatch"])
    out.update(kernels=options["kernels"], layers_only=bool(options["layers_only"]))
    return out


def _setup(system, graph, scenario, options):
    from archsim.families.mesh.mapper.costs import ACCUMULATOR_BYTES, MeshCosts, colors_needed
    from archsim.families.mesh.mapper.place import parse_region
    from archsim.workload.model import DTYPE_BYTES

    full = _full(options)
    costs = MeshCosts.from_system(system, DTYPE_BYTES[scenario.act_dtype], full["kernels"],
                                  ACCUMULATOR_BYTES[full["accumulate"]])
    need = colors_needed(full["strategy"], full["tree_levels"])
    if need > costs.colors:
        raise InfeasibleError(f"strategy {full['strategy']} with {full['tree_levels']} tree levels needs {need} "
                              f"routable colours per router (every decoder layer's GEMV reductions and broadcasts); "
                              f"{system.chip.name} has {costs.colors}", {"colors_needed": need})
    return full, costs, parse_region(full["region"])


def _full(options) -> dict:
    from archsim.mapping.base import resolve_mapper

    return resolve_mapper("mesh-dataflow", "mesh").parse_options(
        {k: v for k, v in options.items() if k != "fidelity"})


def _where(system) -> str:
    return system.chip.name if system.count == 1 else f"{system.name} ({system.count} x {system.chip.name})"


def check(system, graph, scenario, options) -> None:
    """What mesh-dataflow would reject, without simulating: colours, the region against the grid, and every
    decoder layer's per-core SRAM (weights, KV cache, activations) for the chunk or micro-batch asked;
    InfeasibleError naming the layers, their largest operators, the SRAM and the numbers."""
    from archsim.families.mesh.mapper.pipeline import choose_split

    full, costs, region = _setup(system, graph, scenario, options)
    if graph.phase == "gemm":
        return
    if graph.phase == "decode" and full["prefill_layout"] == "blocks":
        from archsim.errors import ArchsimInputError

        raise ArchsimInputError("lowering: decode layers run as MeshGEMV (one token per sequence); meshgemm is a "
                                "prefill lowering")
    try:
        choose_split(graph, scenario, costs, system.count, region, full["layers_only"], full, graph.workload,
                     _where(system))
    except InfeasibleError as err:
        raise InfeasibleError(f"decoder layers L0-L{graph.layers - 1} ({_largest_ops(graph)}): {err.reason}",
                              err.details) from None


def _largest_ops(graph) -> str:
    ops = sorted(graph.layer_ops(0), key=lambda op: -op.weight_bytes)[:3]
    return "largest weights per layer: " + ", ".join(f"{op.short_name} {op.weight_bytes / 2**20:.1f} MiB"
                                                      for op in ops if op.weight_bytes)


def auto_space(system, graph, scenario, options) -> dict:
    """Candidate values for a space's `KEY: auto`: the regions region=auto chooses among (every grid of equal
    regions that gives each layer its own region and fits), and the micro-batches (decode) or first prefill
    chunks that mesh-dataflow's auto simulates, from the same code (mesh_pipeline.choose_split)."""
    from archsim.families.mesh.mapper.pipeline import choose_split

    full, costs, region = _setup(system, graph, scenario, options)
    out = {"region": _regions(graph, scenario, costs, system.count, full["layers_only"])}
    if graph.phase in ("decode", "prefill"):
        key = "microbatch" if graph.phase == "decode" else "prefill_chunk"
        candidates, _ = choose_split(graph, scenario, costs, system.count, region, full["layers_only"],
                                     dict(full, **{key: "auto"}), graph.workload, _where(system))
        out[key] = [cut.size for _, cut in candidates]
    return out


def _regions(graph, scenario, costs, count, layers_only) -> list[str]:
    from archsim.families.mesh.mapper.place import _fits, footprint, grid_layouts

    out = []
    for _, _, w, h, p in grid_layouts(footprint(graph, scenario), costs, count, layers_only):
        if p is not None and _fits(p, costs) and f"{w}x{h}" not in out:
            out.append(f"{w}x{h}")
    return out

SCHEMA = MappingSchema(family="mesh", mapper="mesh-dataflow", fields=FIELDS, to_options=to_options,
                       effective=effective,
                       option_keys={"region": ("region",), "strategy": ("strategy",),
                                    "tree_levels": ("tree_levels",), "accumulate": ("accumulate",),
                                    "prefill_layout": ("lowering",), "prefill_chunk": ("prefill_chunk",),
                                    "microbatch": ("microbatch",), "kernels": ("kernels",),
                                    "layers_only": ("layers_only",)},
                       check=check, auto_space=auto_space)
