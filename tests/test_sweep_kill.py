"""A sweep killed part-way (SIGKILL, or Ctrl-C) resumes to every point exactly once, with an intact database."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsim.sweep.runner import run_sweep
from archsim.sweep.spec import load_sweep

SWEEP = """version: 1
chip: h100-sxm
workload: llama3.1-8b
fidelity: roofline
axes:
  chip.hbm.bandwidth: {start: "1 TB/s", stop: "5 TB/s", num: 20}
  scenario.batch: {start: 1, stop: 512, factor: 2}
"""  # 200 points: ~1-2 s on 2 cores, long enough to stop it in the middle

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(spec: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archsim.cli", "sweep", str(spec), "--db", str(db), "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop_midway(proc: subprocess.Popen, db: Path, sig: int, at_least: int = 10) -> tuple[int, list[int]]:
    deadline = time.monotonic() + 60
    while _count(db) < at_least and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    workers = _children(proc.pid) if Path("/proc").exists() else []
    proc.send_signal(sig)
    proc.stdout_text, _ = proc.communicate(timeout=60)
    return _count(db), workers


def _resume_and_check(spec_path: Path, db: Path, before: int) -> None:
    total = len(load_sweep(spec_path).points())
    assert 0 < before < total, f"the sweep was not stopped part-way ({before} of {total} points done)"
    rerun = subprocess.run([sys.executable, "-m", "archsim.cli", "sweep", str(spec_path), "--db", str(db), "-j", "2"],
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{before} already done" in rerun.stdout and f"ran {total - before} " in rerun.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = [k for (k,) in conn.execute("SELECT key FROM points")]
    assert sorted(keys) == sorted(p.key for p in load_sweep(spec_path).points())
    assert len(keys) == len(set(keys)) == total


def test_sigkill_then_resume_gives_every_point_once(tmp_path):
    spec, db = tmp_path / "sweep.yaml", tmp_path / "r.sqlite"
    spec.write_text(SWEEP)
    proc = _start(spec, db)
    before, workers = _stop_midway(proc, db, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    if Path("/proc").exists():
        assert len(workers) >= 2, "expected the sweep's worker processes to be running when it was killed"
    deadline = time.monotonic() + 10  # workers notice their parent is gone and exit
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the killed sweep"
    _resume_and_check(spec, db, before)


def test_ctrl_c_stops_cleanly_then_resumes(tmp_path):
    spec, db = tmp_path / "sweep.yaml", tmp_path / "r.sqlite"
    spec.write_text(SWEEP)
    proc = _start(spec, db)
    before, _ = _stop_midway(proc, db, signal.SIGINT)
    assert proc.returncode == 130
    assert "interrupted with" in proc.stdout_text and "run the same command to resume" in proc.stdout_text
    _resume_and_check(spec, db, before)


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the worker processes in /proc")
def test_a_lost_local_worker_costs_only_unfinished_points(tmp_path):
    spec_path, db = tmp_path / "sweep.yaml", tmp_path / "r.sqlite"
    spec_path.write_text(SWEEP)
    spec = load_sweep(spec_path)
    before = set(_children(os.getpid()))
    killed = []

    def kill_a_worker(row):
        if not killed:
            worker = sorted(set(_children(os.getpid())) - before)[0]
            os.kill(worker, signal.SIGKILL)
            killed.append(worker)

    first = run_sweep(spec, db, jobs=2, progress=False, on_row=kill_a_worker)
    total = len(spec.points())
    assert killed and first.lost > 0 and not first.complete
    assert first.ran + first.lost == total and "run the same command to resume" in first.text()
    second = run_sweep(spec, db, jobs=2, progress=False)
    assert second.complete and second.skipped == first.ran and second.ran == first.lost
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM points")]
    assert sorted(keys) == sorted(p.key for p in spec.points())
