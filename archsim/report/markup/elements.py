"""The building blocks of the HTML report and the notebook summaries: escaping, numbers, summary cards,
sortable tables. Static HTML; nothing here imports a result module (report/html's pages and the result
classes' `_repr_html_` both use it).

Formatting only. Every number a page shows is a value of the result, written twice: formatted as text
and, where it is a key number, as `data-value` with `data-key` = its path in the embedded JSON result
(`rows.0.tpot_s`), so a test (or a reader) can check the page against the JSON. Tables carry each
cell's raw value in `data-sort`, which is what the sorting script orders by.
"""
from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass

from archsim.units import format_quantity


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def clean(value):
    """JSON-safe: numpy scalars and arrays to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict"):
        return clean(value.to_dict())
    return str(value)


def script_json(value) -> str:
    """JSON to put inside a <script> element ('</' cannot close it)."""
    return json.dumps(clean(value), separators=(",", ":")).replace("</", "<\\/")


def fmt(value, quantity: str = "") -> str:
    """A number as the terminal report writes it: with a unit for time, bytes, FLOP/s and bandwidth."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if quantity in ("time", "bytes", "flops", "bandwidth", "frequency"):
        return format_quantity(value, quantity)
    if quantity == "pct":
        return f"{value:.1%}"
    if quantity == "x":
        return f"{value:.2f}x"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def num(value, text: str | None = None, key: str | None = None, quantity: str = "") -> str:
    """A number in the page: its text, its raw value and (for key numbers) its path in the JSON result."""
    text = fmt(value, quantity) if text is None else text
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return f'<span class="num">{esc(text)}</span>'
    attrs = f' data-value="{value!r}"' + (f' data-key="{esc(key)}"' if key else "")
    return f'<span class="num"{attrs}>{esc(text)}</span>'


@dataclass
class Card:
    label: str
    value_html: str
    note: str = ""
    highlight: bool = False


def cards(items: list[Card]) -> str:
    parts = []
    for c in items:
        cls = "card best" if c.highlight else "card"
        note = f'<div class="note">{esc(c.note)}</div>' if c.note else ""
        parts.append(f'<div class="{cls}"><div class="label">{esc(c.label)}</div>'
                     f'<div class="value">{c.value_html}</div>{note}</div>')
    return f'<div class="cards">{"".join(parts)}</div>'


@dataclass
class Cell:
    """A table cell: its HTML, and the raw value the table sorts by (a number or text)."""
    html: str
    sort: object = None

    @classmethod
    def of(cls, value, quantity: str = "", key: str | None = None, text: str | None = None) -> "Cell":
        """A number; with `key` (its path in the JSON result) it is marked as a key number."""
        if key is None:
            return cls(esc(fmt(value, quantity) if text is None else text), value)
        return cls(num(value, text, key, quantity), value)

    @classmethod
    def text(cls, value) -> "Cell":
        return cls(esc("-" if value is None else value), value)


def table(columns: list[str], rows: list[list], table_id: str = "", caption: str = "",
          numeric: set[int] | None = None, max_rows: int | None = None) -> str:
    """A sortable table (click a header). `rows` hold Cells or plain values; `numeric`: indices of
    right-aligned columns (default: the columns whose sort values are all numbers)."""
    cells = [[c if isinstance(c, Cell) else Cell.text(c) for c in row] for row in rows]
    if numeric is None:
        numeric = {i for i in range(len(columns))
                   if cells and all(isinstance(r[i].sort, (int, float)) or r[i].sort is None for r in cells)
                   and any(isinstance(r[i].sort, (int, float)) for r in cells)}
    head = "".join(f'<th class="{"n" if i in numeric else ""}" tabindex="0">{esc(c)}</th>'
                   for i, c in enumerate(columns))
    shown = cells if max_rows is None else cells[:max_rows]
    body = []
    for row in shown:
        tds = []
        for i, c in enumerate(row):
            cls = "n" if i in numeric else ("wrap" if isinstance(c.sort, str) and len(c.sort) > 60 else "")
            if _reads_as(c.html, c.sort):  # the script sorts by the text itself: no need to repeat the value
                tds.append(f'<td class="{cls}">{c.html}</td>')
                continue
            sort = "" if c.sort is None else esc(c.sort if isinstance(c.sort, str) else repr(c.sort))
            tds.append(f'<td class="{cls}" data-sort="{sort}">{c.html}</td>')
        body.append(f"<tr>{''.join(tds)}</tr>")
    more = ""
    if max_rows is not None and len(cells) > max_rows:
        more = f'<p class="note">{len(cells) - max_rows:,} more rows not shown (the JSON has them all)</p>'
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table class="sortable"{ident}>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{more}')


def _reads_as(html_text: str, value) -> bool:
    """Is the cell's text (plain, no markup) the value itself, or a string that sorts as it does?"""
    if "<" in html_text or value is None:
        return False
    if isinstance(value, str):
        return html_text == esc(value) and not _NUMBER.fullmatch(value.replace(",", ""))
    return bool(_NUMBER.fullmatch(html_text.replace(",", ""))) and isinstance(value, (int, float)) \
        and not isinstance(value, bool)


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def paragraphs(text: str) -> str:
    """Plain text (blank-line separated paragraphs) as HTML; list lines ('- ') become a list."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [" ".join(part.split()) for part in re.split(r"\n(?=- )", block)]
        if len(lines) > 1 or lines[0].startswith("- "):
            head = [l for l in lines if not l.startswith("- ")]
            items = "".join(f"<li>{esc(l[2:])}</li>" for l in lines if l.startswith("- "))
            out.append("".join(f"<p>{esc(h)}</p>" for h in head) + f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{esc(lines[0])}</p>")
    return "".join(out)


def notes_list(notes: list[str]) -> str:
    return "<ul class=\"notes\">" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>" if notes else ""


