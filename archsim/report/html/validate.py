"""The validation page (`archsim validate --html`): every reference case, predicted against measured, with
its error, tolerance and source; the errors as bars against their tolerance bands, one group each."""
from __future__ import annotations

from archsim.report.html import figures
from archsim.report.html.document import Cell, Page, esc, notes_list, num, table

DEFAULT_GROUPS = (("prediction", "Predictions (required)"), ("reported", "Reported only"), ("fitted", "Fitted"))


def _status(d: dict) -> Cell:
    if d["required"] and not d["calibrates"]:
        text, cls = ("ok", "good") if d["within_tolerance"] else ("FAIL", "bad")
    else:
        text, cls = ("within", "good") if d["within_tolerance"] else ("outside", "bad")
    return Cell(f'<span class="{cls}">{esc(text)}</span>', text)


def error_figure(page: Page, cases: list[tuple[int, dict]], title: str) -> str:
    shown = [(i, d) for i, d in cases if d["error"] is not None]
    if not shown:
        return ""
    ids = [d["case_id"] for _, d in shown]
    errors = [d["error"] * 100 for _, d in shown]
    colors = ["#55A868" if d["within_tolerance"] else "#C44E52" for _, d in shown]
    spec = figures.layout(title, "", "error (%): predicted / measured - 1")
    spec["xaxis"]["type"] = "category"
    spec["xaxis"]["tickangle"] = -40
    data = [{"type": "bar", "x": ids, "y": errors, "marker": {"color": colors}, "name": "error",
             "hovertemplate": "%{x}: %{y:+.2f}%<extra></extra>"},
            {"type": "scatter", "mode": "markers", "x": ids, "y": [d["tolerance"] * 100 for _, d in shown],
             "name": "+ tolerance", "marker": {"symbol": "line-ew-open", "size": 16, "color": "#333"},
             "hovertemplate": "tolerance %{y:.0f}%<extra></extra>"},
            {"type": "scatter", "mode": "markers", "x": ids, "y": [-d["tolerance"] * 100 for _, d in shown],
             "name": "- tolerance", "marker": {"symbol": "line-ew-open", "size": 16, "color": "#333"},
             "hovertemplate": "tolerance -%{y:.0f}%<extra></extra>", "showlegend": False}]
    return page.figure({"data": data, "layout": spec}, height=380 + 4 * max(len(i) for i in ids))


def build(report, *, groups=DEFAULT_GROUPS, **_) -> Page:
    data = report.to_dict()
    cases = list(enumerate(data["cases"]))
    page = Page("validate", "Validation: archsim against published measurements",
                f"{len(cases)} reference cases", data)
    page.section("Summary").add(notes_list(report.summary) if report.summary else "<p>no cases</p>")
    for group, title in groups:
        mine = [(i, d) for i, d in cases if d["group"] == group]
        if not mine:
            continue
        rows = [[Cell.text(d["case_id"]), Cell.text(d["family"]),
                 Cell.of(d["predicted"], key=f"cases.{i}.predicted") if d["predicted"] is not None else Cell.text("-"),
                 Cell.of(d["measured"], key=f"cases.{i}.measured"), Cell.text(d["unit"]),
                 Cell(num(d["error"], f"{d['error']:+.1%}", f"cases.{i}.error") if d["error"] is not None else "-",
                      d["error"]),
                 Cell.of(d["tolerance"], text=f"{d['tolerance']:.0%}"), _status(d),
                 Cell.text(d["source"]), Cell.text(d["message"] or "")] for i, d in mine]
        short = title.split(" (")[0]
        page.section(short).add(
            f"<p>{esc(title)}</p>",
            error_figure(page, mine, f"{short}: error of each case (bars) and its tolerance (marks)"),
            table(["case", "family", "predicted", "measured", "unit", "error", "tolerance", "status", "source",
                   "note"], rows, f"cases-{group}"))
    page.section("How to reproduce a case", collapsed=True).add(
        table(["case", "command"], [[d["case_id"], d["command"]] for _, d in cases]))
    return page
