"""`archsim run CHIP WORKLOAD`: simulate one workload on one chip or system."""
from __future__ import annotations

import argparse

from archsim.commands.common import (add_html_argument, add_single_run_arguments, options_from_args,
                                     overrides_from_args, prepare_output, scenario_from_args, write_html_report,
                                     write_json)

NAME = "run"
HELP = "simulate a workload (a model or gemm:MxNxK / gemv:NxK) on a chip or system"


def add_whatif_argument(p) -> None:
    p.add_argument("--whatif", action=argparse.BooleanOptionalAction, default=None,
                   help="re-simulate with each resource class 2x as fast (default: on unless the task graphs "
                        "are very large; --no-whatif skips it)")


def whatif_mode(args) -> str:
    return "auto" if args.whatif is None else ("on" if args.whatif else "off")


def add_arguments(p) -> None:
    add_single_run_arguments(p)
    add_whatif_argument(p)
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    p.add_argument("--per-op", action="store_true", help="one row per operator instead of folded layers")
    p.add_argument("--per-layer", action="store_true", help="also print the time split of every layer")
    p.add_argument("--trace", metavar="FILE",
                   help="write a Chrome/Perfetto trace of the simulated timeline (open in ui.perfetto.dev)")
    p.add_argument("--plot", metavar="DIR", help="write PNG and SVG plots (roofline, time breakdown, heatmaps)")
    add_html_argument(p)
    add_mapping_file_arguments(p)


def add_mapping_file_arguments(p) -> None:
    p.add_argument("--mapping", metavar="FILE", help="a mapping file (docs/mapping.md): the mapper's choices for "
                                                     "this chip family, replayed; -o options override it")
    p.add_argument("--save-mapping", metavar="FILE", help="write the run's effective mapping (every auto choice "
                                                          "resolved) as a mapping file")


def run_one(args, chip: str):
    """Run the pipeline for `chip` with the scenario, mapping and what-if options in `args`."""
    from archsim.pipeline import run as run_pipeline
    from archsim.whatif import add_whatif

    mapper, options = args.mapper, options_from_args(args)
    mapping_file = getattr(args, "mapping", None)
    overrides = overrides_from_args(args)
    if mapping_file:
        from archsim.hw.load import load_system
        from archsim.mapping.file import checked_mapping

        chip = load_system(chip, overrides)
        overrides = None
        mapper, options = checked_mapping(mapping_file, chip, args.workload, scenario_from_args(args), mapper,
                                          options)
    if getattr(args, "speculative", None):
        from archsim.speculative import load_speculative, speculative_run

        result = speculative_run(chip, args.workload, scenario_from_args(args), load_speculative(args.speculative),
                                 mapper=mapper, options=options, overrides=overrides, fidelity=args.fidelity)
    else:
        result = run_pipeline(chip, args.workload, scenario_from_args(args), mapper=mapper, options=options,
                              overrides=overrides, fidelity=args.fidelity)
    add_whatif(result, whatif_mode(args))
    return result


def run(args) -> int:
    from archsim.report.text import render

    for path, flag, folder in ((args.json, "--json", False), (args.trace, "--trace", False),
                               (args.plot, "--plot", True)):
        prepare_output(path, flag, folder)  # before the simulation, not after it
    result = run_one(args, args.chip)
    messages = []
    if args.trace:
        from archsim.report.trace import write_trace

        info = write_trace(result, args.trace)
        messages.append(f"trace: {args.trace} ({info['events']:,} events on {info['tracks']} tracks"
                        + (f"; {info['folded']}" if info["folded"] else "") + "); open it in ui.perfetto.dev")
    if args.plot:
        from archsim.report.plots import write_plots

        written = write_plots(result, args.plot)
        messages.append(f"plots: {', '.join(sorted(written))} in {args.plot} (PNG and SVG)")
    print(render(result, per_op=args.per_op, per_layer=args.per_layer))
    if "speculative" in result.extra:
        from archsim.speculative import render_speculative

        print("\n".join(render_speculative(result.extra["speculative"])))
    for message in messages:
        print(message)
    if args.json:
        write_json(args.json, result.to_dict())
    if getattr(args, "save_mapping", None):
        from archsim.hw.load import load_system
        from archsim.mapping.file import save_mapping

        kind = load_system(args.chip, overrides_from_args(args)).kind
        save_mapping(result, kind, args.save_mapping)
        print(f"mapping: {args.save_mapping} (every auto choice resolved; replay with --mapping)")
    write_html_report(args, result, trace=args.trace)
    return 0
