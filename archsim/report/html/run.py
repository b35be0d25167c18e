"""The page of one run (`archsim run --html`, `archsim explain --html`) and the sections of a run that
the compare page reuses per system."""
from __future__ import annotations

from archsim.report.analysis import KIND_TITLES
from archsim.report.economics import dollars, joules, watts
from archsim.report.html import figures
from archsim.report.html.document import (Card, Cell, Page, Section, cards, esc, fmt, notes_list, num,
                                          paragraphs, table)
from archsim.report.markup.summaries import legend, scenario_text, stack_bar, summary_cards
from archsim.report.plots import LINK_KEYS, ORIGIN_KEY, PARTS, SRAM_CAPACITY_KEY, SRAM_KEY, breakdown_data
from archsim.report.text import fold_layers

# Every operator in the full table up to this many rows (the JSON holds them all).
MAX_OP_ROWS = 4000


def title(r) -> str:
    return f"{r.workload} {r.phase} on {r.chip}"


def provenance_table(r) -> str:
    p = r.provenance
    rows = [["archsim", p.get("archsim_version")], ["chip file", p.get("chip_source")],
            ["config hash", p.get("config_hash")], ["mapper", p.get("mapper")], ["fidelity", p.get("fidelity")],
            ["options", ", ".join(f"{k}={v}" for k, v in (p.get("options") or {}).items()) or "-"]]
    return table(["", ""], rows)


def bottleneck_parts(page: Page, r, prefix: str = "") -> list[str]:
    cp = r.critical_path
    s = Section("Where the time goes", "")
    if not cp:
        return [f"<p>bottleneck: {esc(r.bottleneck)}</p>"]
    s.add(f"<p>The critical path (the chain of tasks that sets the latency) takes "
          f"{num(cp['time_s'], key=prefix + 'critical_path.time_s', quantity='time')} over "
          f"{num(cp['tasks'], key=prefix + 'critical_path.tasks')} tasks. Bottleneck: "
          f"<b>{esc(cp['bottleneck_kind'])}</b> resources hold "
          f"{num(cp['bottleneck_share'], key=prefix + 'critical_path.bottleneck_share', quantity='pct')} of it.</p>")
    s.add(stack_bar(cp["by_resource_kind_s"], cp["time_s"]), legend(cp["by_resource_kind_s"]))
    fixed = cp.get("fixed_latency_s", {})
    rows = [[Cell.text(KIND_TITLES.get(k, k)), Cell.of(v, "time", f"{prefix}critical_path.by_resource_kind_s.{k}"),
             Cell.of(fixed.get(k), "time") if k in fixed else Cell.text("-"),
             Cell.of(r.utilization.get(k), "pct", f"{prefix}utilization.{k}") if k in r.utilization else Cell.text("-")]
            for k, v in cp["by_resource_kind_s"].items()]
    s.add("<h3>By resource class</h3>", table(["resource class", "on the critical path", "of it fixed latency",
                                               "utilization (busy / run time)"], rows))
    if cp.get("top_resources"):
        s.add("<h3>Busiest resources on the path</h3>", table(
            ["resource", "class", "time on the path", "share"],
            [[g["resource"], g["kind"], Cell.of(g["time_s"], "time"), Cell.of(g["share"], "pct")]
             for g in cp["top_resources"]]))
    if cp.get("top_ops"):
        s.add("<h3>Operators holding the path longest</h3>", table(
            ["operator", "time on the path", "share"],
            [[o["op"], Cell.of(o["time_s"], "time"), Cell.of(o["share"], "pct")] for o in cp["top_ops"]]))
    if r.resource_groups:
        s.add("<h3>Resource groups</h3>", table(
            ["group", "class", "count", "busy", "utilization", "busiest member"],
            [[g["group"], g["kind"], Cell.of(g["count"]), Cell.of(g["busy_s"], "time"),
              Cell.of(g["utilization"], "pct"), Cell.of(g["max_utilization"], "pct")] for g in r.resource_groups]))
    return s.body


def _op_row(label: str, repeat: int, o, scale: float) -> list:
    return [Cell.text(label), Cell.of(repeat), Cell.text(o.kind), Cell.of(o.flops / 1e9, text=f"{o.flops / 1e9:,.3f}"),
            Cell.of(o.bytes / 1e6, text=f"{o.bytes / 1e6:,.2f}"),
            *(Cell.of(getattr(o, k) / scale, text=f"{getattr(o, k) / scale:,.3f}")
              for k in ("compute_s", "memory_s", "comm_s", "wait_s", "time_s", "roofline_s")),
            Cell.text(o.bound)]


def operators_parts(page: Page, r, full: bool = True) -> list[str]:
    scale, unit = figures.time_scale(r.latency_s)
    data = breakdown_data(r)
    s = Section("Operators", "")
    s.add("<p>Time on the critical path per operator, identical layers folded (L*.op = the operator summed over "
          "the layers); split into compute, memory, communication and waiting.</p>")
    rows = [dict(label=f"{o['op']} (x{o['repeat']})" if o["repeat"] > 1 else o["op"], **o) for o in data["operators"]]
    s.add(page.figure(figures.stacked(rows, "label", "Per operator (summed over layers)", True, (scale, unit)),
                      height=max(300, 22 * len(rows) + 120)))
    columns = ["operator", "x", "kind", "GFLOP", "MB", *(f"{n} ({unit})" for n in
                                                         ("compute", "memory", "comm", "wait", "time", "roofline")),
               "bound"]
    s.add(table(columns, [_op_row(label, repeat, o, scale) for label, repeat, o in fold_layers(r.ops, r.layers)],
                "ops-folded", "folded over identical layers"))
    if full:
        s.add(f"<details><summary>every operator of every layer ({len(r.ops):,} rows)</summary>"
              + table(columns, [_op_row(o.name, 1, o, scale) for o in r.ops], "ops-all", max_rows=MAX_OP_ROWS)
              + "</details>")
    return s.body


def layers_parts(page: Page, r) -> list[str]:
    if not r.per_layer:
        return []
    scale, unit = figures.time_scale(r.latency_s)
    s = Section("Layers", "")
    rows = [dict(label=row["label"], **{k: row[k] for k, _, _ in PARTS}) for row in r.per_layer]
    s.add(page.figure(figures.stacked(rows, "label", "Per layer ('pre': embedding; 'post': final norm and LM head)",
                                      False, (scale, unit)), height=340))
    s.add(f"<details><summary>the table of every layer ({len(r.per_layer):,} rows)</summary>"
          + table(["layer", *(f"{n} ({unit})" for n in ("compute", "memory", "comm", "wait", "time"))],
                  [[Cell(esc(row["label"]), row["layer"]),
                    *(Cell.of(row[k] / scale, text=f"{row[k] / scale:,.3f}")
                      for k in ("compute_s", "memory_s", "comm_s", "wait_s", "time_s"))] for row in r.per_layer],
                  "layers") + "</details>")
    return s.body


def roofline_parts(page: Page, r) -> list[str]:
    if not r.peaks:
        return []
    p = r.peaks
    ridge = p["ridge_flops_per_byte"]
    s = Section("Roofline", "")
    s.add(f"<p>{esc(r.chip)} peaks at {num(p['matrix_flops_per_s'], quantity='flops')} on its matrix units and "
          f"{num(p['vector_flops_per_s'], quantity='flops')} on its vector units ({esc(r.dtype)}), fed by "
          f"{num(p['memory_bytes_per_s'], quantity='bandwidth')} of {esc(p['memory'])} bandwidth: the ridge point is "
          f"{num(ridge, text=f'{ridge:,.0f}')} FLOP per byte. "
          "Each point is an operator (folded over layers) at its arithmetic intensity and achieved FLOP/s; "
          "hover for its name.</p>")
    s.add(page.figure(figures.roofline(r), height=460))
    return s.body


def whatif_parts(page: Page, r, prefix: str = "") -> list[str]:
    if not r.whatif:
        return []
    s = Section("What-if", "")
    s.add("<p>The whole run simulated again with one resource class (or one group of it) 2x as fast, everything "
          "else unchanged. Fixed latencies stay.</p>")
    s.add(page.figure(figures.whatif(r), height=340))
    rows = [[KIND_TITLES.get(k, k), Cell.of(r.whatif_latency_s.get(k), "time"),
             Cell.of(v, "x", f"{prefix}whatif.{k}")] for k, v in r.whatif.items()]
    rows += [[f"only {g.split(':', 1)[1]} ({g.split(':', 1)[0]})", Cell.text("-"), Cell.of(v, "x")]
             for g, v in r.whatif_groups.items()]
    s.add(table(["2x as fast", "latency", "speedup"], rows))
    return s.body


def heatmap_parts(page: Page, r) -> list[str]:
    sram = r.extra.get(SRAM_KEY)
    links = [(k, r.extra[k]) for k in LINK_KEYS if r.extra.get(k) is not None]
    if sram is None and not links:
        return []
    import numpy as np

    origin = tuple(r.extra.get(ORIGIN_KEY, (0, 0)))
    s = Section("Wafer heatmaps", "")
    s.add("<p>The mapped region as the mapper simulates it (one representative layer region); hover a core for "
          "its value, drag to zoom.</p>")
    if sram is not None:
        cap = r.extra.get(SRAM_CAPACITY_KEY)
        a = np.asarray(sram, dtype=float)
        s.add(page.figure(figures.heatmap(a, origin, f"SRAM used per core (bytes; max {fmt(a.max(), 'bytes')}"
                                          + (f" of {fmt(cap, 'bytes')}" if cap else "") + ")", "bytes", cap),
                          height=520))
    for key, values in links:
        a = np.asarray(values, dtype=float)
        where = "east-west links (column c to c+1)" if key.endswith("x") else "north-south links (row r to r+1)"
        s.add(page.figure(figures.heatmap(a, origin, f"Bytes per step over {where}", "bytes"), height=520))
    return s.body


def energy_parts(page: Page, r, prefix: str = "") -> list[str]:
    e, c = r.energy, r.cost
    if not e:
        return []
    s = Section("Energy and cost", "")
    if "missing" in e or r.energy_j is None:
        return [f"<p>{esc(e.get('note', 'no energy figures for this chip'))}</p>"]
    items = [Card("energy of the run", num(r.energy_j, joules(r.energy_j), prefix + "energy_j")),
             Card("static power", num(e.get("static_power_w"), watts(e.get("static_power_w"))),
                  f"{e.get('chips_charged', '-')} chips charged"),
             Card("power per used chip", num(e.get("power_per_used_chip_w"), watts(e.get("power_per_used_chip_w"))),
                  f"TDP {watts(e.get('tdp_w'))}" + ("; ABOVE TDP" if e.get("over_tdp") else ""))]
    if c and r.cost_per_million_tokens is not None:
        items.append(Card("capital per Mtok", num(c.get("capital_usd_per_million_tokens"),
                                                  dollars(c.get("capital_usd_per_million_tokens")))))
        items.append(Card("electricity per Mtok", num(c.get("energy_usd_per_million_tokens"),
                                                      dollars(c.get("energy_usd_per_million_tokens")))))
    s.add(cards(items))
    for key, what in (("by_component_j", "by component"), ("by_op_class_j", "by operator class")):
        parts = e.get(key) or {}
        if parts:
            s.add(f"<h3>Energy {what}</h3>", table([what.split()[-1], "energy"],
                                                   [[k, Cell.of(v, text=joules(v))] for k, v in parts.items()]))
    notes = [n for n in (e.get("note"), c.get("note") if c else None) if n]
    s.add(notes_list(notes))
    return s.body


def notes_parts(page: Page, r) -> list[str]:
    s = Section("Notes and provenance", "")
    s.add(notes_list(r.notes))
    scalars = [[k, Cell.of(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else Cell.text(v)]
               for k, v in r.extra.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    if scalars:
        s.add("<h3>Mapper details</h3>", table(["key", "value"], scalars))
    s.add("<h3>Provenance</h3>", provenance_table(r))
    return s.body


def summary_parts(r, prefix: str = "") -> list[str]:
    return [f"<p>{esc(r.workload)} {esc(r.phase)} ({esc(scenario_text(r))}) on {esc(r.chip)}, mapper "
            f"{esc(r.provenance.get('mapper'))}, fidelity {esc(r.fidelity)}.</p>", summary_cards(r, prefix)]


def run_sections(page: Page, r, prefix: str = "") -> None:
    """Everything about one run, one section each, in reading order."""
    for name, parts in (("Summary", summary_parts(r, prefix)), ("Where the time goes", bottleneck_parts(page, r, prefix)),
                        ("Operators", operators_parts(page, r)), ("Layers", layers_parts(page, r)),
                        ("Roofline", roofline_parts(page, r)), ("What-if", whatif_parts(page, r, prefix)),
                        ("Wafer heatmaps", heatmap_parts(page, r)), ("Energy and cost", energy_parts(page, r, prefix)),
                        ("Notes and provenance", notes_parts(page, r))):
        if parts:
            page.section(name).add(*parts)


def build(result, *, narrative: str | None = None, trace: str | None = None, **_) -> Page:
    """The run page; `narrative` (archsim explain's text) adds an Explanation section, `trace` a link."""
    page = Page("explain" if narrative else "run", title(result),
                f"{scenario_text(result)}; {result.chips_used:,} chip(s) used; mapper "
                f"{result.provenance.get('mapper')}, fidelity {result.fidelity}", result.to_dict())
    if trace:
        page.links.append(("Perfetto trace (open it in ui.perfetto.dev)", trace))
    if narrative:
        page.section("Explanation").add(f'<div class="narrative">{paragraphs(narrative)}</div>')
    run_sections(page, result)
    return page
