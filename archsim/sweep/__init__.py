"""Design-space sweeps: a sweep file -> points -> local processes or Dask -> SQLite (docs/sweep.md).

    from archsim.sweep import load_sweep, run_sweep
    summary = run_sweep(load_sweep("sweep.yaml"), "results.sqlite", jobs=2)
    result = archsim.sweep("sweep.yaml")        # the package is callable: archsim.sweep.study.sweep

`archsim.sweep` is both this package and the notebook study `archsim.sweep(...)`: once a package is
imported, Python binds its name on the parent, so the package itself is made callable.
"""
import sys
import types
from archsim.sweep.db import ResultsDB
from archsim.sweep.runner import SweepSummary, plan_sweep, run_sweep
from archsim.sweep.spec import Point, SweepSpec, load_sweep

__all__ = ["Point", "ResultsDB", "SweepSpec", "SweepSummary", "load_sweep", "plan_sweep", "run_sweep"]


class _CallableSweepPackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        """archsim.sweep(spec, db=None, *, jobs=1, fidelity=None, progress=False) -> SweepResult."""
        from archsim.sweep.study import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSweepPackage
