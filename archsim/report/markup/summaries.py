"""The pieces of the pages that also make the notebook summaries (`_repr_html_`): summary cards, the
side-by-side table of a comparison, the latency table of a serving run. Static HTML (no script), and
importing nothing that imports a result module, so the result classes can use them without an import
cycle (report/result.py -> report/markup/notebook.py -> here)."""
from __future__ import annotations

from archsim.report.analysis import KIND_TITLES, WHATIF_COLUMNS
from archsim.report.economics import dollars, joules, watts
from archsim.report.markup.elements import Card, Cell, cards, esc, num, table
from archsim.units import format_quantity

TABLE_METRICS = ("latency_s", "tpot_s", "ttft_s", "tokens_per_s", "tokens_per_s_per_user", "bottleneck",
                 "energy_per_token_j", "cost_per_million_tokens")


def scenario_text(r) -> str:
    text = f"batch {r.batch}, {r.dtype}"
    if r.prompt_len:
        text += f", prompt {r.prompt_len:,}"
    if r.context_len:
        text += f", context {r.context_len:,}"
    return text


def headline(r, prefix: str = "") -> tuple[str, str, str]:
    """(label, JSON key, value) of the run's main latency."""
    if r.ttft_s is not None:
        return "time to first token", prefix + "ttft_s", r.ttft_s
    if r.tpot_s is not None:
        return "time per output token", prefix + "tpot_s", r.tpot_s
    return "latency", prefix + "latency_s", r.latency_s


def summary_cards(r, prefix: str = "") -> str:
    label, key, value = headline(r, prefix)
    cp = r.critical_path
    items = [Card(label, num(value, key=key, quantity="time")),
             Card("tokens/s" if r.phase != "prefill" else "prompt tokens/s",
                  num(r.tokens_per_s, key=prefix + "tokens_per_s"), "whole system"),
             Card("tokens/s per user", num(r.tokens_per_s_per_user, key=prefix + "tokens_per_s_per_user")),
             Card("chips used", num(r.chips_used, key=prefix + "chips_used"),
                  f"of {r.peaks.get('chips', r.chips_used):,}" if r.peaks else ""),
             Card("bottleneck", esc(cp.get("bottleneck_kind", r.bottleneck)) + (
                 " " + num(cp["bottleneck_share"], key=prefix + "critical_path.bottleneck_share", quantity="pct")
                 if cp.get("bottleneck_share") is not None else ""), "share of the critical path"),
             Card("roofline bound", num(r.roofline_latency_s, key=prefix + "roofline_latency_s", quantity="time"),
                  "every chip at peak on every operator")]
    if r.energy_per_token_j is not None:
        items.append(Card("energy per token", num(r.energy_per_token_j, joules(r.energy_per_token_j),
                                                  prefix + "energy_per_token_j"), "whole system"))
    if r.avg_power_w is not None:
        items.append(Card("average power", num(r.avg_power_w, watts(r.avg_power_w), prefix + "avg_power_w")))
    if r.cost_per_million_tokens is not None:
        items.append(Card("cost per million tokens", num(r.cost_per_million_tokens,
                                                         dollars(r.cost_per_million_tokens),
                                                         prefix + "cost_per_million_tokens"),
                          "capital + electricity"))
    return cards(items)


def stack_bar(parts: dict[str, float], total: float) -> str:
    """A one-line stacked bar (widths only: the numbers are in the table beside it)."""
    spans = "".join(f'<span class="{esc(k)}" style="width:{100 * v / total:.3f}%" title="{esc(k)}"></span>'
                    for k, v in parts.items() if v > 0 and total > 0)
    return f'<div class="stack">{spans}</div>'


def legend(parts: dict[str, float]) -> str:
    return '<p class="legend">' + "".join(f'<span class="key {esc(k)}"></span>{esc(KIND_TITLES.get(k, k))} '
                                          for k, v in parts.items() if v > 0) + "</p>"


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
        cells.append(f"<td class=\"neck\">{esc(cp.get('bottleneck_kind', row.result.bottleneck))} {share}"
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


LATENCIES = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "inter-token"), ("e2e_s", "end-to-end"),
             ("queue_s", "queueing"))
STATS = ("mean", "p50", "p90", "p99", "max")


def _ms(value, key: str | None = None) -> str:
    return num(value, "-" if value is None else f"{value * 1e3:,.2f} ms", key)


def serve_summary_cards(result, prefix: str = "") -> str:
    s = result.summary
    lat, tp = s["latency"], s["throughput"]
    items = [Card("requests finished", num(s["finished"], key=prefix + "summary.finished"),
                  f"of {s['requests']:,}; {s['rejected']:,} rejected, {s['unfinished']:,} unfinished"),
             Card("output tokens/s", num(tp["output_tokens_per_s"], key=prefix + "summary.throughput.output_tokens_per_s"),
                  f"{tp['total_tokens_per_s']:,.1f} with prompts"),
             Card("requests/s", num(tp["requests_per_s"], key=prefix + "summary.throughput.requests_per_s"),
                  "offered " + (f"{tp['offered_requests_per_s']:,.3f}/s" if tp.get("offered_requests_per_s")
                                else "-")),
             Card("P50 / P99 TTFT", _ms(lat["ttft_s"]["p50"], prefix + "summary.latency.ttft_s.p50") + " / "
                  + _ms(lat["ttft_s"]["p99"], prefix + "summary.latency.ttft_s.p99")),
             Card("P50 / P99 TPOT", _ms(lat["tpot_s"]["p50"], prefix + "summary.latency.tpot_s.p50") + " / "
                  + _ms(lat["tpot_s"]["p99"], prefix + "summary.latency.tpot_s.p99")),
             Card("P99 end-to-end", _ms(lat["e2e_s"]["p99"], prefix + "summary.latency.e2e_s.p99"))]
    slo = s.get("slo")
    if slo:
        items.append(Card("goodput", num(slo["fraction_meeting"], key=prefix + "summary.slo.fraction_meeting", quantity="pct"),
                          f"{slo['goodput_requests_per_s']:,.3f} requests/s meet the SLO; P99s "
                          + ("met" if slo["p99_met"] else "MISSED")))
    e = result.energy
    if e.get("energy_per_output_token_j") is not None:
        items.append(Card("energy per output token", num(e["energy_per_output_token_j"],
                                                         joules(e["energy_per_output_token_j"]),
                                                         prefix + "energy.energy_per_output_token_j"),
                          f"average power {watts(e.get('avg_power_w'))}"))
    c = result.cost
    if c and c.get("cost_per_million_tokens_usd") is not None:
        items.append(Card("cost per million output tokens", num(c["cost_per_million_tokens_usd"],
                                                                dollars(c["cost_per_million_tokens_usd"]),
                                                                prefix + "cost.cost_per_million_tokens_usd"),
                          "at this load"))
    stable = s["stability"]
    items.append(Card("stability", f'<span class="{"good" if stable["stable"] else "bad"}">'
                                   f'{"stable" if stable["stable"] else "UNSTABLE"}</span>', stable["reason"]))
    return cards(items)


def latency_table(result, prefix: str = "") -> str:
    lat = result.summary["latency"]
    rows = []
    for key, label in LATENCIES:
        st = lat.get(key)
        if not st:
            continue
        rows.append([label, *(Cell(_ms(st[q], f"{prefix}summary.latency.{key}.{q}"), st[q]) for q in STATS),
                     Cell.of(st["count"])])
    return table(["latency", *STATS, "count"], rows, "latency")


def _cell(v) -> Cell:
    return Cell.of(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else Cell.text(v)


