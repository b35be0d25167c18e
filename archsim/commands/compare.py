"""`archsim compare CHIP [CHIP...] WORKLOAD`: one workload on several chips side by side."""
from __future__ import annotations

from archsim.commands.common import add_mapping_arguments, add_scenario_arguments, scenario_from_args, write_json
from archsim.commands.run import add_whatif_argument, run_one
from archsim.errors import ArchsimInputError

NAME = "compare"
HELP = "run one workload on several chips or systems and compare them side by side"


def add_arguments(p) -> None:
    p.add_argument("targets", nargs="+", metavar="CHIP [CHIP ...] WORKLOAD",
                   help="chips/systems (names or YAML paths), then the workload")
    add_scenario_arguments(p)
    add_mapping_arguments(p)
    add_whatif_argument(p)
    p.add_argument("--json", metavar="FILE", help="also write every chip's summary as JSON")


def scenario_text(args) -> str:
    s = scenario_from_args(args)
    text = f"batch {s.batch}, {s.weight_dtype}"
    return text + (f", prompt {s.prompt_len}" if s.phase == "prefill" else f", context {s.context_len}")


def run(args) -> int:
    from archsim.report.compare import compare, render_compare

    if len(args.targets) < 2:
        raise ArchsimInputError("compare needs at least one chip and a workload: "
                                "archsim compare CHIP [CHIP ...] WORKLOAD")
    *chips, args.workload = args.targets
    rows = compare(chips, lambda chip: run_one(args, chip))
    print(render_compare(rows, args.workload, scenario_text(args)))
    if args.json:
        write_json(args.json, {"workload": args.workload, "scenario": scenario_text(args),
                               "rows": [row.to_dict() for row in rows]})
    return 0
