"""The compare page (`archsim compare --html`): the systems side by side, then each in detail.

Side by side means one column per system and one row per question a reader asks (how fast per user,
how much in total, at what energy and cost, what limits it, what would help), the best value of each
row marked; then the same numbers as bars, and each system's full run report, folded.
"""
from __future__ import annotations

from archsim.report.analysis import KIND_TITLES, WHATIF_COLUMNS
from archsim.report.html import figures
from archsim.report.html.document import Page, esc
from archsim.report.markup.summaries import headline, side_by_side, summary_cards, verdict
from archsim.report.html.run import (bottleneck_parts, energy_parts, heatmap_parts, notes_parts, operators_parts,
                                     roofline_parts, whatif_parts)

def charts(page: Page, comparison) -> list[str]:
    done = comparison.results()
    if not done:
        return []
    names = [r.chip for r in done]
    scale, unit = figures.reading_unit(max(r.latency_s for r in done))
    label, _, _ = headline(done[0])
    small = []
    for title, values, y, log in (
            (f"{label} ({unit}, lower is better)", [headline(r)[2] / scale for r in done], unit, False),
            ("tokens/s per user (higher is better)", [r.tokens_per_s_per_user for r in done], "tokens/s", False),
            ("tokens/s, whole system (higher is better)", [r.tokens_per_s for r in done], "tokens/s", False),
            ("energy per token (J, lower is better)", [r.energy_per_token_j for r in done], "J", False),
            ("cost per million tokens ($, lower is better)", [r.cost_per_million_tokens for r in done], "$", False)):
        if all(v is None for v in values):
            continue
        small.append(page.figure(figures.bars(names, [(title.split(" (")[0], values)], title, y, log), height=300))
    parts = [f'<div class="grid2">{"".join(small)}</div>']
    kinds = list(dict.fromkeys(k for r in done for k in r.critical_path.get("by_resource_kind_s", {})))
    if kinds:
        series = [(KIND_TITLES.get(k, k), [r.critical_path.get("by_resource_kind_s", {}).get(k, 0.0) / scale
                                           for r in done]) for k in kinds]
        colors = [figures.KIND_COLORS.get(k, "#999") for k in kinds]
        parts.append(page.figure(figures.bars(names, series, f"Critical path by resource class ({unit}): what each "
                                              "system waits on", unit, stacked_bars=True, colors=colors), height=360))
    whatif_kinds = [k for k in WHATIF_COLUMNS if any(k in r.whatif for r in done)]
    if whatif_kinds:
        series = [(KIND_TITLES.get(k, k), [r.whatif.get(k) for r in done]) for k in whatif_kinds]
        colors = [figures.KIND_COLORS.get(k, "#999") for k in whatif_kinds]
        parts.append(page.figure(figures.bars(names, series, "What-if: speedup with one resource class 2x as fast",
                                              "speedup (x)", colors=colors, text_format="%{y:.3f}x"), height=360))
    return parts


def build(comparison, *, trace: str | None = None, **_) -> Page:
    done = comparison.results()
    phase = done[0].phase if done else ""
    chips = " vs ".join(row.chip for row in comparison.rows)
    data = dict(comparison.to_dict(), results=[row.result.to_dict() if row.result else None
                                               for row in comparison.rows])
    page = Page("compare", f"{comparison.workload} {phase}: {chips}", comparison.scenario, data)
    if trace:
        page.links.append(("Perfetto trace", trace))
    page.section("Side by side").add(verdict(comparison), side_by_side(comparison))
    page.section("Charts").add(*charts(page, comparison))
    for i, row in enumerate(comparison.rows):
        s = page.section(f"{row.chip} in detail", collapsed=True)
        r = row.result
        if r is None:
            s.add(f'<p class="bad">infeasible: {esc(row.infeasible)}</p>')
            continue
        prefix = f"results.{i}."
        s.add(summary_cards(r, prefix))
        for title, parts in (("Where the time goes", bottleneck_parts(page, r, prefix)),
                             ("Operators", operators_parts(page, r, full=False)),
                             ("Roofline", roofline_parts(page, r)), ("What-if", whatif_parts(page, r, prefix)),
                             ("Wafer heatmaps", heatmap_parts(page, r)),
                             ("Energy and cost", energy_parts(page, r, prefix)),
                             ("Notes and provenance", notes_parts(page, r))):
            if parts:
                s.add(f"<h3>{esc(title)}</h3>", *parts)
    return page
