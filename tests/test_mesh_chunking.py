"""Chunked prefill and micro-batched decode on the wafer (mesh_chunk.py, mesh_pipeline.py, mesh_pieces.py)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from archsim.cli import main
from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.hw.load import load_system
from archsim.families.mesh.mapper.chunk import scaled_graph
from archsim.families.mesh.mapper.costs import MeshCosts
from archsim.families.mesh.mapper.pipeline import piece_footprint, fill_and_drain, steady_period
from archsim.families.mesh.mapper.place import demand, footprint, place
from archsim.pipeline import build_graph, run
from archsim.spec import parse_override
from archsim.workload.model import Scenario

FIELDS = ("flops", "weight_bytes", "kv_read_bytes", "kv_write_bytes", "act_read_bytes", "act_write_bytes",
          "m", "n", "k", "count")
PREFILL_70B = Scenario(phase="prefill", prompt_len=2048)
DECODE_64 = Scenario(phase="decode", batch=64)
# a 64x48-core wafer: the tiny model's runs take milliseconds
SMALL_WAFER = [parse_override("grid.width=64"), parse_override("grid.height=48")]


def _same_ops(got, want, kinds=None):
    assert [o.name for o in got.ops] == [o.name for o in want.ops]
    for a, b in zip(got.ops, want.ops):
        if kinds and a.kind not in kinds:
            continue
        for f in FIELDS:
            assert getattr(a, f) == pytest.approx(getattr(b, f), rel=1e-12, abs=1e-9), (a.name, f)
        for key in ("batch", "q_len", "kv_len"):
            assert a.attrs.get(key) == b.attrs.get(key), (a.name, key)


def _without_option(result, option: str) -> dict:
    d = result.to_dict()
    d["provenance"]["options"].pop(option)
    return d


# -- the operators of a piece are the lowering's ----------------------------------------

@pytest.mark.parametrize("workload", ["llama3.1-8b", "mixtral-8x7b", "gpt3-175b"])
def test_a_piece_is_what_the_lowering_gives(workload):
    full = build_graph(workload, Scenario(phase="prefill", prompt_len=1024, batch=2))
    # the first chunk of a prompt is a prompt that long
    _same_ops(scaled_graph(full, 2, 300, 0), build_graph(workload, Scenario(phase="prefill", prompt_len=300, batch=2)))
    # a one-token chunk after p tokens attends as the decode step with context p does
    decode = build_graph(workload, Scenario(phase="decode", context_len=777, batch=2))
    _same_ops(scaled_graph(full, 2, 1, 777), decode, kinds=("attn_score", "softmax", "attn_context"))
    # a micro-batch is the decode of that batch
    batch = build_graph(workload, Scenario(phase="decode", batch=64))
    _same_ops(scaled_graph(batch, 16, 1, 1024), build_graph(workload, Scenario(phase="decode", batch=16)))


# -- the pipeline ------------------------------------------------------------------------

def _slow_fill_and_drain(layers, t, entry, hop):
    """Every monotone path through regions x pieces, the longest one (the obvious version)."""
    regions, pieces = len(layers), len(t)
    best = 0
    for downs in itertools.combinations(range(regions + pieces - 2), regions - 1):
        r, j = 0, 0
        cost = entry[0] + layers[0] * t[0]
        for step in range(regions + pieces - 2):
            if step in downs:
                r += 1
                cost += hop(r, j) + layers[r] * t[j]
            else:
                j += 1
                cost += layers[r] * t[j]
        best = max(best, cost)
    # a path may also enter after its first piece (the entry of a later piece is on it)
    for j0 in range(1, pieces):
        tail = _slow_fill_and_drain(layers, t[j0:], entry[j0:], lambda r, j: hop(r, j + j0))
        best = max(best, tail)
    return best


def test_fill_and_drain_is_the_longest_path():
    rng = np.random.default_rng(7)
    for _ in range(40):
        regions, pieces = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        layers = [int(x) for x in rng.integers(1, 4, regions)]
        t = [int(x) for x in rng.integers(1, 100, pieces)]
        entry = [int(x) for x in rng.integers(0, 20, pieces)]
        hops = rng.integers(0, 30, (regions + 1, pieces))
        path = fill_and_drain(layers, t, entry, lambda r, j: int(hops[r, j]))
        assert path.cycles == _slow_fill_and_drain(layers, t, entry, lambda r, j: int(hops[r, j]))
        # the path's own cost is the makespan: what the segments will add up to
        cost = entry[path.entry] + sum(layers[r] * t[j] for j, a, b in path.columns for r in range(a, b + 1))
        cost += sum(int(hops[r, j]) for r, j in enumerate(path.crossed, start=1))
        assert cost == path.cycles


def test_identical_regions_fill_and_drain_closed_form():
    t = [10, 30, 20, 25]
    path = fill_and_drain([1] * 6, t, [0] * 4, lambda r, j: 0)
    assert path.cycles == sum(t) + 5 * max(t)


def test_steady_period_is_the_longer_of_round_trip_and_busiest_unit():
    assert steady_period([100, 90], {"region": 80, "head": 20}) == (100, "round trip")
    assert steady_period([100], {"region": 130, "head": 120}) == (130, "region")


# -- chunked prefill ----------------------------------------------------------------------

def test_70b_prefill_of_2048_tokens_on_four_cs3_runs_in_chunks():
    result = run("cs3x4", "llama3.1-70b", PREFILL_70B)
    mesh = result.extra["mesh"]
    chunk, chunks = mesh["prefill_chunk_tokens"], mesh["prefill_chunks"]
    assert 1 < chunks == math.ceil(2048 / chunk) and mesh["wafers_used"] == 4
    assert mesh["sram_per_core_bytes"] <= mesh["sram_bytes"]
    assert "prefill_chunks" in result.extra and any("chunked prefill" in n for n in result.notes)
    # the pipeline: at least the slowest chunk through every layer, at most the chunks one after another
    layer_s = mesh["chunk_layer_s"]
    assert 80 * max(layer_s) <= mesh["prefill_pipeline_layers_s"] <= mesh["prefill_serial_layers_s"]
    assert mesh["prefill_pipeline_layers_s"] < result.ttft_s
    # auto tried the largest chunk that fits first and kept the fastest candidate
    tried = {int(k): v for k, v in mesh["auto_candidates_s"].items()}
    largest = next(iter(tried))
    assert largest == max(tried) > chunk and tried[chunk] == min(tried.values())
    assert tried[chunk] == pytest.approx(result.ttft_s, rel=1e-12)
    with pytest.raises(InfeasibleError, match=f"largest that fits is prefill_chunk={largest}"):
        run("cs3x4", "llama3.1-70b", PREFILL_70B, options={"prefill_chunk": str(largest + 1)})


def test_chunk_sram_holds_the_whole_prompts_kv_and_one_chunks_activations():
    graph = build_graph("llama3.1-8b", Scenario(phase="prefill", prompt_len=2048))
    whole = footprint(graph, None)
    chunk = piece_footprint(graph, None, "prefill_chunk", 2048, 512)
    assert chunk.layer_kv == pytest.approx(whole.layer_kv)
    assert chunk.layer_weights == whole.layer_weights
    assert chunk.layer_act == pytest.approx(whole.layer_act / 4)
    # the last chunk's scores: 512 queries over the 1536 tokens before them and causally over themselves
    pairs = 512 * 1536 + 512 * 513 // 2
    assert chunk.score_act == pytest.approx(whole.score_act * pairs / (2048 * 2049 // 2))
    assert demand(chunk, 152, 147, 1, 2.0).activations < demand(whole, 152, 147, 1, 2.0).activations


def _tiny_prefill(chunk, region="64x48"):
    return run("wse3", "tiny", Scenario(phase="prefill", prompt_len=1024), overrides=SMALL_WAFER,
               options={"prefill_chunk": str(chunk), "region": region, "layers_only": "true"})


def test_chunking_costs_time_when_no_regions_can_overlap():
    """One region holds every layer, so chunks cannot overlap: a chunk's fixed costs (Cannon rounds, vector
    start-ups, attention re-reading the cached prefix) make TTFT grow with the number of chunks.
    (With many regions the chunks overlap like a pipeline and chunking can shorten TTFT.)"""
    runs = [_tiny_prefill(c) for c in ("auto", 512, 256, 128)]
    assert [r.extra["mesh"]["prefill_chunks"] for r in runs] == [1, 2, 4, 8]
    assert runs[0].extra["mesh"]["layer_regions"] == 1
    ttft = [r.ttft_s for r in runs]
    assert ttft == sorted(ttft) and len(set(ttft)) == 4
    for r in runs[1:]:  # one region: the layers one after another for every chunk
        assert r.ttft_s == pytest.approx(2 * sum(r.extra["mesh"]["chunk_layer_s"]), rel=1e-12)


def test_chunks_fill_and_drain_the_layer_pipeline():
    """Two regions of one layer each: the first runs every chunk, the slowest chunk then crosses the second."""
    for chunk in (512, 256):
        r = _tiny_prefill(chunk, region="32x48")
        layer_s = r.extra["mesh"]["chunk_layer_s"]
        assert r.extra["mesh"]["layer_regions"] == 2
        assert r.ttft_s == pytest.approx(sum(layer_s) + max(layer_s), rel=1e-9)
        assert r.ttft_s < 2 * sum(layer_s)


def test_auto_is_its_fastest_candidate_and_the_same_as_asking_for_it():
    scenario = Scenario(phase="prefill", prompt_len=512)
    auto = run("wse3", "llama3.1-8b", scenario)
    mesh = auto.extra["mesh"]
    tried = {int(k): v for k, v in mesh["auto_candidates_s"].items()}
    assert next(iter(tried)) == 512  # the whole prompt fits, and is tried first
    assert auto.ttft_s == pytest.approx(min(tried.values()), rel=1e-12)
    assert auto.ttft_s < tried[512]
    chosen = mesh["prefill_chunk_tokens"]
    asked = run("wse3", "llama3.1-8b", scenario, options={"prefill_chunk": str(chosen)})
    assert asked.ttft_s == auto.ttft_s and asked.critical_path == auto.critical_path


@pytest.mark.parametrize("value", ["0", "-4", "abc", "1.5", "2049"])
def test_impossible_prefill_chunk_is_one_clear_error(value):
    with pytest.raises(ArchsimInputError, match="option 'prefill_chunk' must be 'auto' or a whole number of tokens"):
        run("wse3", "tiny", Scenario(phase="prefill", prompt_len=2048), options={"prefill_chunk": value})


def test_prefill_chunk_that_does_not_fit_names_the_option_and_exits_2(capsys):
    code = main(["run", "cs3x4", "llama3.1-70b", "--phase", "prefill", "--prompt-len", "2048",
                 "-o", "prefill_chunk=2048"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "option 'prefill_chunk'=2048 does not fit" in err and "the largest that fits is prefill_chunk=" in err


# -- micro-batched decode -------------------------------------------------------------------

def test_decode_batch_activations_are_per_sequence_on_every_core():
    """Why batch 64 does not fit whole: with MeshGEMV every core holds a slice of every sequence's vectors
    (each weight lives on one core and must meet every sequence), so the buffers grow with the batch."""
    one = footprint(build_graph("llama3.1-8b", Scenario(phase="decode", batch=1)), None)
    many = footprint(build_graph("llama3.1-8b", DECODE_64), None)
    assert many.layer_act == pytest.approx(64 * one.layer_act) and many.score_rows == 64 * one.score_rows
    costs = MeshCosts.from_system(load_system("wse3"), 2.0)
    with pytest.raises(InfeasibleError, match="activations 73.6 KiB"):
        place(many, costs, 1, None, False, "llama3.1-8b", "wse3")
    micro = piece_footprint(build_graph("llama3.1-8b", DECODE_64), None, "microbatch", 64, 8)
    assert micro.layer_kv == pytest.approx(many.layer_kv) and micro.layer_act == pytest.approx(8 * one.layer_act)


def test_batch_64_decode_on_a_cs3_runs_in_micro_batches():
    result = run("wse3", "llama3.1-8b", DECODE_64)
    mesh = result.extra["mesh"]
    assert 1 < mesh["microbatches"] == math.ceil(64 / mesh["microbatch"])
    assert mesh["sram_per_core_bytes"] <= mesh["sram_bytes"]
    assert result.tokens_per_s == pytest.approx(64 / result.tpot_s)
    assert result.tpot_s == pytest.approx(max(mesh["round_trip_s"], *mesh["busy_per_step_s"].values()))
    assert result.tokens_per_s > run("wse3", "llama3.1-8b", Scenario(phase="decode")).tokens_per_s
    # auto: the largest micro-batch that fits and the powers of two below it; the fastest is kept
    tried = {int(k): v for k, v in mesh["auto_candidates_s"].items()}
    largest = next(iter(tried))
    assert sorted(tried) == sorted({largest} | {2 ** k for k in range(largest.bit_length()) if 2 ** k < largest})
    assert result.tpot_s == pytest.approx(min(tried.values()), rel=1e-12) == tried[mesh["microbatch"]]
    with pytest.raises(InfeasibleError, match=f"largest that fits is microbatch={largest}"):
        run("wse3", "llama3.1-8b", DECODE_64, options={"microbatch": str(largest + 1)})


def test_a_micro_batch_takes_as_long_as_a_batch_of_its_size_on_the_same_regions():
    options = {"region": "190x130", "microbatch": "8"}
    batched = run("wse3", "llama3.1-8b", DECODE_64, options=options)
    alone = run("wse3", "llama3.1-8b", Scenario(phase="decode", batch=8), options={"region": "190x130",
                                                                                      "microbatch": "8"})
    assert batched.extra["mesh"]["step_set_by"] == "round trip"
    assert batched.extra["mesh"]["round_trip_s"] == pytest.approx(alone.tpot_s, rel=1e-12)
    assert batched.tokens_per_s == pytest.approx(8 * alone.tokens_per_s, rel=1e-12)


def test_one_sequence_micro_batches_are_bound_by_the_busiest_unit():
    result = run("wse3", "llama3.1-8b", DECODE_64, options={"microbatch": "1"})
    mesh = result.extra["mesh"]
    assert mesh["microbatches"] == 64 and mesh["step_set_by"] != "round trip"
    assert result.tpot_s == pytest.approx(max(mesh["busy_per_step_s"].values()))


@pytest.mark.parametrize("value", ["0", "65", "x"])
def test_impossible_microbatch_is_one_clear_error(value):
    with pytest.raises(ArchsimInputError, match="option 'microbatch' must be 'auto' or a whole number of sequences"):
        run("wse3", "llama3.1-8b", DECODE_64, options={"microbatch": value})


def test_a_batch_that_fits_whole_is_one_of_autos_candidates():
    scenario = Scenario(phase="decode", batch=4)
    auto = run("wse3", "llama3.1-8b", scenario)
    tried = {int(k): v for k, v in auto.extra["mesh"]["auto_candidates_s"].items()}
    assert sorted(tried) == [1, 2, 4] and auto.tpot_s == pytest.approx(min(tried.values()), rel=1e-12)
    whole = run("wse3", "llama3.1-8b", scenario, options={"microbatch": "4"})
    assert whole.extra["mesh"]["microbatches"] == 1 and whole.tpot_s == pytest.approx(tried[4], rel=1e-12)


def test_same_inputs_same_cycles():
    a, b = (run("wse3", "llama3.1-8b", DECODE_64) for _ in range(2))
    assert a.latency_s == b.latency_s and a.critical_path == b.critical_path
