"""`_repr_html_` of the result objects: a compact, static summary for notebooks (no script: a notebook
that is not trusted strips scripts), made of the same pieces as the pages."""
from __future__ import annotations

from archsim.report.html.assets import template
from archsim.report.html.document import Cell, esc, table

MAX_ROWS = 12


def _wrap(body: str) -> str:
    # The page's style sheet, scoped: every rule under .archsim-nb (nesting is widely supported; where it is
    # not, the fragment shows unstyled and still readable).
    return f'<div class="archsim-nb"><style>.archsim-nb {{ {template("notebook.css")} }}</style>{body}</div>'


def run_fragment(result) -> str:
    from archsim.report.html.run import legend, scenario_text, stack_bar, summary_cards
    from archsim.report.text import fold_layers

    cp = result.critical_path
    parts = [f"<h4>{esc(result.workload)} {esc(result.phase)} on {esc(result.chip)}</h4>",
             f"<p>{esc(scenario_text(result))}; mapper {esc(result.provenance.get('mapper'))}, fidelity "
             f"{esc(result.fidelity)}</p>", summary_cards(result)]
    if cp:
        parts += [stack_bar(cp["by_resource_kind_s"], cp["time_s"]), legend(cp["by_resource_kind_s"])]
    rows = sorted(fold_layers(result.ops, result.layers), key=lambda r: -r[2].time_s)[:MAX_ROWS]
    parts.append(table(["operator", "x", "kind", "time", "bound"],
                       [[label, Cell.of(repeat), o.kind, Cell.of(o.time_s, "time"), o.bound] for label, repeat, o in rows],
                       caption=f"the {len(rows)} longest operators (folded over layers); .to_pandas() has them all"))
    return _wrap("".join(parts))


def compare_fragment(comparison) -> str:
    from archsim.report.html.compare import side_by_side, verdict

    return _wrap(f"<h4>{esc(comparison.workload)}: {esc(comparison.scenario)}</h4>" + verdict(comparison)
                 + side_by_side(comparison))


def serve_fragment(result) -> str:
    from archsim.report.html.serve import latency_table, summary_cards

    return _wrap(f"<h4>Serving {esc(result.workload)} on {esc(result.chip)}</h4>"
                 f"<p>{esc(result.requests_description)}</p>" + summary_cards(result) + latency_table(result))


def sweep_fragment(result) -> str:
    from archsim.report.html.sweep import TABLE_METRICS, _cell

    axes, metrics = result.axes(), [m for m in TABLE_METRICS if m in result.metrics()]
    rows = [[*(_cell(r["params"].get(a)) for a in axes), r["status"], *(_cell(result.value(r, m)) for m in metrics)]
            for r in result.rows]
    return _wrap(f"<h4>Sweep {esc(result.name)}: {len(result.rows):,} points</h4>"
                 + table([*axes, "status", *metrics], rows, max_rows=50))
