"""`archsim calibrate [--check]`: the calibration table, and the fits re-run."""
from __future__ import annotations

from archsim.commands.common import write_json

NAME = "calibrate"
HELP = "list every calibration constant with its origin; --check re-runs the fits and shows them unchanged"


def add_arguments(p) -> None:
    p.add_argument("--check", action="store_true", help="re-run every fit; exit 1 if a constant moved")
    p.add_argument("--scope", choices=("full", "local"), default="full",
                   help="full: the whole documented search; local: the stored values against their neighbours")
    p.add_argument("--family", action="append", metavar="KIND", help="only this family's constants (repeatable)")
    p.add_argument("--json", metavar="FILE", help="write the table (and the check) as JSON")


def run(args) -> int:
    from archsim.calibration.check import check, file_value
    from archsim.calibration.table import TABLE

    chosen = [c for c in TABLE if not args.family or c.family in args.family]
    rows = check(args.scope, args.family) if args.check else None
    print(f"{'constant':<34}{'value':>12}  {'unit':<26}{'family':<7}{'origin':<9}{'dof':>4}  data")
    for i, c in enumerate(chosen):
        dof = "" if c.dof is None else str(c.dof)
        print(f"{c.name:<34}{c.value:>12.6g}  {c.unit:<26}{c.family:<7}{c.origin:<9}{dof:>4}  {c.data}")
        if c.origin == "fitted":
            print(f"{'':<34}{'':>12}  fit: {c.fit}; cases: {', '.join(c.cases)}"
                  + (f"; lives in {c.where}" if c.where else ""))
        if rows is not None:
            r = rows[i]
            shown = [f"refit {r.refitted:.6g}" if r.refitted is not None else "",
                     f"file {r.in_file:.6g}" if r.in_file is not None else ""]
            detail = ", ".join(s for s in shown if s)
            print(f"{'':<34}{'':>12}  check: {'unchanged' if r.ok else 'MOVED'}" + (f" ({detail})" if detail else ""))
    zero = [c.name for c in chosen if c.dof == 0]
    if zero:
        print(f"\nfitted with as many constants as data points (0 degrees of freedom; their cases reproduce the "
              f"data by construction): {', '.join(zero)}")
    if args.json:
        write_json(args.json, [dict(name=c.name, value=c.value, unit=c.unit, family=c.family, origin=c.origin,
                                    data=c.data, fit=c.fit, cases=list(c.cases), dof=c.dof, where=c.where or None,
                                    file_value=file_value(c) if c.where else None,
                                    check=(None if rows is None else dict(refitted=rows[i].refitted, ok=rows[i].ok)))
                               for i, c in enumerate(chosen)])
    if rows is not None:
        moved = [r.constant.name for r in rows if not r.ok]
        print(f"\ncheck ({args.scope}): " + ("every fit gives the stored constants" if not moved
                                             else f"MOVED: {', '.join(moved)}"))
        return 1 if moved else 0
    return 0
