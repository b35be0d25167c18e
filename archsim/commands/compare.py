"""`archsim compare CHIP [CHIP...] WORKLOAD`: one workload on several chips side by side."""
from __future__ import annotations

import argparse

from archsim.commands.common import (add_html_argument, add_mapping_arguments, add_scenario_arguments,
                                     prepare_output, scenario_from_args, write_html_report, write_json)
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
    p.add_argument("--serve", action="store_true",
                   help="compare serving instead of one step: the same request stream on every system (the "
                        "serving flags below; with --find-max-rate, each system's highest rate meeting the SLO)")
    add_html_argument(p)
    from archsim.commands.serve import add_serving_arguments

    add_serving_arguments(p)  # their groups (arrivals, scheduler, SLO) apply with --serve
    p.epilog = ("-o KEY=VALUE applies to every chip's mapper; -o CHIP:KEY=VALUE to that chip only "
                "(e.g. -o dgx-h100:tp=8). With --serve, --replicas and the other serving flags apply to every "
                "system.")


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
    prepare_output(args.json, "--json")
    if args.serve:
        return _serve(args, chips)
    comparison = Comparison(args.workload, scenario_text(args),
                            compare(chips, lambda chip: run_one(chip_args(args, chip, chips), chip)))
    print(comparison.render())
    if args.json:
        write_json(args.json, comparison.to_dict())
    write_html_report(args, comparison)
    return 0


def _serve(args, chips: list[str]) -> int:
    """Serving side by side: each system under the same arrivals, SLO and scheduler settings."""
    from archsim.commands.common import options_from_args, overrides_from_args
    from archsim.commands.serve import _flags
    from archsim.progress import progress_bar
    from archsim.report.compare import ServeComparison
    from archsim.serving.api import run_serving

    s = scenario_from_args(args)
    dtypes = dict(weight_dtype=s.weight_dtype, act_dtype=s.act_dtype, kv_dtype=s.kv_dtype)
    rows = []
    with progress_bar(len(chips), "serving on each system") as advance:
        for chip in chips:
            mine = chip_args(args, chip, chips)
            try:
                result, search = run_serving(chip, args.workload, scenario_name=args.scenario,
                                             serving_file=args.serving, flags=_flags(args), dtypes=dtypes,
                                             options=options_from_args(mine), overrides=overrides_from_args(mine),
                                             fidelity=args.fidelity, find_max_rate=args.find_max_rate,
                                             rate_tolerance=args.rate_tolerance)
                rows.append({"chip": chip, "result": result, "search": search, "error": None})
            except ArchsimInputError as exc:  # a system the model does not fit is a row, not the end of the run
                rows.append({"chip": chip, "result": None, "search": None, "error": str(exc)})
            advance(rows[-1]["error"] is None, chip)
    comparison = ServeComparison(args.workload, rows)
    print(comparison.render())
    if args.json:
        write_json(args.json, comparison.to_dict())
    write_html_report(args, comparison)
    return 0
