"""`archsim validate`: run every reference case; exit 1 if a required case leaves its tolerance."""
from __future__ import annotations

import argparse

from archsim.commands.common import add_html_argument, write_html_report, write_json

NAME = "validate"
HELP = "compare archsim's predictions with published measurements (shipped reference data)"


def add_arguments(p) -> None:
    p.add_argument("--family", action="append", metavar="KIND",
                   help="only this chip family (gpu, mesh, tsp, or a plugin's; repeatable)")
    p.add_argument("--case", action="append", help="only this case id (repeatable)")
    p.add_argument("--json", metavar="FILE", help="write every case's result as JSON")
    add_html_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar (drawn only on a terminal anyway)")


GROUPS = (("prediction", "Predictions (required: each fails the run if outside its tolerance)"),
          ("reported", "Reported only (low-confidence references: shown with their error, never failing the run)"),
          ("fitted", "Fitted (used to fit a calibration constant: not evidence for it; `archsim calibrate`)"))


def run(args) -> int:
    from archsim.validation.base import run_cases

    results = run_cases(args.family, args.case)
    width = max([28] + [len(r.case.case_id) + 2 for r in results])
    header = f"{'case':<{width}}{'predicted':>12}{'measured':>12}  {'unit':<10}{'error':>8}{'tol':>6}  status"
    for group, title in GROUPS:
        rows = [r for r in results if r.group == group]
        if not rows:
            continue
        print(f"{title}\n{header}\n{'-' * len(header)}")
        for r in rows:
            print(_row(r, width))
            if r.message:
                print(f"    {r.message}")
        print()
    summary = summary_lines(results) + error_lines(results)
    print("\n".join(summary))
    if args.json:
        write_json(args.json, [r.to_dict() for r in results])
    if args.html:
        from archsim.validation.report import ValidationReport

        write_html_report(args, ValidationReport(results, summary), groups=GROUPS)
    return 1 if any(r.fails_run for r in results) else 0


def _row(r, width: int) -> str:
    c = r.case
    if c.required:
        status = "ok" if r.passed else "FAIL"
    else:
        status = "within" if r.passed else "outside"
    if c.calibrates:
        status += f" (fitted: {c.calibrates})"
    pred = f"{r.predicted:,.4g}" if r.predicted is not None else "-"
    # A one-sided case (at least a bound) has no meaningful signed error: show the margin instead.
    err = "-" if r.error is None else (f">={1 - c.tolerance:.2g}x" if c.at_least else f"{r.error:+.1%}")
    return f"{c.case_id:<{width}}{pred:>12}{c.measured:>12,.4g}  {c.unit:<10}{err:>8}{c.tolerance:>6.0%}  {status}"


def summary_lines(results) -> list[str]:
    """Predictions (evidence), reported-only cases and fitted cases are counted apart, so neither a case
    used to fit a constant nor a low-confidence reference is ever counted as evidence."""
    lines = []
    predictions = [r for r in results if r.group == "prediction"]
    failing = [r.case.case_id for r in predictions if not r.passed]
    if predictions:
        lines.append(f"{len(predictions) - len(failing)} of {len(predictions)} required predictions within "
                     "tolerance" + (f"; failing: {', '.join(failing)}" if failing else ""))
    reported = [r for r in results if r.group == "reported"]
    outside = [r.case.case_id for r in reported if not r.passed]
    if reported:
        lines.append(f"{len(reported) - len(outside)} of {len(reported)} reported-only cases within tolerance"
                     + (f"; outside: {', '.join(outside)}" if outside else ""))
    fitted = [r for r in results if r.group == "fitted"]
    if fitted:
        off = [r.case.case_id for r in fitted if not r.passed]
        lines.append(f"{len(fitted)} fitted cases listed apart, not counted as evidence"
                     + (f"; outside their tolerance (a fit has drifted: run `archsim calibrate --check`): "
                        f"{', '.join(off)}" if off else ""))
    return lines


def error_lines(results) -> list[str]:
    """Median and largest |error| of the required predictions, and the median over every non-fitted case
    (required and reported-only: the public measurements that are evidence). One-sided cases (at least a
    bound) and cases that could not run have no error to count."""
    import statistics

    def counted(r) -> bool:
        return r.error is not None and not r.case.at_least and r.group != "fitted"

    lines = []
    required = [r for r in results if counted(r) and r.group == "prediction"]
    if required:
        worst = max(required, key=lambda r: abs(r.error))
        median = statistics.median(abs(r.error) for r in required)
        lines.append(f"|error| of required predictions: median {median:.1%}, largest {abs(worst.error):.1%} "
                     f"({worst.case.case_id}); {len(required)} cases")
    public = [r for r in results if counted(r)]
    if public and len(public) > len(required):
        lines.append(f"|error| of every non-fitted case (required and reported-only): median "
                     f"{statistics.median(abs(r.error) for r in public):.1%}; {len(public)} cases")
    return lines
