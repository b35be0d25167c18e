"""Design-space sweeps: a sweep file -> points -> local processes or Dask -> SQLite (docs/sweep.md).

    from archsim.sweep import load_sweep, run_sweep
    summary = run_sweep(load_sweep("sweep.yaml"), "results.sqlite", jobs=2)
"""
from archsim.sweep.db import ResultsDB
from archsim.sweep.runner import SweepSummary, plan_sweep, run_sweep
from archsim.sweep.spec import Point, SweepSpec, load_sweep

__all__ = ["Point", "ResultsDB", "SweepSpec", "SweepSummary", "load_sweep", "plan_sweep", "run_sweep"]
