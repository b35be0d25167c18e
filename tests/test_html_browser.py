"""The HTML report in a real browser (headless Chromium from Debian's package, driven by playwright; see
tests/browser.py): each page kind loads from a file with no network, no console errors and every plot
drawn; the key numbers the page shows equal its JSON result; a table sorts when its header is clicked;
screenshots at desktop (1280 px) and phone (390 px) widths go to the test's tmp dir (ARCHSIM_SCREENSHOTS=DIR
keeps them). Skipped, saying why, only where Chromium or playwright is absent."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser import DESKTOP, PHONE, Browser, why_unavailable

import archsim
from archsim.report.html import write_html

pytestmark = pytest.mark.skipif(why_unavailable() is not None, reason=why_unavailable() or "")

# What the page shows for each key number, as the JSON holds it: every element marked data-key
READ_KEY_NUMBERS = """() => Array.from(document.querySelectorAll('[data-key]')).map(e => ({
    key: e.getAttribute('data-key'), value: Number(e.getAttribute('data-value')), text: e.textContent}))"""


def lookup(doc, path: str):
    for part in path.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    keep = os.environ.get("ARCHSIM_SCREENSHOTS")
    path = Path(keep) if keep else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_page(browser, path: Path, shots: Path, name: str, min_keys: int, plots: int | None = None,
               also=None) -> dict:
    """Load at both widths: no errors, plots drawn, key numbers equal the JSON (and `also(page)` at desktop
    width); returns the JSON. Desktop screenshots are the whole page, phone ones its first three screens."""
    data = None
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page, errors = browser.open(path, viewport)
        assert errors == [], errors
        drawn = page.evaluate("document.documentElement.getAttribute('data-plots')")
        expected = page.evaluate("document.querySelectorAll('div.plot[data-fig]').length")
        assert int(drawn) == expected and (plots is None or expected == plots)
        assert page.evaluate("document.querySelectorAll('div.plot .main-svg').length") >= expected
        if data is None:
            data = json.loads(page.evaluate("document.getElementById('archsim-data').textContent"))["result"]
            shown = page.evaluate(READ_KEY_NUMBERS)
            assert len(shown) >= min_keys
            for item in shown:
                assert lookup(data, item["key"]) == item["value"], item
            if also is not None:
                also(page)
        if width == "desktop":
            page.screenshot(path=str(shots / f"{name}.{width}.png"), full_page=True)
        else:
            page.set_viewport_size({"width": PHONE["width"], "height": 3 * PHONE["height"]})
            page.screenshot(path=str(shots / f"{name}.{width}.png"))
    assert (shots / f"{name}.desktop.png").stat().st_size > 10_000
    return data


def test_compare_page_shows_the_three_systems_side_by_side(browser, shots, tmp_path):
    race = archsim.compare(["dgx-h100", "cs3x4", "groq-lpu-576"], "llama3.1-70b", weight_dtype="int8")
    write_html(race, tmp_path / "race.html")
    def side_by_side(page):
        header = page.evaluate("Array.from(document.querySelectorAll('#side-by-side thead th')).map(t => t.textContent)")
        assert header == ["", "dgx-h100", "cs3x4", "groq-lpu-576"]
        tpot = page.evaluate("Array.from(document.querySelectorAll('#side-by-side tbody tr:first-child td'))"
                             ".map(t => t.textContent)")
        assert tpot[0].startswith("time per output token")
        assert tpot[1:] == [archsim.units.format_quantity(r.tpot_s, "time") for r in race.results()]
        best = page.evaluate("document.querySelector('#side-by-side tbody tr:first-child td.best').textContent")
        assert best == archsim.units.format_quantity(min(r.tpot_s for r in race.results()), "time")

    data = check_page(browser, tmp_path / "race.html", shots, "compare", min_keys=30, also=side_by_side)
    assert [r["chip"] for r in data["rows"]] == ["dgx-h100", "cs3x4", "groq-lpu-576"]


def test_run_page_of_a_wafer_and_its_sortable_tables(browser, shots, tmp_path):
    run = archsim.run("cs3x4", "llama3.1-70b", phase="decode", weight_dtype="int8", whatif=True)
    write_html(run, tmp_path / "run.html")
    def sorts(page):
        column = "Array.from(document.querySelectorAll('#ops-folded tbody tr')).map(r => r.cells[10].textContent)"
        page.click("#ops-folded thead th:nth-child(11)")  # time: largest first
        times = [float(t.replace(",", "")) for t in page.evaluate(column)]
        assert times == sorted(times, reverse=True) and times[0] > times[-1]
        page.click("#ops-folded thead th:nth-child(11)")
        assert [float(t.replace(",", "")) for t in page.evaluate(column)] == sorted(times)

    check_page(browser, tmp_path / "run.html", shots, "run-wafer", min_keys=15, plots=7, also=sorts)


def test_serve_page(browser, shots, tmp_path):
    served = archsim.serve("h100-sxm", "tiny", rate=20, requests=150, prompt_tokens=200, output_tokens=40,
                           slo_ttft="1s", slo_tpot="100ms")
    write_html(served, tmp_path / "serve.html")
    data = check_page(browser, tmp_path / "serve.html", shots, "serve", min_keys=20, plots=5)
    assert data["summary"]["finished"] == 150


def test_sweep_and_validate_pages(browser, shots, tmp_path):
    from archsim.validation import run_cases
    from archsim.validation.report import ValidationReport

    sweep = archsim.sweep(Path(__file__).parents[1] / "examples" / "h100_bandwidth_sweep.yaml", fidelity="roofline")
    write_html(sweep, tmp_path / "sweep.html")
    check_page(browser, tmp_path / "sweep.html", shots, "sweep", min_keys=18)
    report = ValidationReport(run_cases(["tsp"]), ["tsp cases"])
    write_html(report, tmp_path / "validate.html")
    check_page(browser, tmp_path / "validate.html", shots, "validate", min_keys=10)


def test_serving_compare_page(browser, shots, tmp_path):
    from archsim.cli import main

    page_path = tmp_path / "race-serve.html"
    assert main(["compare", "--serve", "h100-sxm", "a100-sxm-80gb", "tiny", "--rate", "20", "--requests", "100",
                 "--prompt-tokens", "200", "--output-tokens", "20", "--slo", "ttft_p99=1s,tpot_p99=100ms",
                 "--html", str(page_path)]) == 0

    def side_by_side(page):
        header = page.evaluate("Array.from(document.querySelectorAll('#side-by-side thead th')).map(t => t.textContent)")
        assert header == ["", "h100-sxm", "a100-sxm-80gb"]

    data = check_page(browser, page_path, shots, "compare-serve", min_keys=40, also=side_by_side)
    assert [r["chip"] for r in data["rows"]] == ["h100-sxm", "a100-sxm-80gb"]
