"""`archsim sweep SPEC --db FILE`: run a design-space sweep, resumable, locally or on Dask."""
from __future__ import annotations

import argparse
import sys

NAME = "sweep"
HELP = "run a design-space sweep (a sweep YAML) into a SQLite database; rerun to resume"


def add_arguments(p) -> None:
    p.add_argument("spec", help="sweep file (see docs/sweep.md)")
    p.add_argument("--db", required=True, metavar="FILE", help="SQLite results database (created if missing)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="local worker processes (default: every CPU this process may use; 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask cluster (tcp://host:8786); needs archsim[dask]")
    p.add_argument("--fidelity", choices=("roofline", "task", "cycle"), default=None,
                   help="override the sweep file's fidelity (default there: task)")
    p.add_argument("--retry-errors", action="store_true",
                   help="also rerun points recorded as failed (infeasible, bad value)")
    p.add_argument("--dry-run", action="store_true", help="check the file and list the points; run nothing")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar (drawn only on a terminal anyway)")


def run(args) -> int:
    from archsim.errors import ArchsimInputError
    from archsim.sweep.executors import default_jobs, describe
    from archsim.sweep.lock import sweep_lock
    from archsim.sweep.runner import plan_sweep, run_sweep
    from archsim.sweep.spec import load_sweep

    if args.jobs is not None and args.jobs < 1:
        raise ArchsimInputError(f"-j must be at least 1, got {args.jobs}")
    spec = load_sweep(args.spec)
    if args.dry_run:
        return _dry_run(spec, args)
    with sweep_lock(args.db):  # held from the plan to the last row: a second sweep on this file is refused
        plan = plan_sweep(spec, args.db, args.fidelity, args.retry_errors)
        jobs = args.jobs or default_jobs()
        print(f"sweep {spec.name}: {len(plan.points)} points at {args.fidelity or spec.fidelity} fidelity, "
              f"{len(plan.points) - len(plan.todo)} already in {args.db}, running {len(plan.todo)} on "
              f"{describe(jobs, args.scheduler)}", file=sys.stderr)
        summary = run_sweep(spec, args.db, jobs=jobs, scheduler=args.scheduler, fidelity=args.fidelity,
                            retry_errors=args.retry_errors, progress=not getattr(args, "quiet", False), plan=plan)
    print(summary.text())
    if summary.interrupted:
        return 130
    return 1 if summary.lost or summary.failed.get("internal") else 0


def _dry_run(spec, args) -> int:
    from pathlib import Path

    from archsim.sweep.db import ResultsDB

    points = spec.points(args.fidelity)
    done: set = set()
    if Path(args.db).exists():
        with ResultsDB(args.db, create=False) as db:
            done = db.done_keys(args.retry_errors)
    kept, dropped = spec.size()
    print(f"{spec.file}: ok; {kept} points ({dropped} dropped by constraints), "
          f"{sum(p.key in done for p in points)} already in {args.db}")
    for p in points:
        params = ", ".join(f"{k}={v}" for k, v in p.params.items())
        print(f"  {p.key}  {'done' if p.key in done else 'todo'}  {params}")
    return 0
