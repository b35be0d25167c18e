"""`archsim validate`: run every reference case; exit 1 if a required case leaves its tolerance."""
from __future__ import annotations

from archsim.commands.common import write_json

NAME = "validate"
HELP = "compare archsim's predictions with published measurements (shipped reference data)"


def add_arguments(p) -> None:
    p.add_argument("--family", action="append", metavar="KIND",
                   help="only this chip family (gpu, mesh, tsp, or a plugin's; repeatable)")
    p.add_argument("--case", action="append", help="only this case id (repeatable)")
    p.add_argument("--json", metavar="FILE", help="write every case's result as JSON")


def run(args) -> int:
    from archsim.validation.base import run_cases

    results = run_cases(args.family, args.case)
    width = max([28] + [len(r.case.case_id) + 2 for r in results])
    header = f"{'case':<{width}}{'predicted':>12}{'measured':>12}  {'unit':<10}{'error':>8}{'tol':>6}  status"
    print(header)
    print("-" * len(header))
    for r in results:
        c = r.case
        if c.required:
            status = "ok" if r.passed else "FAIL"
        else:  # low-confidence reference: shown, never fails the run
            status = "reported" + ("" if r.within else " (outside)")
        if c.calibrates:
            status += f" (fitted: {c.calibrates})"
        pred = f"{r.predicted:,.4g}" if r.predicted is not None else "-"
        # A one-sided case (at least a bound) has no meaningful signed error: show the margin instead.
        err = "-" if r.error is None else (f">={1 - c.tolerance:.2g}x" if c.at_least else f"{r.error:+.1%}")
        print(f"{c.case_id:<{width}}{pred:>12}{c.measured:>12,.4g}  {c.unit:<10}{err:>8}{c.tolerance:>6.0%}  {status}")
        if r.message:
            print(f"    {r.message}")
    failed = [r for r in results if not r.passed]
    print("\n" + "\n".join(summary_lines(results)))
    if args.json:
        write_json(args.json, [r.to_dict() for r in results])
    return 1 if failed else 0


def summary_lines(results) -> list[str]:
    """Required cases (which fail the run) and reported-only ones (low-confidence
    references) are counted apart, so a reported case far off is never hidden
    in a count of passes."""
    failed = [r for r in results if not r.passed]
    required = [r for r in results if r.case.required]
    reported = [r for r in results if not r.case.required]
    outside = [r.case.case_id for r in reported if not r.within]
    fitted = sum(1 for r in results if r.case.calibrates)
    lines = [f"{len(required) - len(failed)} of {len(required)} required cases within tolerance"
             + (f" ({fitted} of them were used to fit constants, marked 'fitted'; the rest are predictions)"
                if fitted else "")
             + (f"; failing: {', '.join(r.case.case_id for r in failed)}" if failed else "")]
    if reported:
        lines.append(f"{len(reported) - len(outside)} of {len(reported)} reported-only cases (low-confidence "
                     "references, never failing the run) within tolerance"
                     + (f"; outside: {', '.join(outside)}" if outside else ""))
    return lines
