"""The HTML report without a browser: every page kind renders, is self-contained, stays under its size
target, writes the same bytes for the same result, and every key number in it equals the embedded JSON
(which is the result's to_dict()). The browser tests (test_html_browser.py) load the same pages."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archsim
from archsim.report.html import render_html, write_html
from archsim.report.html.assets import plotly_bundle

RUN_PAGE_TARGET = 5_000_000  # bytes: docs/report.md states the measured sizes


def page_data(text: str) -> dict:
    raw = re.search(r'<script type="application/json" id="archsim-data">(.*?)</script>', text, re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


def lookup(doc, path: str):
    for part in path.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def key_numbers(text: str) -> list[tuple[str, float]]:
    return [(k, float(v)) for v, k in re.findall(r'data-value="([^"]+)" data-key="([^"]+)"', text)]


def check_key_numbers(text: str, minimum: int) -> None:
    data = page_data(text)["result"]
    found = key_numbers(text)
    assert len(found) >= minimum, found
    for key, value in found:
        assert lookup(data, key) == pytest.approx(value, rel=0, abs=0), key


@pytest.fixture(scope="module")
def gpu_run():
    return archsim.run("dgx-h100", "llama3.1-70b", phase="decode", weight_dtype="int8", whatif=True)


def test_run_page_is_self_contained_small_and_matches_the_json(gpu_run, tmp_path):
    info = write_html(gpu_run, tmp_path / "run.html", trace=tmp_path / "trace.json")
    text = (tmp_path / "run.html").read_text()
    assert info["bytes"] == len(text.encode()) < RUN_PAGE_TARGET
    # offline: no external script, style sheet or image; the only link is the trace beside it
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', text)
    assert 'href="trace.json"' in text
    assert page_data(text)["result"] == json.loads(json.dumps(gpu_run.to_dict()))
    check_key_numbers(text, minimum=8)
    tpot = dict(key_numbers(text))["tpot_s"]
    assert tpot == gpu_run.tpot_s
    assert plotly_bundle()[1] in text  # plotly.js, compressed, inlined


def test_the_same_result_writes_the_same_bytes(gpu_run):
    assert render_html(gpu_run) == render_html(gpu_run)


def test_explain_page_has_the_narrative(gpu_run):
    from archsim.report.explain import explain

    text = render_html(gpu_run, narrative=explain(gpu_run))
    assert 'id="explanation"' in text and "ridge point" in text


def test_compare_page_has_every_system_side_by_side():
    race = archsim.compare(["h100-sxm", "groq-lpu-576"], "llama3.1-8b", weight_dtype="int8", whatif=False)
    text = render_html(race)
    assert 'id="side-by-side"' in text
    for i, row in enumerate(race.rows):
        assert row.chip in text
        assert dict(key_numbers(text))[f"results.{i}.tokens_per_s"] == row.result.tokens_per_s
    check_key_numbers(text, minimum=10)


def test_infeasible_row_is_shown_with_its_reason():
    from archsim.report.compare import Comparison, CompareRow

    r = archsim.run("h100-sxm", "tiny")
    text = render_html(Comparison("tiny", "batch 1", [CompareRow("h100-sxm", r), CompareRow("tiny-chip", None,
                                                                                             "does not fit: 3 > 2")]))
    assert "infeasible: does not fit: 3 &gt; 2" in text


def test_wafer_run_page_draws_the_mesh_heatmaps_under_the_target():
    r = archsim.run("cs3x4", "llama3.1-70b", phase="decode", weight_dtype="int8")
    text = render_html(r)
    figures = json.loads(re.search(r'id="archsim-figures">(.*?)</script>', text, re.S).group(1))
    heatmaps = [f for f in figures.values() if f["data"][0]["type"] == "heatmap"]
    assert len(heatmaps) == 3
    sram = heatmaps[0]["data"][0]
    assert len(sram["z"]) == r.extra["core_sram_bytes"].shape[0]
    assert max(map(max, sram["z"])) == pytest.approx(r.extra["core_sram_bytes"].max(), rel=1e-3)  # 4 digits
    assert len(text.encode()) < RUN_PAGE_TARGET


def test_validate_and_generic_pages(tmp_path):
    from archsim.validation import run_cases
    from archsim.validation.report import ValidationReport

    report = ValidationReport(run_cases(["tsp"], ["tsp-mxm-ws-32x32-128x128x128"]), ["1 of 1 within tolerance"])
    text = render_html(report)
    check_key_numbers(text, minimum=2)

    class SearchResult:  # a result type with no page of its own (archsim search's, say)
        def to_dict(self):
            return {"objective": "tokens_per_s", "best": {"tp": 8, "value": 1234.5},
                    "points": [{"tp": 1, "value": 100.0}, {"tp": 8, "value": 1234.5}]}

    info = write_html(SearchResult(), tmp_path / "search.html")
    text = (tmp_path / "search.html").read_text()
    assert info["bytes"] > 0 and "1,234.5" in text
    check_key_numbers(text, minimum=4)


def test_a_bad_path_is_bad_input(gpu_run, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(archsim.ArchsimInputError, match="cannot write"):
        write_html(gpu_run, tmp_path / "file" / "page.html")


def test_cli_html_flags(tmp_path):
    from archsim.cli import main

    assert main(["run", "h100-sxm", "tiny", "--html", str(tmp_path / "run.html")]) == 0
    assert main(["explain", "h100-sxm", "tiny", "--html", str(tmp_path / "explain.html")]) == 0
    assert main(["compare", "h100-sxm", "a100-sxm-80gb", "tiny", "--html", str(tmp_path / "c.html")]) == 0
    assert main(["serve", "h100-sxm", "tiny", "--rate", "10", "--requests", "30", "--prompt-tokens", "50",
                 "--output-tokens", "5", "--timeline", str(tmp_path / "t.json"), "--html", str(tmp_path / "s.html")]) == 0
    assert 'href="t.json"' in (tmp_path / "s.html").read_text()
    assert main(["validate", "--case", "tsp-mxm-ws-32x32-128x128x128", "--html", str(tmp_path / "v.html")]) == 0
    for name in ("run", "explain", "c", "s", "v"):
        assert (tmp_path / f"{name}.html").read_text().startswith("<!DOCTYPE html>")


def test_a_run_without_html_loads_no_report_libraries():
    probe = ("import sys, contextlib, io; from archsim.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()): main(['run', 'h100-sxm', 'tiny'])\n"
             "print(sorted(m for m in ('rich', 'pandas', 'plotly', 'archsim.report.html') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_frontier_and_sweep_pages(tmp_path):
    from archsim.cli import main
    from archsim.sweep.frontier import FrontierResult, sweep

    points, skipped = sweep(["dgx-h100"], "tiny", lambda b: archsim.Scenario(phase="decode", batch=b).check(),
                            (1, 8), (0.5, 1.0), fidelity="roofline")
    text = render_html(FrontierResult("tiny decode", points, skipped))
    check_key_numbers(text, minimum=4 * len(points))
    figures = json.loads(re.search(r'id="archsim-figures">(.*?)</script>', text, re.S).group(1))
    fronts = [t for f in figures.values() for t in f["data"] if t["name"] == "Pareto frontier"]
    assert fronts and all(len(t["x"]) >= 1 for t in fronts)

    db = tmp_path / "s.sqlite"
    spec = Path(__file__).resolve().parents[1] / "examples" / "h100_bandwidth_sweep.yaml"
    assert main(["sweep", str(spec), "--db", str(db), "-j", "1", "--fidelity", "roofline", "-q"]) == 0
    assert main(["results", str(db), "--html", str(tmp_path / "sweep.html")]) == 0
    text = (tmp_path / "sweep.html").read_text()
    check_key_numbers(text, minimum=9 * 3)
    assert 'id="pareto"' in text


def test_search_html_uses_the_generic_page(tmp_path):
    from archsim.cli import main

    spec = Path(__file__).resolve().parents[1] / "examples" / "groq_space.yaml"
    assert main(["search", "groq-lpu-576", "llama3.1-8b", "--phase", "decode", "--space", str(spec), "--objective",
                 "latency", "--budget", "4", "-j", "1", "--db", str(tmp_path / "s.sqlite"), "--out",
                 str(tmp_path / "best.yaml"), "-q", "--html", str(tmp_path / "search.html")]) == 0
    text = (tmp_path / "search.html").read_text()
    assert page_data(text)["result"]["space"] == "groq-decode"
    check_key_numbers(text, minimum=3)
