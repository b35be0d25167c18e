"""Smoke tests of each CLI command and its exit codes (0 ok, 2 bad input)."""
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.hw.load import bundled_paths
from archsim.workload.model import workload_paths


def test_check_passes_on_every_bundled_file(capsys):
    files = sorted(str(p) for p in list(bundled_paths().values()) + list(workload_paths().values()))
    assert len(files) >= 23
    assert main(["check", *files]) == 0


def test_check_fails_with_exit_2_and_prints_all(capsys):
    broken = Path(__file__).parent / "fixtures" / "broken"
    assert main(["check", str(broken / "bad_unit.yaml"), str(broken / "wrong_type.yaml")]) == 2
    err = capsys.readouterr().err
    assert "bad_unit.yaml" in err and "wrong_type.yaml" in err


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("wse3", "groq-lpu-576", "dgx-h100", "llama3.1-70b", "mixtral-8x7b", "aggregate"):
        assert name in out


def test_run_prints_table(capsys):
    assert main(["run", "h100-sxm", "llama3.1-8b", "--phase", "decode", "--fidelity", "roofline"]) == 0
    out = capsys.readouterr().out
    assert "TPOT" in out and "L*.qkv" in out and "bottleneck: memory" in out


@pytest.mark.parametrize("argv,message", [
    (["run", "h100-sxn", "tiny"], "did you mean 'h100-sxm'"),
    (["run", "h100-sxm", "tiny", "--set", "hbm.bandwith=6 TB/s"], "did you mean 'bandwidth'"),
    (["run", "h100-sxm", "tiny", "--set", "hbm.bandwidth=6 TB"], "not a bandwidth"),
    (["run", "h100-sxm", "tiny", "-o", "nonsense=1", "--mapper", "aggregate"], "has no option 'nonsense'"),
    (["run", "h100-sxm", "tiny", "--batch", "0"], "batch must be a positive integer"),
    (["run", "h100-sxm", "gemm:12x3"], "gemm:MxNxK"),
])
def test_bad_input_exits_2_with_one_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_set_override_changes_result(capsys):
    from archsim.pipeline import run
    from archsim.spec import parse_override

    base = run("h100-sxm", "tiny", fidelity="roofline")
    fast = run("h100-sxm", "tiny", fidelity="roofline", overrides=[parse_override("hbm.bandwidth=6.7 TB/s")])
    assert fast.latency_s < base.latency_s
    assert fast.provenance["config_hash"] != base.provenance["config_hash"]
