"""`archsim run CHIP WORKLOAD`: simulate one workload on one chip or system."""
from __future__ import annotations

from archsim.commands.common import (add_mapping_arguments, add_scenario_arguments, options_from_args,
                                     overrides_from_args, scenario_from_args, write_json)

NAME = "run"
HELP = "simulate a workload (a model or gemm:MxNxK / gemv:NxK) on a chip or system"


def add_arguments(p) -> None:
    p.add_argument("chip", help="bundled chip/system name (see `archsim list`) or a YAML path")
    p.add_argument("workload", help="bundled model name, a YAML path, gemm:MxNxK or gemv:NxK")
    add_scenario_arguments(p)
    add_mapping_arguments(p)
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    p.add_argument("--per-op", action="store_true", help="one row per operator instead of folded layers")


def run(args) -> int:
    from archsim.pipeline import run as run_pipeline
    from archsim.report.text import render

    result = run_pipeline(args.chip, args.workload, scenario_from_args(args), mapper=args.mapper,
                          options=options_from_args(args), overrides=overrides_from_args(args),
                          fidelity=args.fidelity)
    print(render(result, per_op=args.per_op))
    if args.json:
        write_json(args.json, result.to_dict())
    return 0
