"""`--fidelity cycle` on mesh chips: on-wafer collectives timed on the cycle-level
network with the wafer router (archsim/families/mesh/mapper/cycle.py, docs/wafer.md)."""
from __future__ import annotations

import json
import math

import pytest

from archsim.commands.common import _jsonable
from archsim.families.mesh.mapper.cycle import MAX_CHUNKS, Collective, WaferNetwork, line_trace
from archsim.pipeline import run
from archsim.spec import parse_override
from archsim.workload.model import Scenario

DECODE = Scenario(phase="decode")
SMALL = {"region": "32x32", "layers_only": "true"}
TERMINALS = 3  # injection + ejection channels (4 cycles) less the cycle the closed form counts in bytes / link


def _net(hop_latency=1):
    return WaferNetwork(hop_latency, 24, 4.0)


@pytest.mark.parametrize("hop_latency", [1, 2])
def test_lightly_loaded_collectives_take_the_closed_form_plus_the_terminal_channels(hop_latency):
    net, a = _net(hop_latency), hop_latency
    for n in (2, 3, 16, 101):
        for f, beta in ((1, 36), (9, 0), (300, 36)):
            assert net.cycles(Collective("bcast", n, 1, f, beta), 0) == beta + a * (n // 2) + f + TERMINALS
            assert net.cycles(Collective("hop", n, 1, f, beta), 0) == beta + a * n + f + TERMINALS
            if n > 2:  # Cannon round on the interleaved ring: 2 hops
                assert net.cycles(Collective("shift2", n, 1, f, beta), 0) == beta + 2 * a + f + TERMINALS


@pytest.mark.parametrize("members", [2, 3, 4, 13, 26])
@pytest.mark.parametrize("span", [1, 3])
@pytest.mark.parametrize("flits", [1, 8, 64, 200])
def test_a_streaming_ktree_level_costs_the_terminal_channels_per_step_and_the_roots_port(members, span, flits):
    """Each add-and-forward step crosses a core's injection and ejection channels (4 cycles the closed form
    folds into beta); chunks of more than one wavelet add chunk - 1 per step; when both chains reach the root
    together it takes their wavelets through one ejection port (up to `flits` more)."""
    beta = 36
    steps = math.ceil((members - 1) / 2)
    task = steps * (beta + span) + flits
    got = _net().cycles(Collective("tree", members, span, flits, beta), task)
    chunk = math.ceil(flits / MAX_CHUNKS)
    assert task + 4 * steps - 1 <= got <= task + (4 + chunk - 1) * steps + flits


def test_traces_of_each_pattern():
    n, tr = line_trace(Collective("tree", 5, 4, 3, 36))
    assert n == 17 and len(tr) == 4 * 3  # 4 chain steps of 3 one-wavelet chunks
    assert set(tr.dst.tolist()) == {4, 8, 12}
    first = tr.dep_ptr[1:] == tr.dep_ptr[:-1]  # a chain's first step: released at beta, later ones beta after
    assert (tr.earliest[first] == 36).all() and (tr.delay[~first] == 36).all() and first.sum() == 6
    n, tr = line_trace(Collective("shift2", 8, 1, 5, 0))
    assert sorted(tr.src.tolist()) == sorted(tr.dst.tolist()) == list(range(8))
    assert max(abs(tr.src - tr.dst)) == 2
    n, tr = line_trace(Collective("bcast", 9, 1, 5, 10))
    assert (tr.src.tolist(), tr.dst.tolist(), tr.earliest.tolist()) == ([4, 5], [0, 8], [10, 11])


def test_cycle_fidelity_runs_reports_itself_and_stays_close_to_task_when_lightly_loaded():
    cycle = run("wse2", "tiny", DECODE, options=SMALL, fidelity="cycle")
    task = run("wse2", "tiny", DECODE, options=SMALL, fidelity="task")
    assert cycle.fidelity == "cycle" and cycle.provenance["fidelity"] == "cycle"
    assert cycle.extra["noc_fidelity"] == "cycle" and task.extra["noc_fidelity"] == "task"
    assert cycle.extra["fidelity_by_part"] == {"on-wafer network": "cycle", "compute": "task", "sram": "task",
                                               "wafer_io": "task"}
    assert any("fidelity cycle: on-wafer transfers" in n for n in cycle.notes)
    rows = cycle.extra["noc_collectives"]
    assert rows and all(r["cycle_cycles"] >= r["task_cycles"] for r in rows)
    assert all(r["cycle_over_task"] <= 1.25 for r in rows)
    # compute and SRAM are the same tasks; only communication changed
    assert cycle.totals()["compute_s"] == pytest.approx(task.totals()["compute_s"], rel=1e-12)
    assert task.latency_s <= cycle.latency_s <= 1.15 * task.latency_s
    vs = cycle.extra["noc_cycle_vs_task"]
    assert vs["per_layer_task_s"] == pytest.approx(task.extra["mesh"]["per_layer_s"], rel=1e-12)
    d = json.loads(json.dumps(cycle.to_dict(), default=_jsonable))
    assert d["fidelity"] == "cycle" and d["noc_fidelity"] == "cycle" and d["noc_collectives"]


@pytest.mark.parametrize("options,scenario", [
    ({"strategy": "gather"}, DECODE),
    ({"prefill_layout": "blocks"}, Scenario(phase="prefill", prompt_len=64)),
    ({"prefill_layout": "passes"}, Scenario(phase="prefill", prompt_len=64)),
    ({"strategy": "gather", "prefill_layout": "blocks"}, Scenario(phase="prefill", prompt_len=64)),
])
def test_every_strategy_and_phase_runs_at_cycle_fidelity(options, scenario):
    r = run("wse2", "tiny", scenario, options={**SMALL, **options}, fidelity="cycle")
    patterns = {row["pattern"] for row in r.extra["noc_collectives"]}
    assert r.latency_s > 0 and patterns
    if options.get("prefill_layout") == "blocks" and "strategy" not in options:
        assert "shift2" in patterns  # MeshGEMM's Cannon shifts
    if options.get("prefill_layout") == "passes":
        assert "tree" in patterns and "shift2" not in patterns  # MeshGEMV's K-tree reductions
    if options.get("strategy") == "gather" and scenario.phase == "decode":
        assert "gather" in patterns


def test_whole_system_kernels_and_cycle_fidelity():
    r = run("wse3", "tiny", DECODE, fidelity="cycle")  # embedding, hand-offs, LM head: all on the network
    assert {"hop", "tree", "bcast"} <= {row["pattern"] for row in r.extra["noc_collectives"]}
    k = run("wse2", "gemv:512x512", fidelity="cycle", options={"region": "32x32"})
    assert k.extra["noc_fidelity"] == "cycle" and k.latency_s > 0


def test_waferllm_region_at_cycle_fidelity():
    over = [parse_override("core.sram=128KiB")]
    opts = {"region": "420x420", "layers_only": "true"}
    cycle = run("wse2", "llama3-8b", DECODE, options=opts, overrides=over, fidelity="cycle")
    task = run("wse2", "llama3-8b", DECODE, options=opts, overrides=over, fidelity="task")
    assert task.latency_s < cycle.latency_s < 1.10 * task.latency_s


@pytest.mark.parametrize("scenario,options", [
    (Scenario(phase="decode", batch=8), {"microbatch": "auto"}),
    (Scenario(phase="prefill", prompt_len=256), {"prefill_chunk": "auto"}),
])
def test_steps_in_pieces_run_at_cycle_fidelity(scenario, options):
    """auto compares its candidates at task fidelity and re-runs the one it keeps on the cycle-level network."""
    opts = {**SMALL, **options}
    task = run("wse2", "tiny", scenario, options=opts)
    cycle = run("wse2", "tiny", scenario, options=opts, fidelity="cycle")
    assert cycle.extra["noc_fidelity"] == "cycle" and cycle.extra["noc_cycle_vs_task"]
    piece = "microbatch" if scenario.phase == "decode" else "prefill_chunk_tokens"
    assert cycle.extra["mesh"][piece] == task.extra["mesh"][piece]
    assert task.latency_s <= cycle.latency_s <= 1.25 * task.latency_s
