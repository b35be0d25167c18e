"""What a page inlines: the plotting library (plotly.js, from the `plotly` package on PyPI), the style
sheet and the page script (templates/), so the file works offline.

plotly.js is 4.8 MB minified; inlined as is, a run page would pass 5 MB. It is inlined gzip-compressed
and base64-encoded (about 2 MB) and unpacked in the browser with the standard DecompressionStream
(Chromium 80+, Firefox 113+, Safari 16.4+). The Python package `plotly` is never imported (its import
costs about a second); only its bundled plotly.min.js is read. Compression is deterministic (no
timestamp), so the same result writes the same file.
"""
from __future__ import annotations

import base64
import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

from archsim.errors import ArchsimInputError

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLOTLY_JS = ("package_data", "plotly.min.js")


def plotly_path() -> Path:
    """plotly.min.js inside the installed `plotly` package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ArchsimInputError("--html needs the plotly package for its JavaScript library: "
                                "pip install 'plotly>=6'")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*PLOTLY_JS)
    if not path.is_file():
        raise ArchsimInputError(f"the plotly package has no {'/'.join(PLOTLY_JS)} (found {path.parent}); "
                                "reinstall it: pip install --force-reinstall 'plotly>=6'")
    return path


@lru_cache(maxsize=1)
def plotly_bundle() -> tuple[str, str]:
    """(plotly.js version, the library gzip-compressed and base64-encoded)."""
    raw = plotly_path().read_bytes()
    head = raw[:200].decode("utf-8", "replace")
    version = head.split("plotly.js v", 1)[1].split()[0] if "plotly.js v" in head else "unknown"
    return version, base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


@lru_cache(maxsize=None)
def template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")
