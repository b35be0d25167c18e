"""`archsim compare CHIP [CHIP...] WORKLOAD`: one workload on several chips side by side."""
from __future__ import annotations

import argparse

from archsim.commands.common import (add_html_argument, add_mapping_arguments, add_scenario_arguments,
                                     scenario_from_args, write_html_report, write_json)
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
    add_html_argument(p)
    p.epilog = ("-o KEY=VALUE applies to every chip's mapper; -o CHIP:KEY=VALUE to that chip only "
                "(e.g. -o dgx-h100:tp=8).")


def scenario_text(args) -> str:
    s = scenario_from_args(args)
    text = f"batch {s.batch}, {s.weight_dtype}"
    return text + (f", prompt {s.prompt_len}" if s.phase == "prefill" else f", context {s.context_len}")


def chip_args(args, chip: str, chips: list[str]):
    """`args` with the -o options meant for `chip`: unscoped ones and 'CHIP:KEY=VALUE'."""
    options = []
    for text in args.option:
        key = text.split("=", 1)[0]
        scope, _, rest = key.partition(":")
        if not rest:
            options.append(text)
        elif scope not in chips:
            raise ArchsimInputError(f"-o {text!r} names chip {scope!r}, which is not compared here "
                                    f"(chips: {', '.join(chips)})")
        elif scope == chip:
            options.append(text.split(":", 1)[1])
    return argparse.Namespace(**dict(vars(args), option=options))


def run(args) -> int:
    from archsim.report.compare import Comparison, compare

    if len(args.targets) < 2:
        raise ArchsimInputError("compare needs at least one chip and a workload: "
                                "archsim compare CHIP [CHIP ...] WORKLOAD")
    *chips, args.workload = args.targets
    repeated = sorted({c for c in chips if chips.count(c) > 1})
    if repeated:
        raise ArchsimInputError(f"compare got {', '.join(repeated)} more than once; each chip is one row, and "
                                "'-o CHIP:KEY=VALUE' options are keyed by chip name. To compare settings of one "
                                "chip, use a sweep (archsim sweep) or copy its YAML under another name.")
    comparison = Comparison(args.workload, scenario_text(args),
                            compare(chips, lambda chip: run_one(chip_args(args, chip, chips), chip)))
    print(comparison.render())
    if args.json:
        write_json(args.json, comparison.to_dict())
    write_html_report(args, comparison)
    return 0
