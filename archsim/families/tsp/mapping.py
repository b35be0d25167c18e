"""Mapping files for LPU systems (`family: tsp`, mapper tsp-static): the tp x pp split and which decoder
layers each pipeline stage holds.

    version: 1
    family: tsp
    tp: 8                 # chips per pipeline stage (auto: the fastest of the degrees the mapper compares)
    pp: 10                # pipeline stages (auto: the fewest that fit)
    stages: [4, 4, 3, ...]  # decoder layers per stage, first stage first (auto: as even as SRAM allows)

Every chip of a tensor-parallel group holds 1/tp of each of its stage's layers (Megatron split), so the
layer-to-chip assignment is the layer-to-stage assignment. Stages run one after another in a step, so the
assignment changes which chips fit (SRAM per chip), not the step's time; the split does. The schedule of
streams inside a chip is the compiler's, not a mapping choice here (docs/mapping.md).
"""
from __future__ import annotations

from archsim.mapping.file import MappingSchema
from archsim.spec import Field

FIELDS = {
    "tp": Field("scalar", "tensor-parallel chips per stage, or auto", required=False, default="auto"),
    "pp": Field("scalar", "pipeline stages, or auto (the fewest that fit)", required=False, default="auto"),
    "stages": Field("list_int", "decoder layers of each stage, first stage first (sets pp)", required=False),
}


def to_options(data: dict) -> dict:
    stages = data.get("stages")
    return {"tp": str(data["tp"]), "pp": str(data["pp"]),
            "stages": ",".join(map(str, stages)) if stages else "auto"}


def effective(result) -> dict:
    options, extra = result.provenance["options"], result.extra
    out = {"tp": int(options["tp"]), "pp": int(options["pp"])}
    if extra.get("stage_layers"):
        out["stages"] = [int(n) for n in extra["stage_layers"]]
    return out


def _plan(system, graph, scenario, options):
    from archsim.families.tsp.mapper.chip import TspChip
    from archsim.families.tsp.mapper.links import links_of
    from archsim.families.tsp.mapper.plan import check_stages, footprint, parse_degree, parse_stages
    from archsim.families.tsp.mapper.static import _candidates

    chip, links, fp = TspChip.from_system(system), links_of(system), footprint(graph)
    tp, pp = parse_degree("tp", options.get("tp", "auto")), parse_degree("pp", options.get("pp", "auto"))
    stages = parse_stages(options.get("stages", "auto"))
    if stages is not None:
        pp = check_stages(stages, pp, fp, graph)
    return chip, fp, stages, _candidates(fp, system, chip, links, tp, pp, graph, scenario)


def check(system, graph, scenario, options) -> None:
    """What tsp-static would reject, without simulating: a split the system or SRAM cannot hold, and an explicit
    layer assignment whose stage does not fit (InfeasibleError naming the stage, its layers and the SRAM)."""
    from archsim.families.tsp.mapper.plan import check_stage_sram

    chip, fp, stages, candidates = _plan(system, graph, scenario, options)
    if stages is not None:
        for t, _ in candidates:
            check_stage_sram(fp, t, stages, chip.sram_bytes, system)


def auto_space(system, graph, scenario, options) -> dict:
    """The (tp, pp) pairs tsp-static's `auto` simulates: each tp with the fewest stages that fit."""
    _, _, _, candidates = _plan(system, graph, scenario, dict(options, tp="auto"))
    return {"tp": [t for t, _ in candidates], "pp": sorted({p for _, p in candidates})}


SCHEMA = MappingSchema(family="tsp", mapper="tsp-static", fields=FIELDS, to_options=to_options, effective=effective,
                       option_keys={"tp": ("tp",), "pp": ("pp",), "stages": ("stages",)}, check=check,
                       auto_space=auto_space)
