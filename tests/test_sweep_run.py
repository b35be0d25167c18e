"""Running sweeps: rows as points finish, failures recorded (never fatal), resume, and `archsim results`."""
import json
import sqlite3

import pytest

from archsim.cli import main
from archsim.errors import InfeasibleError
from archsim.mapping.base import MAPPERS, Option, register_mapper
from archsim.mapping.aggregate import map_aggregate
from archsim.sweep.db import ResultsDB
from archsim.sweep.plot import pareto_front
from archsim.sweep.runner import run_sweep
from archsim.sweep.spec import load_sweep

SWEEP = """version: 1
chip: h100-sxm
workload: tiny
fidelity: roofline
scenario: {phase: decode}
axes:
  chip.hbm.bandwidth: ["2 TB/s", "3.35 TB/s"]
  scenario.batch: [1, 8]
  scenario.context_len: [512, 4096]   # tiny's max_context is 2048: these points fail
"""


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    return path


@pytest.fixture
def picky_mapper():
    """A mapper that is infeasible for batch 8 and crashes (a bug) for batch 3."""
    def fn(system, graph, scenario, options):
        if scenario.batch == 8:
            raise InfeasibleError("batch 8 needs 9 GB, 8 GB free", {"needed_bytes": 9e9})
        if scenario.batch == 3:
            raise RuntimeError("boom")
        return map_aggregate(system, graph, scenario, options)

    register_mapper("sweep-test-picky", family="any", description="test mapper",
                    options=(Option("knob", int, 1, "does nothing"),))(fn)
    yield "sweep-test-picky"
    MAPPERS._items.pop("sweep-test-picky")


def _keys(db_path):
    with sqlite3.connect(db_path) as conn:
        return [k for (k,) in conn.execute("SELECT key FROM points")]


def test_inline_and_local_processes_give_the_same_rows(sweep_file, tmp_path):
    spec = load_sweep(sweep_file)
    one = run_sweep(spec, tmp_path / "one.sqlite", jobs=1, progress=False)
    two = run_sweep(spec, tmp_path / "two.sqlite", jobs=2, progress=False)
    assert (one.ran, one.ok, one.failed) == (two.ran, two.ok, two.failed) == (8, 4, {"input": 4})
    with ResultsDB(tmp_path / "one.sqlite") as a, ResultsDB(tmp_path / "two.sqlite") as b:
        rows_a, rows_b = a.rows(), b.rows()
    assert [(r["key"], r["status"], r["metrics"], r["error"]) for r in rows_a] == \
           [(r["key"], r["status"], r["metrics"], r["error"]) for r in rows_b]
    bad = [r for r in rows_a if r["status"] == "error"]
    assert all(r["params"]["scenario.context_len"] == 4096 for r in bad)
    assert "exceeds tiny's max_context of 2048" in bad[0]["error"]
    good = [r for r in rows_a if r["status"] == "ok"]
    assert good[0]["metrics"]["fidelity"] == "roofline" and good[0]["metrics"]["latency_s"] > 0
    assert "ops" not in good[0]["metrics"]


def test_rows_carry_the_result_metrics_in_columns_and_json(sweep_file, tmp_path):
    db = tmp_path / "r.sqlite"
    run_sweep(load_sweep(sweep_file), db, jobs=1, progress=False)
    with sqlite3.connect(db) as conn:
        latency, tokens, metrics = conn.execute(
            "SELECT latency_s, tokens_per_s, metrics FROM points WHERE status = 'ok' LIMIT 1").fetchone()
    assert json.loads(metrics)["latency_s"] == latency and json.loads(metrics)["tokens_per_s"] == tokens


def test_interrupted_sweep_resumes_with_only_the_missing_points(sweep_file, tmp_path):
    db = tmp_path / "r.sqlite"
    spec = load_sweep(sweep_file)
    seen = []

    def stop_after_three(row):
        seen.append(row["key"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    first = run_sweep(spec, db, jobs=1, progress=False, on_row=stop_after_three)
    assert first.interrupted and first.ran == 3 and len(_keys(db)) == 3
    second = run_sweep(spec, db, jobs=2, progress=False)
    assert second.skipped == 3 and second.ran == 5 and second.complete
    keys = _keys(db)
    assert sorted(keys) == sorted(p.key for p in spec.points()) and len(keys) == len(set(keys))
    third = run_sweep(spec, db, jobs=2, progress=False)
    assert third.ran == 0 and third.skipped == 8


def test_failures_never_stop_a_sweep_and_bugs_rerun_on_resume(tmp_path, picky_mapper):
    path = tmp_path / "s.yaml"
    path.write_text(f"version: 1\nchip: h100-sxm\nworkload: tiny\nfidelity: task\nmapper: {picky_mapper}\n"
                    "axes:\n  scenario.batch: [1, 3, 8, 16]\n  options.knob: [1, 2]\n")
    spec = load_sweep(path)
    db = tmp_path / "r.sqlite"
    summary = run_sweep(spec, db, jobs=2, progress=False)
    assert summary.ran == 8 and summary.ok == 4 and summary.failed == {"infeasible": 2, "internal": 2}
    with ResultsDB(db) as r:
        rows = {(row["params"]["scenario.batch"], row["params"]["options.knob"]): row for row in r.rows()}
    assert rows[(8, 1)]["error"] == "batch 8 needs 9 GB, 8 GB free"
    assert rows[(8, 1)]["metrics"] == {"details": {"needed_bytes": 9e9}}
    assert rows[(3, 2)]["error"].startswith("RuntimeError: boom (at ")
    assert rows[(16, 2)]["metrics"]["provenance"]["options"]["knob"] == 2
    again = run_sweep(spec, db, jobs=1, progress=False)  # internal errors are bugs, not results: rerun
    assert again.ran == 2 and again.failed == {"internal": 2}
    retry = run_sweep(spec, db, jobs=1, progress=False, retry_errors=True)
    assert retry.ran == 4


def test_cli_sweep_then_results_in_every_format(sweep_file, tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    assert main(["sweep", str(sweep_file), "--db", db, "-j", "2"]) == 0
    captured = capsys.readouterr()
    assert "8 points" in captured.out and "4 failed (input 4)" in captured.out
    assert "8/8" not in captured.err  # stderr is not a terminal here: no progress bar (tests/test_progress.py)
    assert main(["results", db]) == 0
    table = capsys.readouterr().out
    assert "chip.hbm.bandwidth" in table and "3.35 TB/s" in table and "latency_s" in table
    assert main(["results", db, "--format", "csv", "--metrics", "latency_s,tpot_s"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "key,chip.hbm.bandwidth,scenario.batch,scenario.context_len,status,latency_s,tpot_s,error"
    assert len(lines) == 9
    assert main(["results", db, "--format", "json", "--where", "scenario.batch=8", "--errors"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and all(r["status"] == "error" and r["params"]["scenario.batch"] == 8 for r in rows)
    assert main(["sweep", str(sweep_file), "--db", db, "--dry-run"]) == 0
    assert capsys.readouterr().out.count("  done  ") == 8


@pytest.mark.parametrize("argv", [
    ["--plot", "line", "--x", "chip.hbm.bandwidth", "--y", "tokens_per_s", "--by", "scenario.batch"],
    ["--plot", "heatmap", "--x", "chip.hbm.bandwidth", "--y", "scenario.batch", "--metric", "latency_s"],
    ["--plot", "pareto", "--x", "latency_s", "--y", "tokens_per_s"],
])
def test_results_plots(sweep_file, tmp_path, argv):
    db = str(tmp_path / "r.sqlite")
    run_sweep(load_sweep(sweep_file), db, jobs=1, progress=False)
    out = tmp_path / "plot.png"
    assert main(["results", db, "--where", "scenario.context_len=512", *argv, "-o", str(out)]) == 0
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("argv,message", [
    (["--metrics", "latency"], "no axis or metric 'latency' (did you mean 'latency_s'?)"),
    (["--where", "scenario.bach=8"], "no axis 'scenario.bach' (did you mean 'scenario.batch'?)"),
    (["--plot", "line", "--x", "scenario.batch", "--y", "tokens_per_s", "-o", "x.png"],
     "several points share one position (chip.hbm.bandwidth also varies)"),
    (["--plot", "heatmap", "--x", "scenario.batch", "--y", "latency_s", "--metric", "latency_s", "-o", "x.png"],
     "--y 'latency_s' must be an axis of the sweep, not a metric"),
    (["--plot", "pareto", "--x", "latency_s", "--y", "tokens_per_s"], "--plot needs -o FILE"),
    (["--sweep", "swep"], "no sweep 'swep'"),
])
def test_results_bad_requests_exit_2(sweep_file, tmp_path, capsys, argv, message):
    db = str(tmp_path / "r.sqlite")
    run_sweep(load_sweep(sweep_file), db, jobs=1, progress=False)
    assert main(["results", db, *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_sweep_file_runs_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SWEEP.replace("scenario.batch", "scenario.bach"))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(bad), "--db", str(db)]) == 2
    assert "did you mean 'scenario.batch'" in capsys.readouterr().err
    assert not db.exists()
    assert main(["results", str(db)]) == 2


def test_pareto_front():
    points = [(1.0, 1.0), (2.0, 5.0), (3.0, 4.0), (4.0, 9.0), (0.5, 0.2), (4.0, 8.0)]
    assert sorted(pareto_front(points, "min", "max")) == [0, 1, 3, 4]
