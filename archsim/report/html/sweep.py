"""The sweep page (`archsim results DB --html`): every point in a sortable table, the Pareto front of two
metrics, and each metric along each numeric axis. Reads a SweepResult (archsim/sweep/result.py) by its
methods; the front is the sweep layer's (SweepResult.pareto)."""
from __future__ import annotations

from archsim.report.html import figures
from archsim.report.html.document import Card, Cell, Page, cards, esc, num, table
from archsim.report.markup.summaries import TABLE_METRICS, _cell

LINE_METRICS = ("latency_s", "tokens_per_s")
MAX_AXIS_PLOTS = 4


def _label(result, row) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in row["params"].items()) or row["key"]


def _metric_cell(v, key: str) -> Cell:
    """A metric of one point, marked with its path in the page's JSON."""
    return Cell.of(v, key=key) if isinstance(v, (int, float)) and not isinstance(v, bool) else Cell.text(v)


def pareto_figure(page: Page, result, x: str, y: str) -> list[str]:
    rows = result.ok_rows()
    xs, ys = x.split(":")[0], y.split(":")[0]
    pts = [(i, result.value(r, xs), result.value(r, ys)) for i, r in enumerate(rows)]
    pts = [(i, a, b) for i, a, b in pts if isinstance(a, (int, float)) and isinstance(b, (int, float))]
    if not pts:
        return []
    front = result.pareto(x, y)
    groups = {}
    sweeps = {r["sweep"] for r in rows}
    for i, a, b in pts:
        g = groups.setdefault(rows[i]["sweep"] if len(sweeps) > 1 else "points", {"x": [], "y": [], "text": []})
        g["x"].append(a)
        g["y"].append(b)
        g["text"].append(_label(result, rows[i]))
    spec = figures.scatter_groups(
        [dict(name=k, **v) for k, v in groups.items()], f"Pareto front: {ys} against {xs}",
        xs, ys, front={"x": [result.value(rows[i], xs) for i in front], "y": [result.value(rows[i], ys) for i in front],
                       "text": [_label(result, rows[i]) for i in front]})
    table_rows = [[Cell.text(_label(result, rows[i])), _cell(result.value(rows[i], xs)),
                   _cell(result.value(rows[i], ys))] for i in front]
    return [page.figure(spec, height=420),
            f"<p>{len(front)} of {len(pts)} points are on the front (no other point is better in both).</p>",
            table(["point", xs, ys], table_rows, "pareto")]


def axis_figures(page: Page, result) -> list[str]:
    rows = result.ok_rows()
    metrics = [m for m in LINE_METRICS if m in result.metrics()]
    parts = []
    for axis in result.axes()[:MAX_AXIS_PLOTS]:
        xs = result.numeric_axis(axis, rows)
        if not rows or any(x is None for x in xs):
            xs = [str(r["params"].get(axis)) for r in rows]
        for metric in metrics:
            others = [a for a in result.axes() if a != axis]
            groups = {}
            for r, x in zip(rows, xs):
                name = ", ".join(f"{a.split('.')[-1]}={r['params'].get(a)}" for a in others) or metric
                g = groups.setdefault(name, {"x": [], "y": [], "text": [], "mode": "lines+markers"})
                g["x"].append(x)
                g["y"].append(result.value(r, metric))
                g["text"].append(_label(result, r))
            spec = figures.scatter_groups([dict(name=k, **v) for k, v in groups.items()], f"{metric} along {axis}",
                                          axis, metric)
            parts.append(page.figure(spec, height=340))
    return [f'<div class="grid2">{"".join(parts)}</div>'] if parts else []


def build(result, *, x: str | None = None, y: str | None = None, **_) -> Page:
    rows = result.rows
    ok = result.ok_rows()
    page = Page("sweep", f"Sweep {result.name}", f"{len(rows):,} points in {result.db}", result.to_dict())
    failed = len(rows) - len(ok)
    page.section("Summary").add(cards([
        Card("points", num(len(rows))), Card("ok", num(len(ok))),
        Card("failed", num(failed), "see the table's error column" if failed else ""),
        Card("axes", esc(", ".join(result.axes()) or "-"))]))
    pair = (x, y) if x and y else result.default_pareto()
    if pair:
        page.section("Pareto front").add(*pareto_figure(page, result, *pair))
    page.section("Along each axis").add(*axis_figures(page, result))
    axes = result.axes()
    metrics = [m for m in TABLE_METRICS if m in result.metrics()]
    body = [[Cell.text(r["key"]), *(_cell(r["params"].get(a)) for a in axes), Cell.text(r["status"]),
             *(_metric_cell(result.value(r, m), f"points.{i}.metrics.{m}") for m in metrics),
             Cell.text(f"{r['error_kind']}: {r['error']}" if r["status"] != "ok" else "")] for i, r in enumerate(rows)]
    page.section("Points").add(table(["key", *axes, "status", *metrics, "error"], body, "points"))
    return page
