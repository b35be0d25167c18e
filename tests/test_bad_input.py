"""Bad input at the command line: exit 2 with one clear message, never a traceback.

Each case is a wrong invocation found by trying the commands by hand; the
test runs it in-process and checks the exit status and the words that tell
the user what was wrong.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from archsim.cli import main
from archsim.hw.load import config_path
from archsim.units import UnitError, parse_quantity
from archsim.workload.model import workload_path
from cli_checks import bad as _bad

EXAMPLE_SWEEP = Path(__file__).resolve().parents[1] / "examples" / "h100_bandwidth_sweep.yaml"


@pytest.fixture
def binary_file(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_bytes(b"version: 1\n\xd0\xff\xfe binary\n")
    return path


@pytest.mark.parametrize("command", ["run", "check", "sweep"])
def test_binary_file_is_not_a_traceback(binary_file, tmp_path, capsys, command):
    argv = {"run": ["run", binary_file, "tiny"], "check": ["check", binary_file],
            "sweep": ["sweep", binary_file, "--db", tmp_path / "db.sqlite"]}[command]
    _bad(argv, capsys, str(binary_file), "not a UTF-8 text file")


def test_binary_workload_file(binary_file, capsys):
    _bad(["run", "h100-sxm", binary_file], capsys, "not a UTF-8 text file")


def test_quantity_too_large_for_int64():
    with pytest.raises(UnitError, match="too large"):
        parse_quantity("1e30 GHz", "frequency")
    assert parse_quantity("1e9 GHz", "frequency") == 10**18  # large but representable stays accepted


def test_huge_clock_override_is_a_located_error(capsys):
    _bad(["run", "h100-sxm", "tiny", "--set", "clock=1e30 GHz"], capsys, "clock:", "too large")


def test_bad_override_value_says_it_came_from_the_override(capsys):
    err = _bad(["run", "h100-sxm", "tiny", "--set", "hbm.bandwidth=abc"], capsys, "hbm.bandwidth")
    assert "an override, not the value in the file" in err


def test_bare_number_override_says_what_was_expected_once(capsys):
    err = _bad(["run", "h100-sxm", "tiny", "--set", "hbm.bandwidth=0"], capsys, "hbm.bandwidth",
               "a bare number is ambiguous")
    assert err.count("expected") == 1 and "got 0" in err


def test_bad_value_in_the_file_itself_is_not_called_an_override(tmp_path, capsys):
    text = config_path("h100-sxm").read_text().replace("bandwidth: 3.35 TB/s", "bandwidth: 3.35 furlongs")
    assert "furlongs" in text
    path = tmp_path / "chip.yaml"
    path.write_text(text)
    err = _bad(["run", path, "tiny"], capsys, "hbm.bandwidth")
    assert "override" not in err


def test_chip_file_as_workload_is_one_problem(capsys):
    err = _bad(["run", "h100-sxm", config_path("h100-sxm")], capsys, "1 problem", "CHIP argument")
    assert "missing required key" not in err


def test_workload_kind_typo_still_gets_did_you_mean(tmp_path, capsys):
    path = tmp_path / "w.yaml"
    path.write_text(workload_path("tiny").read_text().replace("kind: transformer", "kind: transfomer"))
    _bad(["run", "h100-sxm", path], capsys, "did you mean 'transformer'")


def test_workload_file_as_chip_names_the_mixup(capsys):
    _bad(["run", workload_path("tiny"), "tiny"], capsys, "workload file", "WORKLOAD argument")


def test_sweep_file_as_chip_or_workload_or_check(capsys):
    _bad(["run", EXAMPLE_SWEEP, "tiny"], capsys, "sweep file", "archsim sweep")
    _bad(["run", "h100-sxm", EXAMPLE_SWEEP], capsys, "1 problem", "sweep file")
    _bad(["check", EXAMPLE_SWEEP], capsys, "sweep file")


def test_chip_file_as_sweep_is_one_problem(tmp_path, capsys):
    err = _bad(["sweep", config_path("h100-sxm"), "--db", tmp_path / "db.sqlite"], capsys,
               "1 problem", "a sweep file has no 'kind'")
    assert "unknown key" not in err
    assert not (tmp_path / "db.sqlite").exists()


def test_decode_context_beyond_max_context_names_the_given_value(capsys):
    _bad(["run", "h100-sxm", "tiny", "--context-len", "2048"], capsys,
         "context_len 2048 plus the decoded token", "at most 2047")


def test_decode_context_at_the_limit_runs(capsys):
    assert main(["run", "h100-sxm", "tiny", "--context-len", "2047", "--fidelity", "roofline"]) == 0


def test_validate_unknown_case(capsys):
    _bad(["validate", "--case", "no-such-case"], capsys, "unknown validation case 'no-such-case'",
         "gpu-h100-gemm-peak")


def test_results_where_without_equals_names_where(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\nfidelity: roofline\n"
                    "axes:\n  scenario.batch: [1, 2]\n")
    db = tmp_path / "db.sqlite"
    assert main(["sweep", str(spec), "--db", str(db), "-j", "1", "-q"]) == 0
    capsys.readouterr()
    err = _bad(["results", db, "--where", "scenario.batch"], capsys, "--where expects AXIS=VALUE")
    assert "--set" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "1,nan"])
def test_frontier_scales_must_be_finite(tmp_path, capsys, value):
    _bad(["frontier", "h100-sxm", "tiny", "--out", tmp_path, "--scales", value], capsys, "--scales",
         "finite")


@pytest.mark.parametrize("extra,words", [
    (["--context-len", "0"], ("context_len must be a positive integer",)),
    (["--dtype", "foo"], ("weight_dtype must be one of",)),
    (["-o", "foo=1"], ("has no option 'foo'",)),
    (["-o", "tp=abc"], ("option 'tp' must be an integer or auto",)),
])
def test_frontier_bad_input_is_not_called_infeasible(tmp_path, capsys, extra, words):
    err = _bad(["frontier", "h100-sxm", "tiny", "--out", tmp_path, "--batches", "1", *extra], capsys, *words)
    assert "no point fits" not in err


def test_frontier_unknown_workload_is_not_called_infeasible(tmp_path, capsys):
    err = _bad(["frontier", "h100-sxm", "no-such-model", "--out", tmp_path], capsys, "unknown workload")
    assert "no point fits" not in err


def test_auto_tp_on_a_huge_system_is_quick():
    """tp=auto searched down from the GPU count one by one: a 10^9-GPU system took minutes."""
    from archsim.families.gpu.mapper.tiled import resolve_tp

    assert resolve_tp("auto", 1, 10**12, 4) == 4
    assert resolve_tp("auto", 1, 8, 6) == 6
    assert resolve_tp("auto", 2, 8, 6) == 3  # 4 GPUs left for tp; 4 does not divide 6, 3 does
    assert resolve_tp("auto", 1, 8, None) == 8


@pytest.mark.parametrize("option,words", [
    ("tp=abc", ("option 'tp' must be an integer or auto", "axes.options.tp.1")),
    ("tile=1x2", ("option 'tile' must be 'auto' or BMxBNxBK", "axes.options.tile.1")),
])
def test_sweep_checks_option_values_before_running(tmp_path, capsys, option, words):
    name, value = option.split("=")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\nchip: h100-sxm\nworkload: tiny\naxes:\n  options.{name}: [auto, '{value}']\n")
    _bad(["sweep", spec, "--db", tmp_path / "db.sqlite"], capsys, *words)
    assert not (tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize("chip,option,words", [
    ("wse2", "region=1x", "option 'region' must be 'auto' or WxH"),
    ("groq-lpu", "pp=two", "option 'pp' must be a positive integer or 'auto'"),
])
def test_option_form_is_checked_when_options_are_parsed(chip, option, words):
    from archsim.errors import ArchsimInputError
    from archsim.hw.load import load_system
    from archsim.mapping.base import resolve_mapper

    name, value = option.split("=")
    mapper = resolve_mapper("auto", load_system(chip).kind)
    with pytest.raises(ArchsimInputError, match=words):
        mapper.parse_options({name: value})
    assert mapper.parse_options({name: "auto"})[name] == "auto"


@pytest.mark.parametrize("argv,words", [
    (["--rates", ""], ("--rates must be comma-separated numbers",)),
    (["--rates", ","], ("--rates must be comma-separated numbers",)),
    (["--seed", "-1"], ("--seed must be a non-negative integer",)),
])
def test_noc_bad_flags(capsys, argv, words):
    _bad(["noc", *argv], capsys, *words)


SMALL_NOC = ["--mesh", "2x2", "--sample-period", "100", "--max-samples", "2"]


def test_noc_unwritable_json(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")  # a missing folder is created (issue 21); a file in the way is not
    _bad(["noc", *SMALL_NOC, "--json", tmp_path / "a-file" / "x.json"], capsys, "cannot write --json")


def test_noc_unwritable_plot(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    _bad(["noc", *SMALL_NOC, "--rates", "0.1", "--plot", tmp_path / "a-file" / "p.png"], capsys,
         "cannot write --plot")


@pytest.mark.parametrize("extra,words", [
    (["--rate", "0"], ["injection rate", "(0, packet_flits"]),  # used to hang: nothing to measure, endless drain
    (["--latency-thres", "-1"], ["latency_thres must be a positive"]),
])
def test_noc_bad_measurement_values(capsys, extra, words):
    _bad(["noc", "--mesh", "4x4", *extra], capsys, *words)


def test_noc_binary_booksim_config(binary_file, capsys):
    _bad(["noc", "--booksim-config", binary_file], capsys, "not a text file")
