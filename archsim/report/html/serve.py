"""The serving page (`archsim serve --html`): what each user saw (latency percentiles and CDFs), what the
system carried (throughput, goodput, load over time), at what energy and cost; the rate search's
points when there was one. Reads a ServingResult by its attributes (report/ never imports serving/)."""
from __future__ import annotations

import numpy as np

from archsim.report.economics import dollars, joules, watts
from archsim.report.html import figures
from archsim.report.html.document import Card, Cell, Page, cards, esc, notes_list, num, table
from archsim.report.tables import flatten

LATENCIES = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "inter-token"), ("e2e_s", "end-to-end"),
             ("queue_s", "queueing"))
STATS = ("mean", "p50", "p90", "p99", "max")


def _ms(value, key: str | None = None) -> str:
    return num(value, "-" if value is None else f"{value * 1e3:,.2f} ms", key)


def summary_cards(result) -> str:
    s = result.summary
    lat, tp = s["latency"], s["throughput"]
    items = [Card("requests finished", num(s["finished"], key="summary.finished"),
                  f"of {s['requests']:,}; {s['rejected']:,} rejected, {s['unfinished']:,} unfinished"),
             Card("output tokens/s", num(tp["output_tokens_per_s"], key="summary.throughput.output_tokens_per_s"),
                  f"{tp['total_tokens_per_s']:,.1f} with prompts"),
             Card("requests/s", num(tp["requests_per_s"], key="summary.throughput.requests_per_s"),
                  "offered " + (f"{tp['offered_requests_per_s']:,.3f}/s" if tp.get("offered_requests_per_s")
                                else "-")),
             Card("P50 / P99 TTFT", _ms(lat["ttft_s"]["p50"], "summary.latency.ttft_s.p50") + " / "
                  + _ms(lat["ttft_s"]["p99"], "summary.latency.ttft_s.p99")),
             Card("P50 / P99 TPOT", _ms(lat["tpot_s"]["p50"], "summary.latency.tpot_s.p50") + " / "
                  + _ms(lat["tpot_s"]["p99"], "summary.latency.tpot_s.p99")),
             Card("P99 end-to-end", _ms(lat["e2e_s"]["p99"], "summary.latency.e2e_s.p99"))]
    slo = s.get("slo")
    if slo:
        items.append(Card("goodput", num(slo["fraction_meeting"], key="summary.slo.fraction_meeting", quantity="pct"),
                          f"{slo['goodput_requests_per_s']:,.3f} requests/s meet the SLO; P99s "
                          + ("met" if slo["p99_met"] else "MISSED")))
    e = result.energy
    if e.get("energy_per_output_token_j") is not None:
        items.append(Card("energy per output token", num(e["energy_per_output_token_j"],
                                                         joules(e["energy_per_output_token_j"]),
                                                         "energy.energy_per_output_token_j"),
                          f"average power {watts(e.get('avg_power_w'))}"))
    c = result.cost
    if c and c.get("cost_per_million_tokens_usd") is not None:
        items.append(Card("cost per million output tokens", num(c["cost_per_million_tokens_usd"],
                                                                dollars(c["cost_per_million_tokens_usd"]),
                                                                "cost.cost_per_million_tokens_usd"),
                          "at this load"))
    stable = s["stability"]
    items.append(Card("stability", f'<span class="{"good" if stable["stable"] else "bad"}">'
                                   f'{"stable" if stable["stable"] else "UNSTABLE"}</span>', stable["reason"]))
    return cards(items)


def latency_table(result) -> str:
    lat = result.summary["latency"]
    rows = []
    for key, label in LATENCIES:
        st = lat.get(key)
        if not st:
            continue
        rows.append([label, *(Cell(_ms(st[q], f"summary.latency.{key}.{q}"), st[q]) for q in STATS),
                     Cell.of(st["count"])])
    return table(["latency", *STATS, "count"], rows, "latency")


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


def load_parts(page: Page, result) -> list[str]:
    load = result.summary["load"]
    ts = result.timeseries
    items = [Card("batch size", num(load["batch_size_mean"], key="summary.load.batch_size_mean"),
                  f"time-weighted mean; max {load['batch_size_max']:,}"),
             Card("KV cache used", num(load["kv_used_fraction_mean"], key="summary.load.kv_used_fraction_mean",
                                       quantity="pct"), f"mean; max {load['kv_used_fraction_max']:.1%}"),
             Card("requests waiting", num(load["waiting_mean"], key="summary.load.waiting_mean"),
                  f"mean; max {load['waiting_max']:,}"),
             Card("replicas busy", num(load["busy_fraction"], key="summary.load.busy_fraction", quantity="pct"))]
    parts = [cards(items)]
    if ts:
        series = [("batch size", ts["batch_size"], "sequences"),
                  ("KV cache used", np.asarray(ts["kv_used_fraction"]) * 100, "KV used (%)"),
                  ("requests waiting", ts["waiting"], "waiting")]
        parts.append(page.figure(figures.timeseries(ts["time_s"], series, "Load over simulated time (all replicas)"),
                                 height=520))
    return parts


def search_parts(page: Page, search) -> list[str]:
    points = sorted(search.points, key=lambda p: p["rate"])
    best = search.best_rate
    rows = [[Cell.of(p["rate"], text=f"{p['rate']:,.3f}"), Cell.text("meets" if p["meets"] else "misses"),
             Cell.text("yes" if p["stable"] else "no"), Cell(_ms(p["ttft_p99_s"]), p["ttft_p99_s"]),
             Cell(_ms(p["tpot_p99_s"]), p["tpot_p99_s"]), Cell.of(p["output_tokens_per_s"]),
             Cell.of(p["goodput_fraction"], "pct")] for p in points]
    head = (f"<p>The highest Poisson rate that meets {esc(search.criterion)}: "
            + (num(best, f"{best:,.3f} requests/s", "rate_search.max_rate_requests_per_s") if best is not None
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
    page.section("Summary").add(summary_cards(result))
    page.section("Latency").add(latency_table(result), latency_cdfs(page, result))
    page.section("Load over time").add(*load_parts(page, result))
    if search is not None:
        page.section("Rate search").add(*search_parts(page, search))
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
