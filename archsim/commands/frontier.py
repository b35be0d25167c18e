"""`archsim frontier SYSTEM [SYSTEM...] WORKLOAD --out DIR`: the throughput-interactivity frontier."""
from __future__ import annotations

from pathlib import Path

from archsim.commands.common import overrides_from_args, options_from_args
from archsim.errors import ArchsimInputError

NAME = "frontier"
HELP = "sweep batch size and system size; plot tokens/s per user against tokens/s per chip, per kW and per dollar"


def add_arguments(p) -> None:
    p.add_argument("targets", nargs="+", metavar="SYSTEM [SYSTEM ...] WORKLOAD",
                   help="chips/systems (names or YAML paths), then the workload")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for frontier.png/.svg and the CSVs")
    p.add_argument("--context-len", type=int, default=1024, help="tokens in the KV cache (default 1024)")
    p.add_argument("--dtype", default="bf16", help="weight and activation dtype (default bf16)")
    p.add_argument("--weight-dtype", default=None, help="weight dtype (default: --dtype), e.g. int8")
    p.add_argument("--kv-dtype", default=None, help="KV-cache dtype (default: --dtype)")
    p.add_argument("--batches", default=",".join(map(str, _defaults()[0])),
                   help="batch sizes to try, comma-separated (default %(default)s)")
    p.add_argument("--scales", default=",".join(f"{s:g}" for s in _defaults()[1]),
                   help="system sizes to try, as multiples of each system's chip count (default %(default)s; "
                        "a single chip stays one)")
    p.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help="mapper option for every system (rarely needed: the defaults pick tp/pp)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a value of every system (e.g. --set chip.price.capital_usd=20000)")
    p.add_argument("--fidelity", choices=("roofline", "task"), default="task",
                   help="task (default) or roofline (analytic, faster)")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page of the frontier")


def _defaults():
    from archsim.sweep.frontier import DEFAULT_BATCHES, DEFAULT_SCALES

    return DEFAULT_BATCHES, DEFAULT_SCALES


def run(args) -> int:
    from archsim.sweep.frontier import parse_list, sweep, write_csv
    from archsim.sweep.frontier_plot import plot_frontier
    from archsim.workload.model import Scenario

    if len(args.targets) < 2:
        raise ArchsimInputError("frontier needs at least one system and a workload: "
                                "archsim frontier SYSTEM [SYSTEM ...] WORKLOAD --out DIR")
    *systems, workload = args.targets
    batches = parse_list(args.batches, int, "batches")
    scales = parse_list(args.scales, float, "scales")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimInputError(f"cannot create {args.out}: {exc.strerror}") from None

    def scenario_for(batch: int) -> Scenario:
        return Scenario(phase="decode", batch=batch, context_len=args.context_len,
                        weight_dtype=args.weight_dtype or args.dtype, act_dtype=args.dtype,
                        kv_dtype=args.kv_dtype or args.dtype).check()

    _check_inputs(systems, workload, [scenario_for(b) for b in batches], args)
    points, skipped = sweep(systems, workload, scenario_for, batches, scales, overrides_from_args(args),
                            options_from_args(args), args.fidelity)
    if not points:
        raise ArchsimInputError(f"no point fits: every (system, size, batch) was infeasible; first reason: "
                                f"{skipped[0].reason if skipped else 'none'}")
    title = f"{workload} decode, context {args.context_len}, {args.weight_dtype or args.dtype} weights"
    files = write_csv(points, skipped, out)
    files += plot_frontier(points, out, title)
    print(_summary(points, skipped))
    print("wrote " + ", ".join(str(f) for f in files))
    from archsim.commands.common import write_html_report
    from archsim.sweep.frontier import FrontierResult

    write_html_report(args, FrontierResult(title, points, skipped))
    return 0


def _check_inputs(systems, workload: str, scenarios, args) -> None:
    """A bad workload, scenario or option is an input error here, not a point that 'does not fit'."""
    from archsim.hw.load import load_system
    from archsim.mapping.base import resolve_mapper
    from archsim.pipeline import build_graph

    build_graph(workload, scenarios[0])  # the workload exists and the context fits the model
    options = options_from_args(args)
    for name in systems:
        resolve_mapper("auto", load_system(name, overrides_from_args(args)).kind).parse_options(options)


def _summary(points, skipped) -> str:
    lines = [f"{'system':<16}{'chips':>6}{'batch':>7}{'per user':>11}{'tokens/s':>11}{'per chip':>10}"
             f"{'per kW':>10}{'tok/$':>10}  frontier"]
    for p in points:
        per_kw = f"{p.per_kw:,.1f}" if p.per_kw is not None else "-"
        per_dollar = f"{p.per_dollar:,.0f}" if p.per_dollar is not None else "-"
        lines.append(f"{p.system:<16}{p.chips:>6}{p.batch:>7}{p.per_user:>11,.1f}{p.tokens_per_s:>11,.0f}"
                     f"{p.per_chip:>10,.1f}{per_kw:>10}{per_dollar:>10}  {p.frontier.replace(';', ', ')}")
    if skipped:
        lines.append(f"\nskipped {len(skipped)} points (did not fit or could not be mapped; all in skipped.csv):")
        seen = set()
        for s in skipped:
            key = (s.system, s.chips)
            if key not in seen:
                seen.add(key)
                batches = [x.batch for x in skipped if (x.system, x.chips) == key]
                lines.append(f"  {s.system} x{s.chips}, batch {', '.join(map(str, batches))}: {s.reason[:150]}")
    return "\n".join(lines)
