"""Mapping files: one broken fixture per rule, located errors, and replay bit for bit (docs/mapping.md)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.errors import ArchsimInputError, InfeasibleError, SpecError
from archsim.hw.load import load_system
from archsim.mapping.file import checked_mapping, effective_mapping, load_mapping, parse_mapping
from archsim.pipeline import run
from archsim.workload.model import Scenario

FIXTURES = Path(__file__).parent / "fixtures" / "mapping"

# fixture -> (line, key path, a phrase of the message)
BROKEN = {
    "bad_version.yaml": (1, "version", "expected one of 1"),
    "unknown_family.yaml": (2, "family", "did you mean 'mesh'"),
    "unknown_key.yaml": (3, "regoin", "did you mean 'region'"),
    "bad_choice.yaml": (3, "strategy", "did you mean 'meshgemv'"),
    "bad_region.yaml": (3, "region", "WxH"),
    "unknown_operator.yaml": (5, "operators.qkvv", "did you mean 'qkv'"),
    "bad_tile.yaml": (4, "operators.qkv.tile", "BMxBNxBK"),
    "unknown_operator_key.yaml": (4, "operators.qkv.split", "unknown key 'split'"),
    "bad_degree.yaml": (3, "tp", "positive integer or 'auto'"),
    "bad_stages.yaml": (3, "stages", "a list of integers"),
    "wrong_mapper.yaml": (3, "mapper", "maps gpu chips"),
    "bad_pp.yaml": (3, "pp", "greater than zero"),
}


def test_every_fixture_is_listed():
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_mapping_is_located(name):
    line, key, phrase = BROKEN[name]
    with pytest.raises(SpecError) as info:
        load_mapping(FIXTURES / name)
    problem = info.value.problems[0]
    assert (problem.line, problem.path) == (line, key), str(info.value)
    assert phrase in problem.message


def test_broken_mapping_exits_2_naming_file_and_line(tmp_path, capsys):
    assert main(["run", "wse3", "llama3.1-8b", "--mapping", str(FIXTURES / "unknown_key.yaml")]) == 2
    err = capsys.readouterr().err
    assert "unknown_key.yaml:3: regoin: unknown key 'regoin'" in err


def test_a_mapping_for_another_family_is_refused():
    with pytest.raises(SpecError, match="for gpu chips; the chip is a 'mesh' chip"):
        parse_mapping({"version": 1, "family": "gpu"}, "m.yaml", {}, kind="mesh")


# --------------------------------------------------------------- does not fit: layer, operator, resource, numbers
def _check(chip, data, scenario=None, workload="llama3.1-8b"):
    system = load_system(chip)
    path = Path(__file__).parent / "fixtures" / "mapping" / "_tmp.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    try:
        return checked_mapping(str(path), system, workload, scenario or Scenario())
    finally:
        path.unlink()


def test_gpu_tile_that_does_not_fit_an_sm_names_operator_layers_and_numbers():
    with pytest.raises(InfeasibleError) as info:
        _check("dgx-h100", {"version": 1, "family": "gpu", "tp": 8, "operators": {"qkv": {"tile": "256x256x128"}}})
    text = str(info.value)
    for phrase in ("qkv of every decoder layer (L0-L31)", "256 KiB of shared memory", "228 KiB"):
        assert phrase in text


def test_gpu_split_k_beyond_k_names_the_operator():
    with pytest.raises(InfeasibleError, match=r"lm_head .*split-K 4096 leaves some CTAs no K"):
        _check("dgx-h100", {"version": 1, "family": "gpu", "operators": {"lm_head": {"tile": "64x64x64",
                                                                                       "split_k": 4096}}})


def test_gpu_operator_the_model_lacks():
    with pytest.raises(ArchsimInputError, match="has no GEMM called 'experts_up'"):
        _check("dgx-h100", {"version": 1, "family": "gpu", "operators": {"experts_up": {"split_k": 2}}})


def test_wafer_region_that_does_not_fit_names_layers_operators_and_sram():
    with pytest.raises(InfeasibleError) as info:
        _check("wse3", {"version": 1, "family": "mesh", "region": "100x100"})
    text = str(info.value)
    for phrase in ("decoder layers L0-L31", "ffn_up 224.0 MiB", "48.9 KiB", "has 48.0 KiB"):
        assert phrase in text


def test_lpu_stage_that_does_not_fit_names_stage_layers_and_sram():
    stages = [12, 4, 4, 4, 4, 2, 1, 1]
    with pytest.raises(InfeasibleError) as info:
        _check("groq-lpu-576", {"version": 1, "family": "tsp", "tp": 16, "stages": stages})
    text = str(info.value)
    assert "stage 0 (decoder layers L0-L11 with the embedding table, tp=16)" in text and "MiB of SRAM" in text


# --------------------------------------------------------------- replay bit for bit
def _replayed(chip, scenario, options, tmp_path, mapper="auto"):
    system = load_system(chip)
    first = run(system, "llama3.1-8b", scenario, mapper=mapper, options=options)
    data = effective_mapping(first, system.kind)
    import yaml

    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    name, opts = checked_mapping(str(path), system, "llama3.1-8b", scenario)
    second = run(system, "llama3.1-8b", scenario, mapper=name, options=opts)
    return first, second, data


def _same(a, b):
    assert a.latency_s == b.latency_s
    assert a.energy_j == b.energy_j
    assert [(o.name, o.time_s, o.compute_s, o.memory_s, o.comm_s) for o in a.ops] == \
        [(o.name, o.time_s, o.compute_s, o.memory_s, o.comm_s) for o in b.ops]


@pytest.mark.parametrize("chip,scenario", [
    ("wse3", Scenario(phase="decode", batch=4)),
    ("wse3", Scenario(phase="prefill", prompt_len=256)),
    ("dgx-h100", Scenario(phase="decode")),
    ("groq-lpu-576", Scenario(phase="decode")),
])
def test_the_default_mapping_replays_bit_for_bit(chip, scenario, tmp_path):
    first, second, data = _replayed(chip, scenario, {}, tmp_path)
    _same(first, second)
    assert "auto" not in {str(v) for k, v in data.items() if k != "about"}


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_mappings_replay_bit_for_bit(data, tmp_path):
    family = data.draw(st.sampled_from(["mesh", "gpu", "tsp"]), label="family")
    if family == "mesh":
        chip, scenario = "wse3", Scenario(phase="decode", batch=data.draw(st.sampled_from([1, 2, 4])))
        options = {"region": data.draw(st.sampled_from(["auto", "152x168", "127x196", "108x235"])),
                   "strategy": data.draw(st.sampled_from(["meshgemv", "gather"])),
                   "tree_levels": data.draw(st.sampled_from([1, 2])),
                   "accumulate": data.draw(st.sampled_from(["fp16", "fp32"]))}
    elif family == "gpu":
        chip, scenario = "dgx-h100", Scenario(phase=data.draw(st.sampled_from(["decode", "prefill"])),
                                              prompt_len=128)
        tiles = ["64x64x32", "128x128x32", "32x128x64", "16x256x64"]
        options = {"tp": str(data.draw(st.sampled_from([1, 2, 4, 8]))),
                   "gemm": {op: {"tile": data.draw(st.sampled_from(tiles), label=op)}
                            for op in data.draw(st.lists(st.sampled_from(["qkv", "o_proj", "ffn_up", "ffn_down"]),
                                                         unique=True, max_size=4))}}
    else:
        chip, scenario = "groq-lpu-576", Scenario(phase="decode")
        options = {"tp": str(data.draw(st.sampled_from([8, 16, 32, 64])))}
    first, second, _ = _replayed(chip, scenario, options, tmp_path)
    _same(first, second)


def test_save_mapping_from_the_command_line_replays(tmp_path, capsys):
    out = tmp_path / "m.yaml"
    assert main(["run", "groq-lpu-576", "llama3.1-8b", "--no-whatif", "--save-mapping", str(out)]) == 0
    first = capsys.readouterr().out
    assert main(["run", "groq-lpu-576", "llama3.1-8b", "--no-whatif", "--mapping", str(out)]) == 0
    second = capsys.readouterr().out
    tpot = [line for line in first.splitlines() if line.startswith("TPOT")]
    assert tpot and tpot == [line for line in second.splitlines() if line.startswith("TPOT")]
    spec = load_mapping(out, "tsp")
    assert spec.data["tp"] == 8 and sum(spec.data["stages"]) == 32
