"""The validation-case registry and runner."""
from __future__ import annotations

import csv
import importlib
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from archsim.errors import ArchsimInputError, UnknownNameError
from archsim.registry import Registry
from archsim.spec import did_you_mean

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"


@dataclass(frozen=True)
class Case:
    case_id: str
    family: str  # the chip family (kind) it validates: gpu, tsp, mesh or a plugin's
    tolerance: float  # allowed relative error, |predicted - measured| / measured
    required: bool  # False: reported, never fails the run (low-confidence references)
    predict: Callable[[], float]  # runs archsim; returns a value in the reference's unit
    measured: float
    unit: str
    source: str
    command: str  # the archsim command that reproduces the prediction
    at_least: bool = False  # one-sided: passes when predicted >= measured * (1 - tolerance)

    @property
    def calibrates(self) -> str:
        """The constants this case was used to fit (archsim/calibration): it is no test of them."""
        return ", ".join(fitted_constants(self.case_id))


@dataclass(frozen=True)
class CaseResult:
    case: Case
    predicted: float | None
    error: float | None  # signed relative error
    passed: bool  # the prediction is within tolerance (required, reported-only and fitted cases alike)
    message: str = ""
    seconds: float = 0.0

    @property
    def within(self) -> bool:
        return self.passed

    @property
    def fails_run(self) -> bool:
        """A required case outside its tolerance (or that could not run) fails `archsim validate`."""
        return self.case.required and not self.passed

    @property
    def group(self) -> str:
        """prediction (evidence), fitted (used to fit a constant: not evidence) or reported (low confidence)."""
        if self.case.calibrates:
            return "fitted"
        return "prediction" if self.case.required else "reported"

    def to_dict(self) -> dict:
        c = self.case
        return dict(case_id=c.case_id, family=c.family, predicted=self.predicted, measured=c.measured,
                    unit=c.unit, error=self.error, tolerance=c.tolerance, at_least=c.at_least, calibrates=c.calibrates or None, required=c.required,
                    group=self.group, within_tolerance=self.passed, fails_run=self.fails_run, source=c.source,
                    command=c.command, message=self.message)


CASES: Registry[Case] = Registry("validation case")


def fitted_constants(case_id: str) -> list[str]:
    """Names of the calibration constants fitted on (or on the same quantity as) case `case_id`."""
    from archsim.calibration.table import TABLE

    return [c.name for c in TABLE if c.origin == "fitted" and case_id in c.cases]


@lru_cache(maxsize=None)
def _read_csv(name: str) -> tuple[dict, ...]:
    path = Path(name)  # a file of archsim/data/reference, or a path (a plugin's own reference CSV)
    with open(path if path.is_absolute() else REFERENCE_DIR / path, newline="") as fh:
        rows = [line for line in fh if not line.startswith("#")]
    return tuple(csv.DictReader(rows))


def reference_rows(name: str | Path) -> tuple[dict, ...]:
    """All rows of a reference CSV (comment lines skipped): a file name of archsim/data/reference,
    or an absolute path (a plugin ships its own)."""
    return _read_csv(str(name))


def reference_row(case_id: str, file: str | Path = "published_results.csv") -> dict:
    for row in _read_csv(str(file)):
        if (row.get("case_id") or row.get("case")) == case_id:  # serving_results.csv names the column `case`
            return row
    raise KeyError(f"no case {case_id!r} in {file}")


def validation_case(case_id: str, family: str, tolerance: float, command: str, required: bool = True,
                    measured: float | None = None, unit: str | None = None, source: str | None = None,
                    at_least: bool = False,
                    reference: str | Path = "published_results.csv"):
    """Register fn() -> predicted. Measured value, unit and source come from the row of `reference`
    whose case_id is `case_id`: a CSV of archsim/data/reference (default published_results.csv), or
    an absolute path, so a plugin's cases read the reference data it ships (docs/plugins.md)."""

    def decorator(fn):
        if measured is None:
            row = reference_row(case_id, reference)
            value, u, src = float(row["value"]), row["unit"], row["source"]
        else:
            value, u, src = measured, unit or "", source or ""
        CASES.add(case_id, Case(case_id, family, tolerance, required, fn, value, u, src, command, at_least))
        return fn

    return decorator


def serve_command(system: str, workload: str, dtypes: dict, options: dict, flags: dict, reads: str) -> str:
    """The `archsim serve` command line of a serving case, written from the same dtypes, mapper options and serving
    flags (run_serving's names; True: a bare flag) the case runs with, and what the case reads from its result."""
    words = ["archsim serve", system, workload, f"--dtype {dtypes['act_dtype']}",
             f"--weight-dtype {dtypes['weight_dtype']}", f"--kv-dtype {dtypes['kv_dtype']}"]
    words += [f"-o {key}={value}" for key, value in options.items()]
    for key, value in flags.items():
        flag = "--" + key.replace("_", "-")
        words.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(words) + f"  ({reads})"


# Cases that compare families with each other (energy ratios, power) and belong to none.
CORE_CASE_MODULES = ("archsim.validation.energy", "archsim.validation.serving", "archsim.validation.speculative")


def load_all_cases() -> list[Case]:
    """Every registered case: each family's validation modules, then the cross-family ones."""
    from archsim.family import families

    for family in families().values():
        family.import_validation()
    for module in CORE_CASE_MODULES:
        importlib.import_module(module)
    return [c for _, c in CASES.items()]


def run_case(case: Case) -> CaseResult:
    t0 = time.perf_counter()
    try:
        predicted = float(case.predict())
    except ArchsimInputError as exc:
        return CaseResult(case, None, None, False, f"could not run: {exc}", time.perf_counter() - t0)
    error = (predicted - case.measured) / case.measured
    within = error >= -case.tolerance if case.at_least else abs(error) <= case.tolerance
    return CaseResult(case, predicted, error, within, "", time.perf_counter() - t0)


def run_cases(families: list[str] | None = None, ids: list[str] | None = None) -> list[CaseResult]:
    cases = load_all_cases()
    if families:
        from archsim.family import families as known_families

        known = known_families()
        for kind in families:
            if kind not in known:
                raise UnknownNameError(f"unknown chip family {kind!r}{did_you_mean(kind, known)}; "
                                       f"families: {', '.join(known)}")
        cases = [c for c in cases if c.family in families]
    if ids:
        known = sorted(c.case_id for c in cases)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UnknownNameError(f"unknown validation case {unknown[0]!r}{did_you_mean(unknown[0], known)}"
                                   f"{' in family ' + ', '.join(families) if families else ''}; "
                                   f"cases: {', '.join(known)}")
        cases = [c for c in cases if c.case_id in ids]
    from archsim.progress import progress_bar

    ordered = sorted(cases, key=lambda c: (c.family, c.case_id))
    results = []
    with progress_bar(len(ordered), "validation cases") as advance:
        for case in ordered:
            results.append(run_case(case))
            advance(results[-1].passed or not case.required, case.case_id)
    return results
