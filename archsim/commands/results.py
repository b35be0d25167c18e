"""`archsim results DB`: read a sweep's results back as a table, CSV or JSON, or plot them."""
from __future__ import annotations

import sys

NAME = "results"
HELP = "show the results of a sweep database (table, csv, json) or plot them (line, heatmap, pareto)"


def add_arguments(p) -> None:
    p.add_argument("db", help="SQLite database written by `archsim sweep`")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    p.add_argument("--metrics", metavar="M1,M2",
                   help="metrics to show (default: latency_s,tokens_per_s,bottleneck; csv: the headline metrics; "
                        "json: all)")
    p.add_argument("--all", action="store_true", help="csv: every metric of the result (over 200 columns)")
    p.add_argument("--sweep", metavar="NAME", help="only this sweep (a database can hold several)")
    p.add_argument("--where", action="append", default=[], metavar="AXIS=VALUE",
                   help="only points with this axis value, repeatable (e.g. --where scenario.batch=8)")
    p.add_argument("--errors", action="store_true", help="only failed points, with their error text")
    p.add_argument("--plot", choices=("line", "heatmap", "pareto"),
                   help="line: --y METRIC over --x AXIS, one line per --by AXIS; heatmap: --metric over "
                        "--x AXIS and --y AXIS; pareto: --y METRIC against --x METRIC (NAME:min/max)")
    p.add_argument("--x", help="axis (line, heatmap) or metric (pareto) on the horizontal axis")
    p.add_argument("--y", help="metric (line, pareto) or axis (heatmap) on the vertical axis")
    p.add_argument("--by", help="line plot: one line per value of this axis")
    p.add_argument("--metric", help="heatmap: the metric shown as color")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="plot file (.png, .svg, .pdf), or a folder to write KIND.png in; required with --plot")
    p.add_argument("--html", metavar="FILE",
                   help="write a self-contained HTML page: every point (sortable), the Pareto front of --x and --y "
                        "metrics (default tokens/s per user against tokens/s) and each metric along each axis")


def run(args) -> int:
    from archsim.errors import ArchsimInputError
    from archsim.sweep.db import ResultsDB
    from archsim.sweep.table import check_columns, default_metrics, metrics_of, render, select

    with ResultsDB(args.db, create=False) as db:
        sweeps = db.sweeps()
        if args.sweep and args.sweep not in {s["name"] for s in sweeps}:
            from archsim.spec import did_you_mean

            names = [s["name"] for s in sweeps]
            raise ArchsimInputError(f"no sweep {args.sweep!r} in {args.db}{did_you_mean(args.sweep, names)}; "
                                    f"sweeps: {', '.join(names) or '(none)'}")
        rows = db.rows(args.sweep)
    rows = select(rows, args.where)
    if args.errors:
        rows = [r for r in rows if r["status"] != "ok"]
    if args.html:
        from archsim.commands.common import write_html_report
        from archsim.sweep.result import SweepResult

        chosen = [s for s in sweeps if not args.sweep or s["name"] == args.sweep]
        write_html_report(args, SweepResult(args.db, rows, chosen), x=args.x, y=args.y)
    if args.plot:
        if not args.output:
            raise ArchsimInputError("--plot needs -o FILE (.png, .svg or .pdf)")
        from archsim.sweep.plot import plot

        output = _plot_file(args.output, args.plot)
        plot(rows, args.plot, output, args.x, args.y, args.by, args.metric,
             title=", ".join(s["name"] for s in sweeps if not args.sweep or s["name"] == args.sweep))
        print(f"wrote {output}", file=sys.stderr)
        return 0
    if args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
        check_columns(rows, metrics)
    elif args.format == "table":
        metrics = default_metrics(rows, "table") if not args.errors else []
    elif args.format == "csv":
        metrics = metrics_of(rows) if args.all else default_metrics(rows, "csv")
    else:
        metrics = []
    sys.stdout.write(render(rows, metrics, args.format, errors=args.errors or any(r["status"] != "ok" for r in rows)))
    if args.format == "table" and not args.where and not args.errors:
        _footer(rows, sweeps, args.sweep)
    return 0


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _plot_file(output: str, kind: str) -> str:
    """The file a plot goes to: OUTPUT itself with a .png/.svg/.pdf suffix, else OUTPUT/KIND.png
    (`-o outdir` wrote outdir.png and said "wrote outdir")."""
    from pathlib import Path

    from archsim.commands.common import prepare_output

    if Path(output).suffix.lower() in PLOT_SUFFIXES:
        prepare_output(output, "-o")
        return output
    prepare_output(output, "-o", folder=True)
    return str(Path(output) / f"{kind}.png")


def _footer(rows, sweeps, only) -> None:
    failed = sum(r["status"] != "ok" for r in rows)
    for s in sweeps:
        if only and s["name"] != only:
            continue
        have = sum(r["sweep"] == s["name"] for r in rows)
        print(f"{s['name']}: {have} of {s['points']} points in the database"
              + (f" ({s['points'] - have} missing: run the sweep again to finish it)" if have < s["points"] else ""),
              file=sys.stderr)
    if failed:
        print(f"{failed} failed points (see --errors)", file=sys.stderr)
