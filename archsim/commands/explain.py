"""`archsim explain CHIP WORKLOAD`: a short narrative of one run, for teaching."""
from __future__ import annotations

from archsim.commands.common import (add_html_argument, add_single_run_arguments, prepare_output,
                                     write_html_report, write_json)
from archsim.commands.run import add_whatif_argument, run_one

NAME = "explain"
HELP = "explain one run in words: ridge point, bound of each operator, critical path, what would help"


def add_arguments(p) -> None:
    add_single_run_arguments(p)
    add_whatif_argument(p)
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    add_html_argument(p)


def run(args) -> int:
    from archsim.report.explain import explain

    prepare_output(args.json, "--json")
    result = run_one(args, args.chip)
    narrative = explain(result)
    print(narrative)
    if args.json:
        write_json(args.json, result.to_dict())
    write_html_report(args, result, narrative=narrative)
    return 0
