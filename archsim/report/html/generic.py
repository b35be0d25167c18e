"""The page of a result that has no page of its own: its `to_dict()` as tables (scalars in one table,
nested dicts flattened, each list of records a table). Any command can write `--html` with it before its
result gets a dedicated page."""
from __future__ import annotations

from archsim.report.html.document import Cell, Page, esc, table
from archsim.report.tables import flatten


def _cell(value, key: str) -> Cell:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Cell.of(value, key=key)
    return Cell.text(value)


def build(result, *, trace: str | None = None, **_) -> Page:
    data = result.to_dict() if hasattr(result, "to_dict") else {"value": repr(result)}
    name = type(result).__name__
    page = Page(name.lower(), f"{name}", "archsim result", data)
    if trace:
        page.links.append(("Perfetto trace", trace))
    scalars = {k: v for k, v in data.items() if not isinstance(v, (list, tuple))}
    flat = flatten(scalars)
    if flat:
        page.section("Summary").add(table(["", ""], [[k, _cell(v, k)] for k, v in flat.items()]))
    for key, value in data.items():
        if not isinstance(value, (list, tuple)) or not value:
            continue
        if all(isinstance(v, dict) for v in value):
            records = [flatten(v) for v in value]
            columns = list(dict.fromkeys(c for r in records for c in r))
            rows = [[_cell(r.get(c), f"{key}.{i}.{c}") for c in columns] for i, r in enumerate(records)]
            page.section(key).add(table(columns, rows))
        else:
            page.section(key).add("<p>" + esc(", ".join(str(v) for v in value)) + "</p>")
    return page
