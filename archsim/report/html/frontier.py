"""The frontier page (`archsim frontier --html`): tokens/s per user against each efficiency metric, every
system size and batch a point, the Pareto frontier over all systems as a staircase (the points the sweep
marked: FrontierResult.points[].frontier), and every point and skipped point in tables."""
from __future__ import annotations

from archsim.report.html import figures
from archsim.report.html.document import Cell, Page, table

SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "x", "cross", "star")


def metric_figure(page: Page, result, metric: str, label: str) -> str:
    points = [p for p in result.points if getattr(p, metric) is not None]
    if not points:
        return ""
    groups = []
    systems = list(dict.fromkeys(p.system for p in points))
    for system in systems:
        sizes = sorted({p.chips for p in points if p.system == system}, reverse=True)
        for k, chips in enumerate(sizes):
            mine = sorted((p for p in points if p.system == system and p.chips == chips), key=lambda p: p.batch)
            groups.append({"name": f"{system} x{chips}" if len(sizes) > 1 else system,
                           "x": [p.per_user for p in mine], "y": [getattr(p, metric) for p in mine],
                           "text": [f"{p.system} x{p.chips}, batch {p.batch}" for p in mine],
                           "mode": "lines+markers", "symbol": SYMBOLS[k % len(SYMBOLS)]})
    front = sorted((p for p in points if metric in p.frontier.split(";")), key=lambda p: p.per_user)
    spec = figures.scatter_groups(groups, f"{label} against tokens/s per user", "tokens/s per user (interactivity)",
                                  label, log=True,
                                  front={"x": [p.per_user for p in front], "y": [getattr(p, metric) for p in front],
                                         "text": [f"{p.system} x{p.chips}, batch {p.batch}" for p in front],
                                         "shape": "vh"})
    # one colour per system, whatever its sizes
    for trace in spec["data"]:
        for i, system in enumerate(systems):
            if trace["name"].split(" x")[0] == system:
                trace["marker"]["color"] = figures.PALETTE[i % len(figures.PALETTE)]
                trace["line"]["color"] = figures.PALETTE[i % len(figures.PALETTE)]
    return page.figure(spec, height=440)


def build(result, **_) -> Page:
    page = Page("frontier", "Throughput-interactivity frontier", result.title, result.to_dict())
    metrics = {"per_chip": "tokens/s per chip", "per_kw": "tokens/s per kW", "per_dollar": "tokens per dollar"}
    page.section("Frontier").add(
        "<p>Each point is one decode step at one batch size on one system size; the black staircase is the "
        "Pareto frontier over all systems (no point is better on both axes). Hover a point for its system, size "
        "and batch.</p>",
        *(metric_figure(page, result, m, label) for m, label in metrics.items()))
    rows = [[p.system, Cell.of(p.chips, key=f"points.{i}.chips"), Cell.of(p.batch, key=f"points.{i}.batch"),
             Cell.of(p.per_user, key=f"points.{i}.per_user"), Cell.of(p.tokens_per_s, key=f"points.{i}.tokens_per_s"),
             Cell.of(p.per_chip), Cell.of(p.per_kw), Cell.of(p.per_dollar), Cell.text(p.frontier.replace(";", ", "))]
            for i, p in enumerate(result.points)]
    page.section("Points").add(table(["system", "chips", "batch", "tokens/s per user", "tokens/s", "per chip",
                                      "per kW", "tokens per $", "on the frontier of"], rows, "points"))
    if result.skipped:
        page.section("Skipped", collapsed=True).add(table(
            ["system", "chips", "batch", "reason"], [[s.system, s.chips, s.batch, s.reason] for s in result.skipped]))
    return page
