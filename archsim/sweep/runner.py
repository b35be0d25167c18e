"""Run a sweep: find the points the database lacks, run them, write each row as it arrives.

    summary = run_sweep(load_sweep("sweep.yaml"), "results.sqlite", jobs=2)

Running the same sweep again runs only what is missing, so an interrupted
sweep (Ctrl-C, a killed process, a lost worker) resumes where it stopped.
"""
from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from archsim.progress import progress_bar
from archsim.sweep.db import ResultsDB
from archsim.sweep.executors import LostPoints, default_jobs, points_iter
from archsim.sweep.lock import sweep_lock
from archsim.sweep.spec import SweepSpec


@dataclass
class SweepSummary:
    sweep: str
    total: int  # points in the sweep (after constraints)
    dropped: int  # points the constraints removed
    skipped: int  # already in the database
    ran: int = 0
    ok: int = 0
    failed: dict = field(default_factory=dict)  # error kind -> count
    lost: int = 0  # no result (a worker died); rerun to resume
    lost_reason: str = ""
    interrupted: bool = False
    wall_s: float = 0.0
    run_s: float = 0.0  # sum over points of the time spent in the worker on the point itself
    cpu_s: float = 0.0  # the same in CPU time of the worker

    @property
    def complete(self) -> bool:
        return not self.lost and not self.interrupted and self.ran == self.total - self.skipped

    def text(self) -> str:
        failed = sum(self.failed.values())
        parts = [f"{self.sweep}: {self.total} points", f"{self.skipped} already done" if self.skipped else "",
                 f"ran {self.ran} in {self.wall_s:.1f} s ({self.ran / max(self.wall_s, 1e-9):.1f} points/s)"
                 if self.ran else "", f"{self.ok} ok" if self.ran else "",
                 f"{failed} failed ({', '.join(f'{k} {v}' for k, v in sorted(self.failed.items()))})"
                 if failed else "",
                 f"{self.dropped} dropped by constraints" if self.dropped else ""]
        text = "; ".join(p for p in parts if p)
        if self.failed.get("internal"):
            text += "\ninternal errors are archsim bugs: see `archsim results DB --errors`; they rerun on resume"
        if self.lost:
            text += f"\n{self.lost} points got no result ({self.lost_reason}); run the same command to resume"
        if self.interrupted:
            left = self.total - self.skipped - self.ran
            text += f"\ninterrupted with {left} points to go; run the same command to resume"
        return text


@dataclass
class Plan:
    points: list  # every point of the sweep, one per key
    todo: list  # the points the database lacks
    dropped: int  # points the constraints removed


def plan_sweep(spec: SweepSpec, db_path: str | Path, fidelity: str | None = None,
               retry_errors: bool = False) -> Plan:
    """The sweep's points and which of them the database at `db_path` still lacks."""
    by_key: dict = {}
    for p in spec.points(fidelity):  # two spellings of one configuration run once
        by_key.setdefault(p.key, p)
    points = list(by_key.values())
    with ResultsDB(db_path) as db:
        db.check_integrity()  # never add rows to a damaged file
        db.check_sweep_name(spec.name, spec.file)
        done = db.done_keys(retry_errors)
    return Plan(points, [p for p in points if p.key not in done], spec.size()[1] if spec.constraints else 0)


def run_sweep(spec: SweepSpec, db_path: str | Path, *, jobs: int | None = None, scheduler: str | None = None,
              fidelity: str | None = None, retry_errors: bool = False, progress: bool = True,
              on_row: Callable[[dict], None] | None = None, client=None, plan: Plan | None = None) -> SweepSummary:
    """Run the points of `spec` missing from the database at `db_path`.

    jobs: local worker processes (default: the CPUs this process may use; 1 runs in this process).
    scheduler: address of a Dask scheduler (tcp://host:8786); `client`: an existing distributed.Client.
    on_row: called with each row after it is written (tests use it to interrupt a sweep on cue).
    plan: from plan_sweep(), if the caller made one already (holding sweep_lock(db_path) since).
    Another sweep writing the same database at the same time is an ArchsimInputError.
    """
    with sweep_lock(db_path):
        return _run_sweep(spec, db_path, jobs, scheduler, fidelity, retry_errors, progress, on_row, client, plan)


def _run_sweep(spec, db_path, jobs, scheduler, fidelity, retry_errors, progress, on_row, client, plan):
    plan = plan or plan_sweep(spec, db_path, fidelity, retry_errors)
    with ResultsDB(db_path) as db:
        db.register_sweep(spec.name, spec.file, [a.name for a in spec.axes], plan.points)
    todo = plan.todo
    summary = SweepSummary(spec.name, len(plan.points), plan.dropped, len(plan.points) - len(todo))
    if not todo:
        return summary
    owned_client = None
    if scheduler and client is None:
        from archsim.sweep.executors import dask_client

        client = owned_client = dask_client(scheduler)
    bars = contextlib.ExitStack()
    advance = (bars.enter_context(progress_bar(summary.total, f"sweep {spec.name}", summary.skipped))
               if progress else (lambda ok=True, note="": None))
    start = time.perf_counter()
    failed: Counter = Counter()
    configs = {p.key: p.config() for p in todo}
    rows = points_iter(configs.items(), jobs or default_jobs(), client)
    db = ResultsDB(db_path)  # opened after the workers fork: they never hold the connection
    try:
        for row in rows:
            db.record(configs[row["key"]], row)
            summary.ran += 1
            summary.run_s += row.get("run_s") or 0.0
            summary.cpu_s += row.get("cpu_s") or 0.0
            if row["status"] == "ok":
                summary.ok += 1
            else:
                failed[row["error_kind"]] += 1
            advance(row["status"] == "ok")
            if on_row is not None:
                on_row(row)
    except LostPoints as exc:
        summary.lost, summary.lost_reason = exc.count, exc.reason
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if hasattr(rows, "close"):
            rows.close()  # stops the executor: when interrupted, cancels queued points and ends running ones
        db.close()
        bars.close()
        if owned_client is not None:
            owned_client.close()
    summary.failed = dict(failed)
    summary.wall_s = time.perf_counter() - start
    return summary
