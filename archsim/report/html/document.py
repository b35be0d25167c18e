"""The page shell: sections, figures and the embedded result (report/markup/elements.py has the cards,
tables and numbers a section is made of)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from archsim import __version__
from archsim.report.html.assets import plotly_bundle, template
from archsim.report.markup.elements import (Card, Cell, cards, clean, esc, fmt, notes_list, num, paragraphs,
                                            script_json, table)

# The page modules take the elements from here, with the page shell.
__all__ = ["Card", "Cell", "Page", "Section", "cards", "clean", "esc", "fmt", "notes_list", "num", "paragraphs",
           "script_json", "table"]


@dataclass
class Section:
    title: str
    ident: str
    body: list[str] = field(default_factory=list)
    collapsed: bool = False

    def add(self, *parts: str) -> "Section":
        self.body.extend(p for p in parts if p)
        return self


@dataclass
class Page:
    """One self-contained HTML document: sections, figures (plotly specs) and the embedded result."""
    kind: str  # run, compare, serve, sweep, validate, frontier, ...
    title: str
    subtitle: str = ""
    data: object = None  # the result's JSON: the source of every data-key number
    sections: list[Section] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href) in the header

    def section(self, title: str, ident: str | None = None, collapsed: bool = False) -> Section:
        ident = ident or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        taken = {s.ident for s in self.sections}
        base, n = ident, 2
        while ident in taken:
            ident, n = f"{base}-{n}", n + 1
        s = Section(title, ident, collapsed=collapsed)
        self.sections.append(s)
        return s

    def figure(self, spec: dict, height: int = 380, caption: str = "") -> str:
        """Register a plotly figure {data, layout}; returns the element that shows it."""
        ident = f"fig{len(self.figures) + 1}"
        self.figures[ident] = spec
        cap = f'<p class="caption">{esc(caption)}</p>' if caption else ""
        return (f'<figure><div class="plot" id="{ident}" data-fig="{ident}" style="height:{height}px">'
                f'<p class="loading">plot loading ...</p></div>{cap}</figure>')

    def render(self) -> str:
        version, plotly = plotly_bundle()
        nav = "".join(f'<a href="#{s.ident}">{esc(s.title)}</a>' for s in self.sections)
        body = []
        for s in self.sections:
            inner = "".join(s.body)
            if s.collapsed:
                body.append(f'<section id="{s.ident}"><details><summary><h2>{esc(s.title)}</h2></summary>'
                            f"{inner}</details></section>")
            else:
                body.append(f'<section id="{s.ident}"><h2>{esc(s.title)}</h2>{inner}</section>')
        links = "".join(f'<a class="button" href="{esc(href)}">{esc(text)}</a>' for text, href in self.links)
        values = {
            "title": esc(self.title), "subtitle": esc(self.subtitle), "kind": esc(self.kind), "nav": nav,
            "links": links, "body": "".join(body), "version": esc(__version__), "plotly_version": esc(version),
            "css": template("style.css"), "js": template("page.js"), "plotly": plotly,
            "data": script_json({"kind": self.kind, "archsim_version": __version__, "result": self.data}),
            "figures": script_json(self.figures),
        }
        return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template("page.html"))
