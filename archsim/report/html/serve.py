"""The serving page (`archsim serve --html`): what each user saw (latency percentiles and CDFs), what the
system carried (throughput, goodput, load over time), at what energy and cost; the rate search's
points when there was one. Reads a ServingResult by its attributes (report/ never imports serving/)."""
from __future__ import annotations

import numpy as np

from archsim.report.economics import joules, watts
from archsim.report.html import figures
from archsim.report.html.document import Card, Cell, Page, cards, esc, notes_list, num, table
from archsim.report.markup.summaries import _ms, latency_table, serve_summary_cards
from archsim.report.tables import flatten

def latency_cdfs(page: Page, result) -> str:
    req = result.per_request
    slo = result.summary.get("slo") or {}
    parts = []
    for key, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "end-to-end latency"),
                       ("queue_s", "queueing delay")):
        values = np.asarray(req.get(key, []), dtype=float) * 1e3
        limit = slo.get(key)
        parts.append(page.figure(figures.cdf([(label, values)], f"{label}: cumulative distribution", "ms",
                                             None if limit is None else limit * 1e3), height=300))
    return f'<div class="grid2">{"".join(parts)}</div>'


def load_parts(page: Page, result, prefix: str = "") -> list[str]:
    load = result.summary["load"]
    ts = result.timeseries
    items = [Card("batch size", num(load["batch_size_mean"], key=prefix + "summary.load.batch_size_mean"),
                  f"time-weighted mean; max {load['batch_size_max']:,}"),
             Card("KV cache used", num(load["kv_used_fraction_mean"], key=prefix + "summary.load.kv_used_fraction_mean",
                                       quantity="pct"), f"mean; max {load['kv_used_fraction_max']:.1%}"),
             Card("requests waiting", num(load["waiting_mean"], key=prefix + "summary.load.waiting_mean"),
                  f"mean; max {load['waiting_max']:,}"),
             Card("replicas busy", num(load["busy_fraction"], key=prefix + "summary.load.busy_fraction", quantity="pct"))]
    parts = [cards(items)]
    if ts:
        series = [("batch size", ts["batch_size"], "sequences"),
                  ("KV cache used", np.asarray(ts["kv_used_fraction"]) * 100, "KV used (%)"),
                  ("requests waiting", ts["waiting"], "waiting")]
        parts.append(page.figure(figures.timeseries(ts["time_s"], series, "Load over simulated time (all replicas)"),
                                 height=520))
    return parts


def search_parts(page: Page, search, prefix: str = "") -> list[str]:
    points = sorted(search.points, key=lambda p: p["rate"])
    best = search.best_rate
    rows = [[Cell.of(p["rate"], text=f"{p['rate']:,.3f}"), Cell.text("meets" if p["meets"] else "misses"),
             Cell.text("yes" if p["stable"] else "no"), Cell(_ms(p["ttft_p99_s"]), p["ttft_p99_s"]),
             Cell(_ms(p["tpot_p99_s"]), p["tpot_p99_s"]), Cell.of(p["output_tokens_per_s"]),
             Cell.of(p["goodput_fraction"], "pct")] for p in points]
    head = (f"<p>The highest Poisson rate that meets {esc(search.criterion)}: "
            + (num(best, f"{best:,.3f} requests/s", prefix + "max_rate_requests_per_s") if best is not None
               else "<b>none found</b>") + "</p>")
    groups = [{"name": "P99 TTFT", "x": [p["output_tokens_per_s"] for p in points],
               "y": [None if p["ttft_p99_s"] is None else p["ttft_p99_s"] * 1e3 for p in points],
               "text": [f"rate {p['rate']:,.3f}/s" for p in points], "mode": "lines+markers"},
              {"name": "P99 TPOT", "x": [p["output_tokens_per_s"] for p in points],
               "y": [None if p["tpot_p99_s"] is None else p["tpot_p99_s"] * 1e3 for p in points],
               "text": [f"rate {p['rate']:,.3f}/s" for p in points], "mode": "lines+markers"}]
    fig = page.figure(figures.scatter_groups(groups, "Throughput against P99 latency, one point per rate tried",
                                             "output tokens/s", "P99 latency (ms)"), height=360)
    return [head, fig, table(["rate (requests/s)", "SLO", "stable", "P99 TTFT", "P99 TPOT", "output tokens/s",
                              "goodput"], rows, "rate-search")]


def setup_table(result) -> str:
    flat = flatten(result.setup)
    flat.update({f"table.{k}": v for k, v in flatten(result.table).items()})
    return table(["setting", "value"], [[k, Cell.of(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                         else Cell.text(v)] for k, v in flat.items()])


def build(result, *, search=None, trace: str | None = None, **_) -> Page:
    st = result.setup
    data = result.to_dict()
    if search is not None:
        data["rate_search"] = search.to_dict()
    page = Page("serve", f"Serving {result.workload} on {result.chip}",
                f"{st['replicas']} replica(s) x {st['replica_mapping']}, {st['scheduler']['policy']} batching; "
                f"{result.requests_description}", data)
    if trace:
        page.links.append(("Perfetto timeline (open it in ui.perfetto.dev)", trace))
    page.section("Summary").add(serve_summary_cards(result))
    page.section("Latency").add(latency_table(result), latency_cdfs(page, result))
    page.section("Load over time").add(*load_parts(page, result))
    if search is not None:
        page.section("Rate search").add(*search_parts(page, search, "rate_search."))
    e = result.energy
    page.section("Energy and cost").add(cards([
        Card("energy", num(e.get("energy_j"), joules(e.get("energy_j")), "energy.energy_j")),
        Card("dynamic", num(e.get("dynamic_j"), joules(e.get("dynamic_j")))),
        Card("static power", num(e.get("static_power_w"), watts(e.get("static_power_w"))))]),
        notes_list([n for n in (e.get("note"), (result.cost or {}).get("note")) if n]))
    page.section("Setup", collapsed=True).add(setup_table(result))
    s = result.summary
    page.section("Notes and provenance").add(
        notes_list(result.notes + [f"preemptions: {s['preemptions']['recompute']:,} by recompute, "
                                   f"{s['preemptions']['swap']:,} by swap; iterations: {s['iterations']:,}"]),
        table(["", ""], [[k, v] for k, v in result.provenance.items()]))
    return page
