"""`_repr_html_` of the result objects: a compact, static summary for notebooks (no script: a notebook
that is not trusted strips scripts), made of the same pieces as the pages."""
from __future__ import annotations

from pathlib import Path

from archsim.report.markup.elements import Cell, esc, table

MAX_ROWS = 12


def _css() -> str:
    return (Path(__file__).resolve().parent / "notebook.css").read_text(encoding="utf-8")


def _wrap(body: str) -> str:
    # The page's style sheet, scoped: every rule under .archsim-nb (nesting is widely supported; where it is
    # not, the fragment shows unstyled and still readable).
    return f'<div class="archsim-nb"><style>.archsim-nb {{ {_css()} }}</style>{body}</div>'


def run_fragment(result) -> str:
    from archsim.report.markup.summaries import legend, scenario_text, stack_bar, summary_cards

    cp = result.critical_path
    parts = [f"<h4>{esc(result.workload)} {esc(result.phase)} on {esc(result.chip)}</h4>",
             f"<p>{esc(scenario_text(result))}; mapper {esc(result.provenance.get('mapper'))}, fidelity "
             f"{esc(result.fidelity)}</p>", summary_cards(result)]
    if cp:
        parts += [stack_bar(cp["by_resource_kind_s"], cp["time_s"]), legend(cp["by_resource_kind_s"])]
    if cp.get("top_ops"):
        parts.append(table(["operator", "time on the critical path", "share"],
                           [[o["op"], Cell.of(o["time_s"], "time"), Cell.of(o["share"], "pct")] for o in cp["top_ops"]],
                           caption="the operators holding the critical path longest (summed over layers); "
                                   ".to_pandas() has every operator"))
    return _wrap("".join(parts))


def compare_fragment(comparison) -> str:
    from archsim.report.markup.summaries import side_by_side, verdict

    return _wrap(f"<h4>{esc(comparison.workload)}: {esc(comparison.scenario)}</h4>" + verdict(comparison)
                 + side_by_side(comparison))


def serve_fragment(result) -> str:
    from archsim.report.markup.summaries import latency_table, serve_summary_cards

    return _wrap(f"<h4>Serving {esc(result.workload)} on {esc(result.chip)}</h4>"
                 f"<p>{esc(result.requests_description)}</p>" + serve_summary_cards(result) + latency_table(result))


def sweep_fragment(result) -> str:
    from archsim.report.markup.summaries import TABLE_METRICS, _cell

    axes, metrics = result.axes(), [m for m in TABLE_METRICS if m in result.metrics()]
    rows = [[*(_cell(r["params"].get(a)) for a in axes), r["status"], *(_cell(result.value(r, m)) for m in metrics)]
            for r in result.rows]
    return _wrap(f"<h4>Sweep {esc(result.name)}: {len(result.rows):,} points</h4>"
                 + table([*axes, "status", *metrics], rows, max_rows=50))
