"""Self-contained HTML reports: one file per result, readable offline (docs/report.md, "HTML").

    from archsim.report.html import write_html
    write_html(result, "out/run.html", trace="out/run.trace.json")

`write_html` takes any result a command produces and picks its page by the result's type name
(RunResult, Comparison, ServeComparison, ServingResult, SweepResult, ValidationReport, FrontierResult); a type with no
page of its own gets the generic page of its `to_dict()`. A page module exposes `build(result, **context)
-> Page`; registering a new one is a line in PAGE_MODULES. Pages format only: they run nothing.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from archsim.errors import ArchsimInputError
from archsim.registry import Registry

# result type name -> page module (archsim.report.html.<module>), imported when used
PAGE_MODULES = {
    "RunResult": "run",
    "Comparison": "compare",
    "ServeComparison": "serve_compare",
    "ServingResult": "serve",
    "SweepResult": "sweep",
    "ValidationReport": "validate",
    "FrontierResult": "frontier",
}
PAGES: Registry = Registry("HTML page")
for _name, _module in PAGE_MODULES.items():
    PAGES.add(_name, _module)


def page_for(result, **context):
    """The Page of `result` (its type's page, or the generic one)."""
    name = type(result).__name__
    module = PAGES.get(name) if name in PAGES else "generic"
    return importlib.import_module(f"archsim.report.html.{module}").build(result, **context)


def render_html(result, **context) -> str:
    return page_for(result, **context).render()


def write_html(result, path: str | os.PathLike, *, trace: str | os.PathLike | None = None, **context) -> dict:
    """Write the page of `result` to `path`; `trace`: a Perfetto trace file to link (written beside it or
    anywhere: the link is relative to the page). Returns {path, bytes, figures}."""
    out = Path(path)
    if trace is not None:
        context["trace"] = Path(os.path.relpath(Path(trace).resolve(), out.resolve().parent)).as_posix()
    page = page_for(result, **context)
    text = page.render()
    try:
        if out.parent and not out.parent.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {path}: {exc.strerror}") from None
    return {"path": str(out), "bytes": len(text.encode("utf-8")), "figures": len(page.figures)}


def describe(info: dict) -> str:
    """The line a command prints after writing a page."""
    return (f"html: {info['path']} ({info['bytes'] / 1e6:.1f} MB, {info['figures']} plots; self-contained, "
            "open it in a browser)")
