"""What archsim says back to hostile or careless use (issue 21): output paths made ready before
anything runs, one line for an internal error, fused operators and costs reported as they are,
and docs that point to the commands instead of lists that drift. Companion of
tests/test_hostile_input.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from archsim.cli import main
from cli_checks import bad as _bad

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


# ---------------------------------------------------------------- the last resort
def test_internal_error_is_one_line_with_where_to_report_it(capsys, monkeypatch):
    import archsim.commands.check as check

    def broken(path):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(check, "check_one", broken)
    assert main(["check", "h100-sxm"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    for words in ("archsim check: internal error: ZeroDivisionError: division by zero", "issue tracker",
                  "archsim --debug check"):
        assert words in err
    assert main(["--debug", "check", "h100-sxm"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---------------------------------------------------------------- output paths
@pytest.mark.parametrize("flag", ["--json", "--trace"])
def test_output_into_a_missing_folder_is_created(tmp_path, capsys, flag):
    """--json and --trace into a missing folder failed only after the whole simulation."""
    target = tmp_path / "new" / "folder" / "out.json"
    assert main(["run", "h100-sxm", "tiny", "--no-whatif", flag, str(target)]) == 0
    assert target.is_file() and target.stat().st_size > 0


@pytest.mark.parametrize("command", ["run", "explain", "compare"])
def test_unwritable_output_fails_before_the_simulation(tmp_path, capsys, monkeypatch, command):
    import archsim.commands.run as run_cmd

    def must_not_run(*args, **kwargs):
        raise AssertionError("the simulation ran before the output path was checked")

    monkeypatch.setattr(run_cmd, "run_one", must_not_run)
    monkeypatch.setattr("archsim.commands.explain.run_one", must_not_run)
    monkeypatch.setattr("archsim.commands.compare.run_one", must_not_run)
    (tmp_path / "a-file").write_text("")
    targets = ["h100-sxm", "tiny"] if command != "compare" else ["h100-sxm", "a100-sxm-80gb", "tiny"]
    _bad([command, *targets, "--json", tmp_path / "a-file" / "r.json"], capsys, "cannot write --json",
         "cannot create the folder")


def test_output_that_is_a_folder_is_refused_up_front(tmp_path, capsys):
    _bad(["run", "h100-sxm", "tiny", "--trace", tmp_path], capsys, "cannot write --trace", "it is a folder")


def test_compare_shows_chips_used_and_both_costs(tmp_path, capsys):
    """`compare` charged all 576 LPUs when 64 were used, without saying so in the table."""
    import json

    out_json = tmp_path / "c.json"
    assert main(["compare", "groq-lpu-576", "h100-sxm", "llama2-7b", "--no-whatif", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("groq-lpu-576 "))
    assert "64 of 576" in row
    cost = json.loads(out_json.read_text())["rows"][0]["cost"]
    assert cost["chips_used"] == 64 and cost["chips_charged"] == 576
    assert cost["used_chips_cost_per_million_tokens_usd"] < cost["cost_per_million_tokens_usd"] / 5
    assert "of the whole system (every chip, used or not: what `archsim run` reports)" in out
    assert "used $/Mtok: the chips the mapping uses alone" in out


def test_fused_operators_are_shown_as_fused_not_zero_time_compute_bound(capsys):
    """The per-op table showed softmax and attn_context as 0 us and compute-bound; explain said memory."""
    from archsim.pipeline import run
    from archsim.workload.model import Scenario

    result = run("h100-sxm", "tiny", Scenario())
    fused = {o.name: o for o in result.ops if o.bound == "fused"}
    assert set(fused) == {f"L{i}.{k}" for i in range(2) for k in ("softmax", "attn_context")}
    assert all(o.fused_into == f"L{o.layer}.attn_score" and o.time_s == 0 for o in fused.values())
    assert not [o for o in result.ops if o.time_s == 0 and o.bound == "compute"]
    assert main(["run", "h100-sxm", "tiny", "--no-whatif"]) == 0
    table = capsys.readouterr().out
    assert "L*.softmax" in table and "fused into L*.attn_score" in table
    assert main(["explain", "h100-sxm", "tiny", "--no-whatif"]) == 0
    assert "fused into attn_score" in " ".join(capsys.readouterr().out.split())


def test_readme_points_to_validate_instead_of_listing_cases_outside_tolerance():
    """The README's list of reported cases outside tolerance had drifted from `archsim validate`."""
    from archsim.validation.base import load_all_cases

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    trust = readme.split("## How far to trust it", 1)[1].split("\n## ", 1)[0]
    assert "summary at the end of `archsim validate`" in trust
    assert "archsim about 3x faster" not in trust and "33-57%" not in trust
    assert not [c.case_id for c in load_all_cases() if c.case_id in readme]


def test_list_names_a_broken_file_and_lists_the_rest(tmp_path, capsys, monkeypatch):
    """One bad file in ARCHSIM_CONFIG_DIR made `archsim list` fail as a whole."""
    (tmp_path / "broken-chip.yaml").write_text((HOSTILE / "kind_list.yaml").read_text())
    monkeypatch.setenv("ARCHSIM_CONFIG_DIR", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "h100-sxm" in out and "files that do not load:" in out and "broken-chip" in out
