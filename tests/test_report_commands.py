"""Smoke tests of `archsim run` report flags, `archsim compare` and `archsim explain`."""
from __future__ import annotations

import json

from archsim.cli import main
from archsim.errors import InfeasibleError
from archsim.report.compare import compare, render_compare


def test_run_prints_report_and_writes_json_and_trace(tmp_path, capsys):
    out, trace = tmp_path / "r.json", tmp_path / "t.json"
    assert main(["run", "h100-sxm", "tiny", "--mapper", "aggregate", "--per-layer", "--json", str(out),
                 "--trace", str(trace)]) == 0
    text = capsys.readouterr().out
    for needle in ("utilization (busy / run time)", "critical path", "bottleneck: memory", "what-if",
                   "memory bandwidth", "trace:", "layer", "post"):
        assert needle in text
    assert len(text.splitlines()) < 50  # a whole model fits one screen
    data = json.loads(out.read_text())
    assert set(data["whatif"]) == {"compute", "memory"} and data["whatif"]["memory"] > 1.5
    assert data["critical_path"]["bottleneck_kind"] == "memory"
    assert json.loads(trace.read_text())["traceEvents"]


def test_run_no_whatif(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "h100-sxm", "tiny", "--mapper", "aggregate", "--no-whatif", "--json", str(out)]) == 0
    assert "what-if" not in capsys.readouterr().out
    assert json.loads(out.read_text())["whatif"] == {}


def test_run_per_op_expands_layers(capsys):
    assert main(["run", "h100-sxm", "tiny", "--mapper", "aggregate", "--per-op", "--no-whatif"]) == 0
    out = capsys.readouterr().out
    assert "L0.qkv" in out and "L1.qkv" in out and "L*.qkv" not in out


def test_compare_side_by_side(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["compare", "h100-sxm", "groq-lpu", "wse2", "tiny", "--phase", "decode", "--mapper", "aggregate",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("h100-sxm", "groq-lpu", "wse2", "TPOT", "tokens/s", "bottleneck", "2x mem"):
        assert needle in text
    rows = json.loads(out.read_text())["rows"]
    assert [r["chip"] for r in rows] == ["h100-sxm", "groq-lpu", "wse2"]
    assert all(r["tpot_s"] > 0 and "memory" in r["whatif"] for r in rows)


def test_compare_needs_a_chip_and_a_workload(capsys):
    assert main(["compare", "tiny"]) == 2
    assert "at least one chip and a workload" in capsys.readouterr().err


def test_compare_rejects_a_chip_given_twice(capsys):
    assert main(["compare", "h100-sxm", "wse2", "h100-sxm", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "h100-sxm more than once" in err and "Traceback" not in err


def test_compare_reports_infeasible_chips_as_rows():
    from archsim.pipeline import run

    def run_one(chip):
        if chip == "too-small":
            raise InfeasibleError("weights need 140 GB, the chip has 80 GB")
        return run(chip, "tiny", mapper="aggregate")

    rows = compare(["h100-sxm", "too-small"], run_one)
    text = render_compare(rows, "tiny", "batch 1")
    assert "too-small" in text and "infeasible: weights need 140 GB" in text
    assert rows[1].to_dict() == {"chip": "too-small", "infeasible": "weights need 140 GB, the chip has 80 GB"}


def test_explain_decode_names_memory_bandwidth(capsys):
    assert main(["explain", "h100-sxm", "llama3.1-8b", "--phase", "decode", "--mapper", "aggregate"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the narrative is wrapped
    for needle in ("ridge point", "295 FLOP per byte", "gemm", "memory-bound", "critical path",
                   "What would help is memory bandwidth", "batch"):
        assert needle in text


def test_explain_prefill_names_compute(capsys):
    assert main(["explain", "h100-sxm", "llama3.1-8b", "--phase", "prefill", "--prompt-len", "1024",
                 "--mapper", "aggregate"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "compute-bound" in text and "What would help is compute" in text


def test_compare_scopes_options_to_one_chip(capsys):
    import argparse

    from archsim.commands.compare import chip_args

    args = argparse.Namespace(option=["tile=64", "dgx-h100:tp=8", "wse2:region=4x4"])
    assert chip_args(args, "dgx-h100", ["dgx-h100", "wse2"]).option == ["tile=64", "tp=8"]
    assert chip_args(args, "wse2", ["dgx-h100", "wse2"]).option == ["tile=64", "region=4x4"]
    assert main(["compare", "h100-sxm", "tiny", "--mapper", "aggregate", "-o", "h100-sxm:tp=8"]) == 2
    assert "has no option 'tp'" in capsys.readouterr().err


def test_explain_handles_operators_without_arithmetic(capsys):
    """The embedding gather does no FLOPs; explain must not divide by its zero intensity."""
    from archsim.cli import main

    assert main(["explain", "dgx-h100", "tiny"]) == 0
    assert "embedding" in capsys.readouterr().out
