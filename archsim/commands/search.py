"""`archsim search CHIP WORKLOAD --space SPACE.yaml`: search a mapping space for an objective."""
from __future__ import annotations

import sys
from pathlib import Path

from archsim.commands.common import (add_html_argument, add_scenario_arguments, overrides_from_args,
                                     scenario_from_args, write_html_report)

NAME = "search"
HELP = "search a space of mappings (a space YAML) for an objective; a Pareto front and the best mapping file"


def add_arguments(p) -> None:
    p.add_argument("chip", help="bundled chip/system name or a YAML path")
    p.add_argument("workload", help="bundled model name, a YAML path, gemm:MxNxK or gemv:NxK")
    add_scenario_arguments(p)
    p.add_argument("--space", required=True, metavar="FILE", help="search space: mapping keys and their values "
                                                                  "(docs/mapping.md)")
    p.add_argument("--objective", default="latency", metavar="NAME[,NAME]",
                   help="latency | throughput | energy | cost | goodput; several, comma-separated, for a Pareto "
                        "front over them (the first picks the best; default latency)")
    p.add_argument("--budget", type=int, default=100, metavar="N",
                   help="distinct points to look at (default 100); a space no larger runs whole")
    p.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help="keep points where EXPR holds, over mapping keys (tp * pp <= 8: never run) or metrics "
                        "(chips_used <= 64: run, not a result); repeatable")
    p.add_argument("--db", metavar="FILE", help="SQLite store of the points (default: SPACE's name .sqlite in "
                                                "this folder); rerun to resume")
    p.add_argument("--out", metavar="FILE", help="where the best mapping goes (default: SPACE's name .best.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a chip value by key path, repeatable")
    p.add_argument("--fidelity", choices=("task", "cycle"), default="task", help="task (default) or cycle")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="local worker processes (default: every CPU this process may use; 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run points on an existing Dask cluster")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0): same seed, same points")
    p.add_argument("--ask-batch", type=int, default=8, metavar="N", help="points asked of the sampler at once "
                                                                      "(default 8)")
    p.add_argument("--slo-ttft", metavar="TIME", help="goodput: time-to-first-token limit, like '500 ms'")
    p.add_argument("--slo-tpot", metavar="TIME", help="goodput: time-per-output-token limit, like '50 ms'")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar (drawn only on a terminal anyway)")
    add_html_argument(p)


def _time(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    from archsim.errors import ArchsimInputError
    from archsim.units import UnitError, parse_quantity

    try:
        return float(parse_quantity(text, "time"))
    except UnitError as exc:
        raise ArchsimInputError(f"{flag}: {exc}") from None


def run(args) -> int:
    from archsim.errors import ArchsimInputError
    from archsim.mapping.file import checked_mapping, dump_mapping
    from archsim.pipeline import run as run_pipeline
    from archsim.search.api import search
    from archsim.search.report import render
    from archsim.sweep.executors import default_jobs, describe

    if args.jobs is not None and args.jobs < 1:
        raise ArchsimInputError(f"-j must be at least 1, got {args.jobs}")
    stem = Path(args.space).stem
    db = args.db or f"{stem}.sqlite"
    out = args.out or f"{stem}.best.yaml"
    jobs = args.jobs or default_jobs()
    scenario = scenario_from_args(args)
    print(f"search {stem}: {args.chip} x {args.workload} {scenario.phase}, objective {args.objective}, budget "
          f"{args.budget}, on {describe(jobs, args.scheduler)}; store {db}", file=sys.stderr)
    result = search(args.chip, args.workload, scenario, args.space, objective=args.objective, budget=args.budget,
                    db=db, constraints=tuple(args.constraint), overrides=overrides_from_args(args),
                    fidelity=args.fidelity, jobs=jobs, scheduler=args.scheduler, seed=args.seed, batch=args.ask_batch,
                    slo_ttft_s=_time(args.slo_ttft, "--slo-ttft"), slo_tpot_s=_time(args.slo_tpot, "--slo-tpot"),
                    progress=not args.quiet)
    header = (f"search {result.space.name}: {result.baseline.chip} x {result.baseline.workload} {scenario.phase} "
              f"(batch {scenario.batch}), {args.fidelity} fidelity, objective {args.objective}")
    print(render(result, header))
    write_html_report(args, result)
    if result.best is None:
        return 1
    Path(out).write_text("# the best mapping of `archsim search` (every auto choice resolved); replay with "
                         "`archsim run ... --mapping FILE`\n" + dump_mapping(result.best_mapping))
    mapper, options = checked_mapping(out, _system(args), args.workload, scenario)
    replay = run_pipeline(_system(args), args.workload, scenario, mapper=mapper, options=options,
                          fidelity=args.fidelity)
    same = replay.latency_s == result.best_result.latency_s
    print(f"mapping: {out} (archsim run --mapping {out}: {'the same' if same else 'NOT the same'} latency, "
          f"{replay.latency_s:.9g} s)")
    print(f"store: {db} (search 'search:{result.space.name}'; `archsim results {db} --sweep search:"
          f"{result.space.name}`; rerun the command to resume)")
    return 0 if same else 1


def _system(args):
    from archsim.hw.load import load_system

    return load_system(args.chip, overrides_from_args(args))
