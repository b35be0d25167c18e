"""The mesh-dataflow mapper: collective costs, placement and SRAM checks, the run it produces."""
from __future__ import annotations

import math

import pytest

from archsim.engine import simulate
from archsim.errors import InfeasibleError
from archsim.hw.load import load_system
from archsim.mapping.base import resolve_mapper
from archsim.families.mesh.mapper.costs import MeshCosts, MeshEmitter, tree_groups
from archsim.families.mesh.mapper.place import footprint, place
from archsim.pipeline import build_graph, run
from archsim.spec import parse_override
from archsim.workload.model import Scenario

DECODE_4K = Scenario(phase="decode", batch=1, context_len=4096)
BIG_SRAM = [parse_override("core.sram=128KiB")]


def _costs(chip="wse2", **changes):
    costs = MeshCosts.from_system(load_system(chip), 2.0)
    return costs if not changes else MeshCosts(**{**costs.__dict__, **changes})


def _makespan(build) -> int:
    em = MeshEmitter(_costs(), "meshgemv", 2)
    build(em)
    return simulate(em.build()).makespan_cycles


# -- collectives ----------------------------------------------------------------

@pytest.mark.parametrize("n,levels", [(2, 2), (16, 2), (420, 2), (660, 2), (660, 3), (37, 1)])
def test_tree_groups_cover_the_line(n, levels):
    groups = tree_groups(n, levels)
    assert math.prod(members for members, _ in groups) >= n
    assert len(groups) <= levels
    assert [span for _, span in groups] == sorted(span for _, span in groups)


def test_ktree_reduce_matches_closed_form():
    """One task per tree level: steps x (beta + alpha x span) plus one message's serialisation."""
    c = _costs()
    n, elements = 420, 40
    expected = 0
    for members, span in tree_groups(n, 2):
        steps = math.ceil((members - 1) / 2)
        expected += steps * (c.beta + c.alpha * span) + math.ceil(elements * c.acc_bytes / c.link)
    assert _makespan(lambda em: em.reduce("r", 0, "x", n, elements, [])) == expected


def test_broadcast_is_one_multicast_from_the_middle():
    c = _costs()
    got = _makespan(lambda em: em.broadcast("b", 0, "y", 301, 10, []))
    assert got == c.beta + c.alpha * 150 + math.ceil(10 * c.dtype_bytes / c.link)


@pytest.mark.parametrize("n", [16, 64, 420])
def test_gather_is_slower_than_the_ktree(n):
    costs = _costs()
    tree = MeshEmitter(costs, "meshgemv", 2)
    tree.reduce("r", 0, "x", n, 8, [])
    gather = MeshEmitter(costs, "gather", 2)
    gather.reduce("r", 0, "x", n, 8, [])
    assert simulate(gather.build()).makespan_cycles > simulate(tree.build()).makespan_cycles


def test_local_work_is_bound_by_the_slower_of_simd_and_sram_ports():
    c = _costs("wse3")  # 8-wide SIMD, but 16 B/cycle of reads carry only 4 MAC/cycle at 2+2 bytes per MAC
    for k, n in ((10, 640), (100, 64)):  # long vectors: the ports bound it; short ones: instruction start-up
        em = MeshEmitter(c, "meshgemv", 2)
        em.block_gemm("g", 0, 1, k, n, [])
        macs = k * n
        compute = k * c.sigma + math.ceil(macs / c.simd)
        ports = math.ceil(macs * (c.dtype_bytes + c.acc_bytes) / c.sram_read)
        assert simulate(em.build()).makespan_cycles == max(compute, ports)


# -- placement and capacity -------------------------------------------------------

def test_mesh_dataflow_is_the_default_for_mesh_chips():
    assert resolve_mapper("auto", "mesh").name == "mesh-dataflow"


def test_auto_gives_every_layer_its_own_region_and_fits():
    system = load_system("wse3")
    graph = build_graph("llama3.1-8b", Scenario(phase="decode"))
    costs = MeshCosts.from_system(system, 2.0)
    p = place(footprint(graph, Scenario(phase="decode")), costs, 1, None, False, "llama3.1-8b", "wse3")
    assert p.stack == 1 and p.layer_regions == graph.layers
    assert p.cols * p.region_w <= costs.grid_w and p.rows * p.region_h <= costs.grid_h
    assert p.layer_regions + p.embed_regions + p.head_regions <= p.cols * p.rows
    assert p.layer_demand.total <= costs.sram_bytes and p.head_demand.total <= costs.sram_bytes


def test_explicit_region_stacks_layers_when_regions_are_few():
    graph = build_graph("llama3-8b", DECODE_4K)
    costs = MeshCosts.from_system(load_system("wse2", BIG_SRAM), 2.0)
    p = place(footprint(graph, DECODE_4K), costs, 1, (420, 420), True, "llama3-8b", "wse2")
    assert (p.cols, p.rows, p.layer_regions, p.stack) == (1, 2, 2, 16)


def test_region_that_does_not_fit_sram_is_infeasible_with_the_numbers():
    with pytest.raises(InfeasibleError) as err:
        run("wse2", "llama3-8b", DECODE_4K, options={"region": "540x540", "layers_only": "true"})
    text = str(err.value)
    assert "540x540" in text and "48.0 KiB" in text and "32 stacked layers" in text and "core.sram" in text


def test_70b_does_not_fit_one_wafer_but_fits_four():
    with pytest.raises(InfeasibleError, match="GB"):
        run("wse3", "llama3.1-70b", Scenario(phase="decode"))
    result = run("cs3x4", "llama3.1-70b", Scenario(phase="decode"))
    mesh = result.extra["mesh"]
    assert mesh["wafers_used"] == 4 and mesh["crossings"] == 3
    assert mesh["sram_per_core_bytes"] <= mesh["sram_bytes"]
    assert any(o.name == "wafer_io" and o.comm_s > 0 for o in result.ops)


def test_too_many_tree_levels_for_the_colours_is_infeasible():
    with pytest.raises(InfeasibleError, match="colours"):
        run("wse3", "llama3.1-8b", options={"tree_levels": "3"})


# -- the run --------------------------------------------------------------------------

def test_decode_run_reports_per_layer_split_and_stays_tractable():
    result = run("wse3", "llama3.1-8b", Scenario(phase="decode"))
    assert {"per_layer", "per_layer_bottleneck", "region"} <= set(result.extra)
    layer_ops = [o for o in result.ops if 0 <= o.layer < result.layers]
    assert sum(o.compute_s for o in layer_ops) > 0 and sum(o.comm_s for o in layer_ops) > 0
    assert result.latency_s >= result.roofline_latency_s
    assert result.bottleneck in ("compute", "memory", "communication")


def test_a_660x660_layer_is_a_few_hundred_tasks():
    from archsim.mapping.base import MAPPERS

    scenario = DECODE_4K
    graph = build_graph("llama3-8b", scenario)
    system = load_system("wse2", BIG_SRAM)
    mapper = MAPPERS.get("mesh-dataflow")
    options = mapper.parse_options({"region": "660x660", "layers_only": "true"})
    mapping = mapper.fn(system, graph, scenario, dict(options, fidelity="task"))
    assert len(mapping.segments) == 1 and mapping.segments[0].repeat == graph.layers
    assert mapping.segments[0].graph.n_tasks < 500


def _waferllm_decode(side: int, **sets) -> float:
    overrides = BIG_SRAM + [parse_override(f"{k}={v}") for k, v in sets.items()]
    return run("wse2", "llama3-8b", DECODE_4K, options={"region": f"{side}x{side}", "layers_only": "true"},
               overrides=overrides).tokens_per_s


def test_decode_slows_as_the_region_grows():
    rates = [_waferllm_decode(side) for side in (420, 540, 660)]
    assert rates[0] > rates[1] > rates[2]


@pytest.mark.parametrize("key,value", [("router.link_width", "8 B/cycle"), ("core.sram_read", "32 B/cycle"),
                                       ("core.message_overhead", 10), ("core.fp16_fmac", 8)])
def test_more_hardware_or_less_overhead_is_never_slower(key, value):
    assert _waferllm_decode(420, **{key: value}) >= _waferllm_decode(420) * (1 - 1e-12)


def test_gather_strategy_is_much_slower_on_decode():
    scenario = Scenario(phase="decode")
    mesh = run("wse3", "llama3.1-8b", scenario).tpot_s
    gather = run("wse3", "llama3.1-8b", scenario, options={"strategy": "gather"}).tpot_s
    assert gather > 3 * mesh


def test_layers_only_drops_embedding_head_and_handoffs():
    full = run("wse3", "llama3.1-8b", Scenario(phase="decode"))
    layers = run("wse3", "llama3.1-8b", Scenario(phase="decode"), options={"layers_only": "true"})
    names = {o.name for o in layers.ops if o.time_s > 0}
    assert not names & {"embed", "lm_head", "handoff", "sample"}
    assert layers.latency_s < full.latency_s


def test_override_of_sram_is_said_in_the_output():
    result = run("wse2", "llama3-8b", DECODE_4K, options={"region": "540x540", "layers_only": "true"},
                 overrides=BIG_SRAM)
    assert any("48.0 KiB" in n and "does NOT fit the real chip" in n for n in result.notes)


def test_prefill_and_kernels_run():
    prefill = run("wse2", "llama3-8b", Scenario(phase="prefill", prompt_len=4096),
                  options={"region": "600x600", "layers_only": "true"}, overrides=BIG_SRAM)
    assert prefill.ttft_s > 0 and prefill.bottleneck == "compute"
    assert run("wse2", "gemv:8192x8192").latency_s > 0
    assert run("wse2", "gemm:2048x2048x2048").latency_s > 0


def test_cli_prints_per_layer_split_and_bottleneck(capsys):
    from archsim.cli import main

    assert main(["run", "wse3", "llama3.1-8b", "--phase", "decode"]) == 0
    out = capsys.readouterr().out
    assert "per_layer:" in out and "communication" in out and "bottleneck:" in out


def test_heatmap_arrays_for_the_report():
    from archsim.families.mesh.mapper.traffic import line_profile

    result = run("wse3", "llama3.1-8b", Scenario(phase="decode"))
    w, h = (int(v) for v in result.extra["region"].split("x"))
    assert result.extra["core_sram_bytes"].shape == (h, w)
    assert result.extra["link_bytes_x"].shape == (h, w - 1) and result.extra["link_bytes_y"].shape == (h - 1, w)
    assert result.extra["link_bytes_x"].max() > 0
    # a gather loads the links next to its root with every sender beyond them; a K-tree level at most once
    assert line_profile("gather", 9, 2, 9).tolist() == [1, 2, 3, 4, 4, 3, 2, 1]
    assert line_profile("tree", 9, 2, 9).max() <= 2
