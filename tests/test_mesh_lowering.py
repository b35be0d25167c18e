"""How a prefill step's layers run on a region: MeshGEMM blocks or MeshGEMV passes (mesh_lowering.py).

The invariant: a prefill layer never costs more than the same tokens as MeshGEMM blocks or as MeshGEMV passes
of any size that fits (a GEMM of m tokens can always run as m / k GEMVs of k vectors on the same cores), and
the MeshGEMV passes always fit the region's SRAM."""
from __future__ import annotations

import pytest

from archsim.engine import simulate
from archsim.hw.load import load_system
from archsim.families.mesh.mapper.chunk import representative, scaled_graph
from archsim.families.mesh.mapper.costs import MeshCosts, MeshEmitter
from archsim.families.mesh.mapper.layer import RegionLowering
from archsim.families.mesh.mapper.lowering import Lowering, choose, layer_graph, pass_demand, pass_tokens
from archsim.families.mesh.mapper.pipeline import choose_split, piece_graph
from archsim.pipeline import build_graph, run
from archsim.spec import parse_override
from archsim.workload.model import Scenario


def _setup(chip, model, prompt, chunk, region=None, sets=(), layers_only=False):
    system = load_system(chip, [parse_override(s) for s in sets]) if sets else load_system(chip)
    scenario = Scenario(phase="prefill", prompt_len=prompt)
    graph = build_graph(model, scenario)
    costs = MeshCosts.from_system(system, 2.0)
    options = {"prefill_chunk": str(chunk), "prefill_layout": "auto"}
    [(plan, cut)], _ = choose_split(graph, scenario, costs, system.count, region, layers_only, options, model, chip)
    piece = piece_graph(graph, cut, cut.size, cut.total - cut.size)  # the last full chunk
    return graph, costs, plan, cut, piece


def _cycles(piece, plan, costs, lowering) -> int:
    return int(simulate(layer_graph(piece, plan, costs, "meshgemv", 2, None, lowering)[0]).makespan_cycles)


SHAPES = [  # (chip, model, prompt, chunk, region, --set, layers_only)
    ("cs3x4", "llama3.1-70b", 2048, 432, None, (), False),  # the 20-30x discontinuity's auto chunk
    ("cs3x4", "llama3.1-70b", 2048, 128, None, (), False),  # below the old switch (m < 168)
    ("wse3", "llama3.1-8b", 2048, 512, None, (), False),
    ("wse2", "llama3-8b", 4096, 4096, (480, 480), ("core.sram=128KiB",), True),  # WaferLLM's prefill
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}-{s[3]}")
def test_a_prefill_layer_never_costs_more_than_blocks_or_meshgemv_passes(shape):
    chip, model, prompt, chunk, region, sets, layers_only = shape
    graph, costs, plan, cut, piece = _setup(chip, model, prompt, chunk, region, sets, layers_only)
    chosen = choose(graph, piece, plan, costs, "meshgemv", 2, cut.size, cut.total)
    g = pass_tokens(graph, plan, costs, cut.size, cut.total)
    assert g >= 1
    assert chosen.cycles <= _cycles(piece, plan, costs, Lowering(False))
    for k in sorted({max(1, g // 4), max(1, g // 2), g}):
        assert pass_demand(graph, plan, costs, cut.size, cut.total, k).total <= costs.sram_bytes
        assert chosen.cycles <= _cycles(piece, plan, costs, Lowering(True, k)), k


def test_the_pass_is_the_largest_that_fits():
    graph, costs, plan, cut, _ = _setup("wse3", "llama3.1-8b", 2048, 512)
    g = pass_tokens(graph, plan, costs, cut.size, cut.total)
    assert 1 < g < cut.size
    assert pass_demand(graph, plan, costs, cut.size, cut.total, g).total <= costs.sram_bytes
    assert pass_demand(graph, plan, costs, cut.size, cut.total, g + 1).total > costs.sram_bytes


def test_a_128_token_meshgemv_does_not_fit_the_70b_regions():
    """The old lowering ran 128-token chunks of Llama-3.1-70B as one MeshGEMV over its 254x168 regions, checked
    against the block layout's SRAM: its partial sums alone (128 tokens x 57,344 / 168 outputs x 2 B = 87.6 KB
    per core, twice for the message buffer) do not fit beside 39.2 KiB of weights. Two tokens do."""
    graph, costs, plan, cut, _ = _setup("cs3x4", "llama3.1-70b", 2048, 128)
    assert (plan.region_w, plan.region_h) == (254, 168)
    assert pass_demand(graph, plan, costs, 128, 2048, 128).activations > 2 * 87_000
    assert pass_tokens(graph, plan, costs, 128, 2048) == 2


def _ffn_up_cycles(m: int, vector: bool) -> tuple[int, float]:
    """(cycles, vector-instruction start-up cycles) of Llama-3.1-70B's FFN up projection for m tokens on a
    254x168 region, as MeshGEMM blocks or one MeshGEMV of m vectors."""
    costs = MeshCosts.from_system(load_system("cs3x4"), 2.0)
    rep = representative(build_graph("llama3.1-70b", Scenario(phase="prefill", prompt_len=2048)))
    op = next(o for o in scaled_graph(rep, 1, m, 2048 - m).layer_ops(0) if o.short_name == "ffn_up")
    em = MeshEmitter(costs, "meshgemv", 2)
    RegionLowering(em, 254, 168, "prefill", m, vector).emit(op, [])
    tg = em.build()
    startup = sum(float(tg.task_latency[k]) for k in range(tg.n_tasks) if str(tg.resource_name[tg.task_resource[k]])
                  == "core")
    return int(simulate(tg).makespan_cycles), startup


def test_meshgemm_with_three_token_rows_per_core_is_instruction_bound():
    """The diagnosis (docs/wafer.md): WaferLLM's MeshGEMM vectorises over the block's token rows (432 / 168 -> 3),
    so 254 rounds of 33 x 226 three-element instructions at sigma = 12 cycles are 97% of its time, 20x the
    read-port bound; one MeshGEMV of the same 432 vectors (which would not fit the SRAM) is within 1.25x of it."""
    port_bound = 432 * 8192 * 57344 / (254 * 168) * 4 / 16  # 4 B read per MAC at 16 B/cycle
    blocks, startup = _ffn_up_cycles(432, False)
    assert startup == 254 * 33 * 226 * 12 and startup > 0.96 * blocks
    assert 19 * port_bound < blocks < 21 * port_bound
    gemv, _ = _ffn_up_cycles(432, True)
    assert gemv < 1.25 * port_bound
    # the MeshGEMV's work grows with its vectors: SRAM and messages scale, nothing is charged once for all
    small, _ = _ffn_up_cycles(128, True)
    assert 3.0 < gemv / small < 3.5


def test_halving_the_chunk_across_the_old_switch_is_no_cliff():
    """256 tokens ran as MeshGEMM and 128 as MeshGEMV before (3.40 s vs 134.5 ms TTFT); both now run as MeshGEMV
    passes and the smaller chunk is faster only by a shorter pipeline fill."""
    scenario = Scenario(phase="prefill", prompt_len=2048)
    a, b = (run("cs3x4", "llama3.1-70b", scenario, options={"prefill_chunk": c}) for c in ("256", "128"))
    assert a.extra["mesh"]["prefill_lowering"] == b.extra["mesh"]["prefill_lowering"] == "meshgemv-passes"
    assert 1.0 < a.ttft_s / b.ttft_s < 2.0


def test_prefill_layout_forces_a_lowering():
    scenario = Scenario(phase="prefill", prompt_len=256)
    options = {"prefill_chunk": "256", "region": "32x32", "layers_only": "true"}
    blocks = run("wse3", "tiny", scenario, options={**options, "prefill_layout": "blocks"})
    passes = run("wse3", "tiny", scenario, options={**options, "prefill_layout": "passes"})
    auto = run("wse3", "tiny", scenario, options=options)
    assert blocks.extra["mesh"]["prefill_lowering"] == "meshgemm"
    assert passes.extra["mesh"]["prefill_lowering"] == "meshgemv-passes"
    assert auto.ttft_s == min(blocks.ttft_s, passes.ttft_s)
