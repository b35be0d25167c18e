"""Serving sweeps (archsim/sweep/serving.py): each point is `archsim serve` with the point's description, stored
as a row like a step point's; bad input is one located error (the fixtures are in test_sweep_spec.py's CASES)."""
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from archsim.cli import main
from archsim.sweep import worker
from archsim.sweep.db import SERVING_COLUMNS, ResultsDB
from archsim.sweep.spec import load_sweep
from cli_checks import bad

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "serving_sweep.yaml"
FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
WALL_CLOCK = ("loop_wall_s", "fill_wall_s")  # diagnostics: the only fields two runs of one point may differ in


def _comparable(doc: dict) -> dict:
    """A serving JSON without its sampled time series and wall-clock fields."""
    doc = {k: v for k, v in doc.items() if k != "timeseries"}
    doc["table"] = {k: v for k, v in doc["table"].items() if k not in WALL_CLOCK}
    return doc


def _serving_file(tmp_path, sweep_file, name="serving.yaml") -> str:
    """The sweep's serving block as a --serving file."""
    block = yaml.safe_load(Path(sweep_file).read_text())["serving"]
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, "kind": "serving", **block}))
    return str(path)


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("serving_sweep") / "r.sqlite"
    worker._STEPS.clear()
    assert main(["sweep", str(EXAMPLE), "--db", str(db), "-j", "1", "-q"]) == 0
    with ResultsDB(db) as conn:
        rows = conn.rows()
    return db, rows, len(worker._STEPS)


def test_each_point_equals_archsim_serve_bit_for_bit(example_db, tmp_path, capsys):
    db, rows, _ = example_db
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    serving = _serving_file(tmp_path, EXAMPLE)
    for r in rows:
        p = r["params"]
        out = tmp_path / "serve.json"
        assert main(["serve", "h100-sxm", "llama3.1-8b", "--serving", serving, "--json", str(out), "-q",
                     "--rate", str(p["serving.arrivals.rate"]), "--scheduler", p["serving.scheduler.policy"],
                     "--max-seqs", str(p["serving.scheduler.max_seqs"])]) == 0
        direct = _comparable(json.loads(out.read_text()))
        stored = _comparable({k: r["metrics"][k] for k in direct})
        assert stored == direct, p
    capsys.readouterr()


def test_rows_make_sense_and_carry_serving_columns(example_db):
    db, rows, steps = example_db
    by = {(r["params"]["serving.arrivals.rate"], r["params"]["serving.scheduler.policy"],
           r["params"]["serving.scheduler.max_seqs"]): r["metrics"] for r in rows}
    for policy in ("continuous", "chunked"):
        for seqs in (8, 64):
            low, high = by[(4, policy, seqs)], by[(40, policy, seqs)]
            assert high["ttft_p99_s"] >= low["ttft_p99_s"] and high["tokens_per_s"] > low["tokens_per_s"]
            assert low["stable"] and low["goodput_fraction"] == 1.0
        # 40 requests/s with 8 sequences per iteration outruns one H100; 64 keep up
        assert not by[(40, policy, 8)]["stable"] and by[(40, policy, 64)]["stable"]
        assert by[(40, policy, 8)]["ttft_p99_s"] > 10 * by[(40, policy, 64)]["ttft_p99_s"]
    m = rows[0]["metrics"]
    assert m["ttft_p99_s"] == m["summary"]["latency"]["ttft_s"]["p99"]
    assert m["cost_per_million_tokens"] == m["cost"]["cost_per_million_tokens_usd"]
    with sqlite3.connect(db) as conn:
        columns = conn.execute(f"SELECT key, {', '.join(SERVING_COLUMNS)}, tokens_per_s FROM points").fetchall()
    for key, *values in columns:
        row = next(r for r in rows if r["key"] == key)["metrics"]
        expected = [row.get(c) for c in SERVING_COLUMNS + ("tokens_per_s",)]
        assert values == [int(v) if isinstance(v, bool) else v for v in expected]
    # every point ran in this process: later points priced iteration shapes from the shared memo
    assert sum(r["metrics"]["table"]["pipeline_runs"] for r in rows) > steps > 0


def test_results_table_plots_and_resume(example_db, tmp_path, capsys):
    db, rows, _ = example_db
    assert main(["results", str(db)]) == 0
    table = capsys.readouterr().out
    assert "ttft_p99_s" in table and "tpot_p99_s" in table and "serving.scheduler.policy" in table
    assert main(["results", str(db), "--format", "csv", "--where", "serving.arrivals.rate=40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and "cost_per_million_tokens" in lines[0] and "stable" in lines[0]
    out = tmp_path / "pareto.png"
    assert main(["results", str(db), "--plot", "pareto", "--x", "tpot_p99_s", "--y", "cost_per_million_tokens",
                 "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    page = tmp_path / "page.html"
    assert main(["results", str(db), "--html", str(page)]) == 0  # Pareto default: P99 TPOT vs tokens/s
    assert "tpot_p99_s" in page.read_text()
    capsys.readouterr()
    assert main(["sweep", str(EXAMPLE), "--db", str(db), "-j", "1", "-q"]) == 0
    again = capsys.readouterr().out
    assert "8 already done" in again and "ran" not in again


def test_find_max_rate_point_equals_archsim_serve(tmp_path, capsys):
    sweep = tmp_path / "fmr.yaml"
    sweep.write_text("""version: 1
chip: h100-sxm
workload: llama3.1-8b
find_max_rate: true
rate_tolerance: 0.1
serving:
  arrivals: {requests: 30, seed: 1}
  prompt: {tokens: 300}
  output: {tokens: 30}
  slo: {ttft: 100 ms, tpot: 15 ms}
axes:
  serving.max_seqs: [8]
""")
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(sweep), "--db", str(db), "-j", "1", "-q"]) == 0
    with ResultsDB(db) as conn:
        (row,) = conn.rows()
    out = tmp_path / "serve.json"
    assert main(["serve", "h100-sxm", "llama3.1-8b", "--serving", _serving_file(tmp_path, sweep), "--max-seqs", "8",
                 "--find-max-rate", "--rate-tolerance", "0.1", "--json", str(out), "-q"]) == 0
    direct = _comparable(json.loads(out.read_text()))
    assert row["metrics"]["rate_search"] == direct["rate_search"]
    assert row["metrics"]["max_rate_requests_per_s"] == direct["rate_search"]["max_rate_requests_per_s"] > 1
    assert _comparable({k: row["metrics"][k] for k in direct}) == direct
    capsys.readouterr()


def test_key_is_the_effective_description(tmp_path):
    def key(axes: str, slo: str = "200 ms", seed: int = 0) -> str:
        path = tmp_path / "k.yaml"
        path.write_text(f"""version: 1
chip: h100-sxm
workload: llama3.1-8b
serving: {{arrivals: {{rate: 2, requests: 20, seed: {seed}}}, prompt: {{tokens: 100}}, output: {{tokens: 20}},
          slo: {{ttft: {slo}}}}}
axes:
  {axes}
""")
        return [p.key for p in load_sweep(path).points()]

    plain = key("serving.max_seqs: [8, 16]")
    assert plain == key("serving.scheduler.max_seqs: [8, 16]") == key("serving.max_seqs: [8, 16]", slo="0.2 s")
    assert len(set(plain)) == 2
    assert key("serving.max_seqs: [8, 16]", seed=1) != plain
    assert key("serving.max_seqs: [8, 16]", slo="300 ms") != plain


def test_bad_serving_sweep_exits_2_located_and_runs_nothing(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    for fixture, words in [
        ("serving_unknown_key.yaml", (":6: axes.serving.scheduler.max_seq: unknown serving key",)),
        ("serving_value_type.yaml", (":8: axes.serving.max_seqs.1: expected an integer, got 'many'",)),
        ("serving_axis_without_block.yaml", (":5: axes.serving.arrivals.rate: a serving axis needs a `serving:`",)),
    ]:
        bad(["sweep", FIXTURES / fixture, "--db", db], capsys, f"{fixture}{words[0].split(' ')[0]}", *words)
    assert not db.exists()


def test_schema_1_database_is_upgraded_in_place(tmp_path):
    from archsim.sweep.db import STEP_COLUMNS

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:  # the schema-1 layout, as archsim wrote it before serving columns
        conn.executescript(f"""
            CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE sweeps (name TEXT PRIMARY KEY, file TEXT NOT NULL, axes TEXT NOT NULL, points INTEGER);
            CREATE TABLE sweep_points (sweep TEXT NOT NULL, key TEXT NOT NULL, point_index INTEGER NOT NULL,
                                       params TEXT NOT NULL, PRIMARY KEY (sweep, key));
            CREATE TABLE points (key TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL, error_kind TEXT,
                                 error TEXT, {", ".join(f"{c} REAL" for c in STEP_COLUMNS)}, metrics TEXT,
                                 run_s REAL, worker TEXT);
            INSERT INTO meta VALUES ('schema_version', '1');
            INSERT INTO points (key, config, status, latency_s, metrics) VALUES ('old', '{{}}', 'ok', 0.5,
                                                                                '{{"latency_s": 0.5}}');""")
    with ResultsDB(db, create=False) as conn:  # reading leaves it as it is
        assert conn.get(["old"])["old"]["metrics"] == {"latency_s": 0.5}
    with ResultsDB(db) as conn:  # a sweep writing to it upgrades it
        conn.record({}, {"key": "new", "status": "ok", "metrics": {"ttft_p99_s": 0.25, "stable": True}})
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == ("2",)
        assert conn.execute("SELECT latency_s FROM points WHERE key = 'old'").fetchone() == (0.5,)
        assert conn.execute("SELECT ttft_p99_s, stable FROM points WHERE key = 'new'").fetchone() == (0.25, 1)


def test_the_concurrency_example_sweeps_a_closed_loop_and_each_point_is_archsim_serve(tmp_path, capsys):
    example = ROOT / "examples" / "serving_concurrency.yaml"
    db = tmp_path / "c.sqlite"
    assert main(["sweep", str(example), "--db", str(db), "-j", "1", "-q"]) == 0
    with ResultsDB(db) as conn:
        rows = sorted(conn.rows(), key=lambda r: r["params"]["serving.arrivals.concurrency"])
    assert [r["params"]["serving.arrivals.concurrency"] for r in rows] == [1, 4, 16, 64]
    tokens = [r["metrics"]["summary"]["throughput"]["output_tokens_per_s"] for r in rows]
    batch = [r["metrics"]["summary"]["load"]["batch_size_max"] for r in rows]
    assert batch == [1, 4, 16, 64]  # never more sequences than clients
    assert tokens == sorted(tokens)  # more clients, more throughput (no saturation at 64 on an H100)
    serving = _serving_file(tmp_path, example)
    out = tmp_path / "serve.json"
    assert main(["serve", "h100-sxm", "llama3.1-8b", "--serving", serving, "--concurrency", "16", "--json",
                 str(out), "-q"]) == 0
    direct = _comparable(json.loads(out.read_text()))
    assert _comparable({k: rows[2]["metrics"][k] for k in direct}) == direct
    capsys.readouterr()
