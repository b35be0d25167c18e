"""The compare page (`archsim compare --html`): the systems side by side, then each in detail.

Side by side means one column per system and one row per question a reader asks (how fast per user,
how much in total, at what energy and cost, what limits it, what would help), the best value of each
row marked; then the same numbers as bars, and each system's full run report, folded.
"""
from __future__ import annotations

from archsim.report.analysis import KIND_TITLES
from archsim.report.compare import WHATIF_COLUMNS
from archsim.report.economics import dollars, joules, watts
from archsim.report.html import figures
from archsim.report.html.document import Page, esc, num
from archsim.report.html.run import (bottleneck_parts, energy_parts, headline, heatmap_parts, legend, notes_parts,
                                     operators_parts, roofline_parts, stack_bar, summary_cards, whatif_parts)
from archsim.units import format_quantity

# (label, attribute, formatter, better: 'min' | 'max' | None)
METRIC_ROWS = (
    ("tokens/s per user", "tokens_per_s_per_user", lambda v: f"{v:,.1f}", "max"),
    ("tokens/s (whole system)", "tokens_per_s", lambda v: f"{v:,.1f}", "max"),
    ("chips used", "chips_used", lambda v: f"{v:,}", None),
    ("roofline bound", "roofline_latency_s", lambda v: format_quantity(v, "time"), None),
    ("energy per token", "energy_per_token_j", joules, "min"),
    ("average power", "avg_power_w", watts, None),
    ("cost per million tokens", "cost_per_million_tokens", dollars, "min"),
)


def _best(values: list, better: str | None) -> set[int]:
    have = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if better is None or len(have) < 2:
        return set()
    target = (min if better == "min" else max)(v for v, _ in have)
    return {i for v, i in have if v == target}


def _metric_row(label: str, values: list, keys: list, text, better) -> str:
    best = _best(values, better)
    cells = []
    for i, (v, key) in enumerate(zip(values, keys)):
        if key is None:
            cells.append('<td class="n">-</td>')
            continue
        cls = "n best" if i in best else "n"
        cells.append(f'<td class="{cls}">{num(v, text(v) if v is not None else "-", key)}</td>')
    hint = {"min": " (lower is better)", "max": " (higher is better)"}.get(better, "")
    return f"<tr><td>{esc(label)}<span class=\"note\">{esc(hint)}</span></td>{''.join(cells)}</tr>"


def side_by_side(comparison) -> str:
    rows = comparison.rows
    done = [(i, row.result) for i, row in enumerate(rows) if row.result is not None]
    head = "".join(f"<th>{esc(row.chip)}</th>" for row in rows)
    lines = []
    phase = done[0][1].phase if done else ""
    if done:
        label, _, _ = headline(done[0][1])
        values = [headline(row.result)[2] if row.result else None for row in rows]
        keys = [f"results.{i}." + headline(row.result)[1] if row.result else None for i, row in enumerate(rows)]
        lines.append(_metric_row(label, values, keys, lambda v: format_quantity(v, "time"), "min"))
    for label, attr, text, better in METRIC_ROWS:
        values = [getattr(row.result, attr) if row.result else None for row in rows]
        keys = [f"results.{i}.{attr}" if row.result and getattr(row.result, attr) is not None else None
                for i, row in enumerate(rows)]
        lines.append(_metric_row(label, values, keys, text, better))
    cells = []
    for i, row in enumerate(rows):
        if row.result is None:
            cells.append(f'<td class="bad">infeasible: {esc(row.infeasible)}</td>')
            continue
        cp = row.result.critical_path
        share = num(cp["bottleneck_share"], key=f"rows.{i}.bottleneck_share", quantity="pct") if cp else ""
        cells.append(f"<td class=\"wrap\">{esc(cp.get('bottleneck_kind', row.result.bottleneck))} {share}"
                     f"{stack_bar(cp.get('by_resource_kind_s', {}), cp.get('time_s', 0))}</td>")
    lines.append(f"<tr><td>bottleneck (share of the critical path)</td>{''.join(cells)}</tr>")
    kinds = [k for k in WHATIF_COLUMNS if any(k in r.whatif for _, r in done)]
    for k in kinds:
        values = [row.result.whatif.get(k) if row.result else None for row in rows]
        keys = [f"results.{i}.whatif.{k}" if v is not None else None for i, v in enumerate(values)]
        lines.append(_metric_row(f"speedup with {KIND_TITLES.get(k, k)} 2x", values, keys,
                                 lambda v: f"{v:.2f}x", None))
    for label, attr in (("mapper", None), ("fidelity", "fidelity")):
        values = [(row.result.provenance.get("mapper") if attr is None else getattr(row.result, attr))
                  if row.result else "-" for row in rows]
        lines.append(f"<tr><td>{label}</td>" + "".join(f"<td>{esc(v)}</td>" for v in values) + "</tr>")
    kinds_seen = {}
    for _, r in done:
        kinds_seen.update(r.critical_path.get("by_resource_kind_s", {}))
    return (f'<div class="scroll"><table class="metrics" id="side-by-side"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(lines)}</tbody></table></div>" + legend(kinds_seen) +
            f'<p class="note">Marked green: the best value of a row. {esc(phase)} phase; bars show the critical path '
            "by resource class.</p>")


def verdict(comparison) -> str:
    """The comparison in one sentence (the line `archsim compare` ends with)."""
    done = comparison.results()
    if len(done) < 2:
        return ""
    label = {"prefill": "TTFT", "decode": "TPOT"}.get(done[0].phase, "latency")
    best = max(done, key=lambda r: r.tokens_per_s)
    worst = min(done, key=lambda r: r.tokens_per_s)
    fastest = min(done, key=lambda r: r.latency_s)
    text = (f"Highest throughput: <b>{esc(best.chip)}</b> ({best.tokens_per_s / worst.tokens_per_s:,.2f}x "
            f"{esc(worst.chip)}); lowest {label}: <b>{esc(fastest.chip)}</b>")
    priced = [r for r in done if r.cost_per_million_tokens is not None]
    if len(priced) > 1:
        cheapest = min(priced, key=lambda r: r.cost_per_million_tokens)
        text += f"; lowest cost per token: <b>{esc(cheapest.chip)}</b>"
    return f"<p>{text}.</p>"


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
