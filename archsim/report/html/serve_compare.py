"""The serving comparison page (`archsim compare --serve --html`): the same request stream on each system,
side by side (one column per system, the best value of each row marked), the latency CDFs and load of all
systems overlaid, the rate searches, then each system's serving report, folded."""
from __future__ import annotations

import numpy as np

from archsim.report.economics import dollars, joules
from archsim.report.html import figures
from archsim.report.html.document import Page, esc, num
from archsim.report.html.serve import latency_cdfs, load_parts, search_parts
from archsim.report.markup.summaries import _best, latency_table, serve_summary_cards


def _ms_text(v) -> str:
    return f"{v * 1e3:,.2f} ms"


# (label, path into the ServingResult's JSON under rows.i.result, text, better)
ROWS = (
    ("output tokens/s", "summary.throughput.output_tokens_per_s", lambda v: f"{v:,.1f}", "max"),
    ("requests/s finished", "summary.throughput.requests_per_s", lambda v: f"{v:,.3f}", "max"),
    ("P50 TTFT", "summary.latency.ttft_s.p50", _ms_text, "min"),
    ("P99 TTFT", "summary.latency.ttft_s.p99", _ms_text, "min"),
    ("P50 TPOT", "summary.latency.tpot_s.p50", _ms_text, "min"),
    ("P99 TPOT", "summary.latency.tpot_s.p99", _ms_text, "min"),
    ("P99 end-to-end", "summary.latency.e2e_s.p99", _ms_text, "min"),
    ("requests meeting the SLO", "summary.slo.fraction_meeting", lambda v: f"{v:.1%}", "max"),
    ("energy per output token", "energy.energy_per_output_token_j", joules, "min"),
    ("cost per million output tokens", "cost.cost_per_million_tokens_usd", dollars, "min"),
    ("chips used", "setup.chips_used", lambda v: f"{v:,}", None),
    ("KV tokens per replica", "setup.kv_capacity_tokens_per_replica", lambda v: f"{v:,}", None),
    ("batch size (mean)", "summary.load.batch_size_mean", lambda v: f"{v:,.1f}", None),
)


def _get(d: dict, path: str):
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def side_by_side(comparison, data: dict) -> str:
    rows = comparison.rows
    head = "".join(f"<th>{esc(r['chip'])}</th>" for r in rows)
    lines = []
    searched = any(r["search"] is not None for r in rows)
    if searched:
        values = [r["search"].best_rate if r["search"] is not None else None for r in rows]
        best = _best(values, "max")
        cells = "".join(
            f'<td class="n{" best" if i in best else ""}">'
            + (num(v, f"{v:,.3f}", f"rows.{i}.rate_search.max_rate_requests_per_s") if v is not None else "-")
            + "</td>" for i, v in enumerate(values))
        lines.append(f"<tr><td>highest rate meeting the SLO (requests/s)</td>{cells}</tr>")
    for label, path, text, better in ROWS:
        values = [_get(d["result"], path) if d["result"] else None for d in data["rows"]]
        if all(v is None for v in values):
            continue
        best = _best(values, better)
        cells = "".join(f'<td class="n{" best" if i in best else ""}">'
                        + (num(v, text(v), f"rows.{i}.result.{path}") if isinstance(v, (int, float)) else "-")
                        + "</td>" for i, v in enumerate(values))
        hint = {"min": "lower is better", "max": "higher is better"}.get(better, "")
        lines.append(f'<tr><td>{esc(label)}<span class="note">{esc(hint)}</span></td>{cells}</tr>')
    mapping = "".join(f"<td>{esc(str(r['result'].setup['replicas']) + ' x ' + r['result'].setup['replica_mapping'])}"
                      "</td>" if r["result"] else f'<td class="bad">{esc(r["error"] or "no rate met the SLO")}</td>'
                      for r in rows)
    lines.append(f"<tr><td>replicas x mapping</td>{mapping}</tr>")
    stable = "".join((f'<td class="{"good" if r["result"].summary["stability"]["stable"] else "bad"}">'
                      f'{"stable" if r["result"].summary["stability"]["stable"] else "UNSTABLE"}</td>')
                     if r["result"] else "<td>-</td>" for r in rows)
    lines.append(f"<tr><td>stability</td>{stable}</tr>")
    return (f'<div class="scroll"><table class="metrics" id="side-by-side"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(lines)}</tbody></table></div>"
            '<p class="note">Marked green: the best value of a row. Every system serves the same requests (same '
            "seed)" + ("; with the rate search, each system's numbers are at its own highest rate meeting the SLO"
                       if searched else "") + ". Energy and cost charge every chip of each system.</p>")


def charts(page: Page, comparison) -> list[str]:
    done = [r for r in comparison.rows if r["result"] is not None]
    if not done:
        return []
    parts = []
    cdfs = []
    for key, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "end-to-end latency")):
        series = [(r["chip"], np.asarray(r["result"].per_request[key], dtype=float) * 1e3) for r in done]
        slo = done[0]["result"].summary.get("slo", {}).get(key)
        cdfs.append(page.figure(figures.cdf(series, f"{label}: cumulative distribution, every system", "ms",
                                            None if slo is None else slo * 1e3), height=320))
    names = [r["chip"] for r in done]
    cdfs.append(page.figure(figures.bars(names, [("output tokens/s", [r["result"].summary["throughput"]
                                                                       ["output_tokens_per_s"] for r in done])],
                                         "Output tokens/s (higher is better)", "tokens/s"), height=320))
    parts.append(f'<div class="grid2">{"".join(cdfs)}</div>')
    groups = [{"name": r["chip"], "x": [float(f"{t:.6g}") for t in r["result"].timeseries["time_s"]],
               "y": [float(f"{v:.6g}") for v in r["result"].timeseries["batch_size"]], "text": None,
               "mode": "lines"} for r in done if r["result"].timeseries]
    if groups:
        spec = figures.scatter_groups(groups, "Sequences in the running iterations over simulated time (all replicas)",
                                      "simulated time (s)", "sequences")
        for trace in spec["data"]:
            trace["hovertemplate"] = "t %{x:.4g} s: %{y:.4g}<extra>%{fullData.name}</extra>"
            trace["line"] = {"dash": "solid", "width": 1.2, "shape": "hv"}
        parts.append(page.figure(spec, height=340))
    return parts


def build(comparison, **_) -> Page:
    data = comparison.to_dict()
    chips = " vs ".join(r["chip"] for r in comparison.rows)
    first = next((r["result"] for r in comparison.rows if r["result"] is not None), None)
    page = Page("serve-compare", f"Serving {comparison.workload}: {chips}",
                first.requests_description if first else "", data)
    page.section("Side by side").add(side_by_side(comparison, data))
    page.section("Charts").add(*charts(page, comparison))
    for i, r in enumerate(comparison.rows):
        s = page.section(f"{r['chip']} in detail", collapsed=True)
        if r["result"] is None:
            s.add(f'<p class="bad">{esc(r["error"] or "no rate met the SLO")}</p>')
            continue
        prefix = f"rows.{i}.result."
        s.add(serve_summary_cards(r["result"], prefix), latency_table(r["result"], prefix),
              latency_cdfs(page, r["result"]), *load_parts(page, r["result"], prefix))
        if r["search"] is not None:
            s.add("<h3>Rate search</h3>", *search_parts(page, r["search"], f"rows.{i}.rate_search."))
    return page
