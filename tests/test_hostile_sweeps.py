"""Hostile and careless sweep files, results databases and result tables (issue 21): one clear
error (exit 2) naming the file and key, never a traceback, a hang or rows silently replaced; a
sweep that is interrupted stops promptly and loses nothing; one sweep at a time per database.
Companion of tests/test_hostile_input.py (chip and workload files, sizes, numbers).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from archsim.cli import main
from cli_checks import bad as _bad


# ---------------------------------------------------------------- sweep files
def test_constraint_of_3000_nested_nots_is_refused_by_length(tmp_path, capsys):
    """3,000 nested `not` raised RecursionError in Python's parser."""
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes: {scenario.batch: [1]}\n"
                    f"constraints: [\"{'not ' * 3000}True\"]\n")
    _bad(["sweep", spec, "--db", tmp_path / "db.sqlite"], capsys, "s.yaml:5: constraints.0:",
         "a constraint has at most 1,000")
    assert not (tmp_path / "db.sqlite").exists()


def test_chip_axis_values_are_checked_without_loading_the_chip_each_time(tmp_path, monkeypatch):
    """20,000 values of chip.hbm.bandwidth took 18 s (one chip load per value); a wrong one is still found."""
    import archsim.hw.load as hw_load
    from archsim.sweep.spec import load_sweep

    loads = []
    real = hw_load.load_system
    monkeypatch.setattr(hw_load, "load_system", lambda *a, **k: loads.append(a) or real(*a, **k))
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes:\n"
                    "  chip.hbm.bandwidth: {start: '1 TB/s', stop: '100 TB/s', num: 20000}\n")
    assert len(load_sweep(spec).points()) == 20000
    assert len(loads) <= 2  # the base chip, and the axis path with its first value
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes:\n"
                    "  chip.hbm.bandwidth: ['1 TB/s', '2 TB', '3 TB/s']\n")
    with pytest.raises(Exception, match=r"s.yaml:5: axes.chip.hbm.bandwidth.1: unit 'TB' is not a bandwidth"):
        load_sweep(spec)


# ---------------------------------------------------------------- results databases
SMALL_SWEEP = ("version: 1\nname: {name}\nchip: h100-sxm\nworkload: tiny\nfidelity: roofline\n"
               "axes:\n  scenario.batch: {batches}\n")


def _sweep(tmp_path, name="same", batches="[1, 2, 4]", file="s1.yaml") -> Path:
    spec = tmp_path / file
    spec.write_text(SMALL_SWEEP.format(name=name, batches=batches))
    return spec


def _filled_db(tmp_path, capsys) -> Path:
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0
    capsys.readouterr()
    return db


def test_second_sweep_file_with_the_same_name_is_refused(tmp_path, capsys):
    """It replaced the first sweep's point list: the earlier rows stopped showing in `results`."""
    db = _filled_db(tmp_path, capsys)
    other = _sweep(tmp_path, batches="[8, 16]", file="s2.yaml")
    _bad(["sweep", other, "--db", db, "-q"], capsys, "already holds a sweep named 'same'", "s1.yaml",
         "give it another `name:`")
    assert main(["results", str(db)]) == 0
    assert "same: 3 of 3 points in the database" in capsys.readouterr().err
    edited = _sweep(tmp_path, batches="[1, 2, 4, 8]")  # the same file, edited: still its own sweep
    assert main(["sweep", str(edited), "--db", str(db), "-j", "1", "-q"]) == 0


def test_unrelated_sqlite_file_is_not_adopted(tmp_path, capsys):
    import sqlite3

    db = tmp_path / "customers.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    _bad(["sweep", _sweep(tmp_path), "--db", db, "-q"], capsys, "not an archsim results database",
         "its tables: customers")
    _bad(["results", db], capsys, "not an archsim results database")
    with sqlite3.connect(db) as conn:
        assert [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["customers"]


def _damage_points_page(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root, size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='points'").fetchone()[0], \
            conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[(root - 1) * size:root * size] = b"\x5a" * size
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["results", "sweep"])
def test_damaged_data_page_is_a_clear_error(tmp_path, capsys, command):
    db = _filled_db(tmp_path, capsys)
    _damage_points_page(db)
    argv = ["results", db] if command == "results" else ["sweep", tmp_path / "s1.yaml", "--db", db, "-q"]
    _bad(argv, capsys, "r.sqlite is damaged", "database disk image is malformed", ".recover")


def test_non_integer_schema_version_is_a_clear_error(tmp_path, capsys):
    import sqlite3

    db = _filled_db(tmp_path, capsys)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 'one' WHERE name = 'schema_version'")
    _bad(["results", db], capsys, "has results schema 'one', this archsim reads 2 (and upgrades 1)")


def test_row_with_bad_metrics_json_is_shown_as_damaged_and_rerun(tmp_path, capsys):
    import sqlite3

    db = _filled_db(tmp_path, capsys)
    with sqlite3.connect(db) as conn:
        key = conn.execute("SELECT key FROM points LIMIT 1").fetchone()[0]
        conn.execute("UPDATE points SET metrics = '{not json' WHERE key = ?", (key,))
    assert main(["results", str(db), "--errors"]) == 0
    out = capsys.readouterr().out
    assert "damaged: this row's JSON does not parse" in out and key in out
    assert main(["sweep", str(tmp_path / "s1.yaml"), "--db", str(db), "-j", "1", "-q"]) == 0
    assert "2 already done; ran 1" in capsys.readouterr().out


def test_db_in_a_missing_folder_is_created(tmp_path, capsys):
    """Tutorial step 10 on a fresh clone: `--db out/tutorial.sqlite` said 'not an archsim results database'."""
    db = tmp_path / "out" / "deeper" / "t.sqlite"
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0
    assert db.is_file()


def test_folder_as_db_is_a_clear_error(tmp_path, capsys):
    _bad(["sweep", _sweep(tmp_path), "--db", tmp_path], capsys, "is not a file")


SLOW_PLUGIN = '''
import time
from archsim.mapping.base import register_mapper

@register_mapper("slow-for-tests", family="gpu", description="sleeps (tests of interrupted sweeps)")
def slow(system, graph, scenario, options):
    time.sleep(120)
    raise RuntimeError("never reached: the test stops the sweep first")
'''


def _slow_sweep(tmp_path) -> tuple[Path, Path, dict]:
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(SLOW_PLUGIN)
    spec = tmp_path / "slow.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\nmapper: slow-for-tests\n"
                    "axes:\n  scenario.batch: [1, 2, 3, 4]\n")
    return spec, tmp_path / "r.sqlite", dict(os.environ, ARCHSIM_PLUGINS=str(plugin))


def _wait_for_workers(proc, lock: Path) -> None:
    import time

    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the workers have forked and started their first points
    assert proc.poll() is None, proc.communicate()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes and signals")
def test_second_sweep_on_a_database_in_use_is_refused(tmp_path, capsys):
    """Two sweeps on one database both ran (the second redid 33 of 36 points)."""
    import subprocess
    import sys

    spec, db, env = _slow_sweep(tmp_path)
    argv = [sys.executable, "-m", "archsim.cli", "sweep", str(spec), "--db", str(db), "-j", "2", "-q"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_workers(proc, Path(f"{db}.lock"))
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"another archsim sweep (process {proc.pid}) is writing" in second.stderr
    finally:
        proc.kill()
        proc.communicate()
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0  # the lock died with it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes and signals")
def test_ctrl_c_stops_a_sweep_without_waiting_for_running_points(tmp_path):
    """SIGINT during a sweep exited only after 23 s: it waited for the points in flight. Here each point
    takes two minutes, so a prompt exit shows that nothing waited for them."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    spec, db, env = _slow_sweep(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "archsim.cli", "sweep", str(spec), "--db", str(db), "-j", "2",
                             "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_workers(proc, Path(f"{db}.lock"))
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)  # far below one point's 120 s
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, err
    assert "interrupted with 4 points to go" in out and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM sweep_points").fetchone()[0] == 4


def test_results_plot_into_a_folder_names_the_file_it_wrote(tmp_path, capsys):
    """`results ... -o outdir` wrote outdir.png but said 'wrote outdir'."""
    db = _filled_db(tmp_path, capsys)
    out = tmp_path / "outdir"
    assert main(["results", str(db), "--plot", "line", "--x", "scenario.batch", "--y", "tokens_per_s",
                 "-o", str(out)]) == 0
    assert f"wrote {out / 'line.png'}" in capsys.readouterr().err
    assert (out / "line.png").is_file() and not (tmp_path / "outdir.png").exists()


# ---------------------------------------------------------------- results as a table or CSV
@pytest.fixture
def mixed_db(tmp_path, capsys):
    """Two chips (a `chip` axis, and `chip` in every result), and points that fail with long errors."""
    spec = tmp_path / "mixed.yaml"
    spec.write_text("version: 1\nworkload: tiny\nfidelity: roofline\naxes:\n  chip: [h100-sxm, a100-sxm-80gb]\n"
                    "  scenario.context_len: [16, 1024, 4096]\n")
    db = tmp_path / "mixed.sqlite"
    assert main(["sweep", str(spec), "--db", str(db), "-j", "1", "-q"]) == 0
    capsys.readouterr()
    return db


def test_results_csv_is_narrow_by_default_and_names_each_column_once(mixed_db, capsys):
    """The CSV repeated `chip` and its header had more than 200 columns."""
    import csv

    assert main(["results", str(mixed_db), "--format", "csv"]) == 0
    header = next(csv.reader([capsys.readouterr().out.splitlines()[0]]))
    assert len(header) == len(set(header)) and header.count("chip") == 1
    assert len(header) <= 20 and "tokens_per_s" in header and "error" in header
    assert main(["results", str(mixed_db), "--format", "csv", "--all"]) == 0
    wide = next(csv.reader([capsys.readouterr().out.splitlines()[0]]))
    assert len(wide) == len(set(wide)) and len(wide) > 50


def test_results_table_keeps_errors_to_one_short_line(mixed_db, capsys):
    assert main(["results", str(mixed_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if " error " in line]
    assert len(failed) == 2  # context 4096 is over tiny's max_context, on both chips
    assert all(line.endswith("...") for line in failed)
    widths = {len(line.split("  error")[0]) for line in lines[2:] if line.strip()}
    assert max(len(line) for line in lines) <= 200 and len(widths) >= 1


def test_results_table_numbers_keep_one_notation_per_column():
    """A column switched between plain and scientific notation from row to row (9999 vs 1.234e+04)."""
    from archsim.sweep.table import render

    rows = [dict(key=f"k{i}", params={"x": i}, status="ok", error_kind=None, error=None,
                 metrics={"tokens_per_s": v, "share": s}) for i, (v, s) in
            enumerate([(9999.0, 0.5), (12345.0, 0.25), (812.5, 0.125)])]
    lines = render(rows, ["tokens_per_s", "share"], "table").splitlines()[2:]
    tokens, share = [line.split()[-2] for line in lines], [line.split()[-1] for line in lines]
    assert len({"e" in c for c in tokens}) == 1 and len({"e" in c for c in share}) == 1, (tokens, share)
    assert tokens == ["9,999.0", "12,345.0", "812.5"] and share == ["0.5000", "0.2500", "0.1250"]


def test_a_pool_broken_between_results_loses_points_not_the_sweep(monkeypatch):
    """A worker that died after its last result left the pool broken: the next submit raised
    BrokenProcessPool out of the sweep (a traceback; the lost-worker test was flaky under load)."""
    from concurrent.futures.process import BrokenProcessPool

    import archsim.sweep.executors as ex

    class Done:
        def __init__(self, batch):
            self.rows = [{"key": key} for key, _ in batch]

        def result(self):
            return self.rows

    class Pool:
        submitted, _processes = 0, {}

        def submit(self, fn, batch):
            Pool.submitted += 1
            if Pool.submitted > 3:
                raise BrokenProcessPool("a child process terminated abruptly")
            return Done(batch)

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(ex, "ProcessPoolExecutor", lambda **kwargs: Pool())
    monkeypatch.setattr(ex, "wait", lambda pending, return_when=None: ({next(iter(pending))}, set()))
    rows, items = [], [(str(i), {}) for i in range(40)]
    with pytest.raises(ex.LostPoints) as lost:
        for row in ex.run_local(items, 2):
            rows.append(row)
    assert rows and len(rows) + lost.value.count == len(items) and "worker process died" in lost.value.reason


def test_a_table_column_with_thousands_separators_stays_right_aligned():
    """Numbers printed as 1,007.4 are right-aligned like 216.5 (they were left-aligned, which shifted the
    serving sweep's goodput column under the throughput one)."""
    from archsim.sweep.table import render

    rows = [{"key": k, "sweep": "s", "params": {"rate": r}, "status": "ok", "error_kind": None, "error": None,
             "metrics": {"tokens_per_s": t, "stable": "yes"}} for k, r, t in (("a", 4, 216.5), ("b", 40, 1007.4))]
    lines = render(rows, ["tokens_per_s", "stable"], "table").splitlines()
    column_end = lines[0].index("tokens_per_s") + len("tokens_per_s")
    assert lines[2][:column_end].endswith(" 216.5") and lines[3][:column_end].endswith("1,007.4"), lines
