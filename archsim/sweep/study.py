"""`archsim.sweep(...)`: run a sweep and get its points back as a SweepResult (docs/api.md).

The package `archsim.sweep` itself is callable and calls this (archsim/sweep/__init__.py), since
`archsim.sweep` names both the package and the study once the package is imported.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archsim.sweep.result import SweepResult
    from archsim.sweep.spec import SweepSpec


def sweep(spec: "str | Path | SweepSpec", db: str | Path | None = None, *, jobs: int = 1,
          fidelity: str | None = None, progress: bool = False) -> "SweepResult":
    """Run a sweep (a sweep YAML path or a SweepSpec) -> SweepResult of its points. `db`: the SQLite file
    to write (and resume from); None keeps the results in a temporary file that is removed afterwards."""
    from archsim.sweep.result import SweepResult
    from archsim.sweep.runner import run_sweep
    from archsim.sweep.spec import SweepSpec, load_sweep

    spec = spec if isinstance(spec, SweepSpec) else load_sweep(str(spec))
    if db is not None:
        summary = run_sweep(spec, db, jobs=jobs, fidelity=fidelity, progress=progress)
        return SweepResult.load(db, spec.name, summary)
    with tempfile.TemporaryDirectory(prefix="archsim-sweep-") as tmp:
        path = Path(tmp) / "sweep.sqlite"
        summary = run_sweep(spec, path, jobs=jobs, fidelity=fidelity, progress=progress)
        result = SweepResult.load(path, spec.name, summary)
    result.db = "(temporary)"
    return result
