"""Plots are written, non-empty, and draw the report's numbers."""
from __future__ import annotations

import pytest

from archsim.pipeline import run
from archsim.report.plots import write_plots
from archsim.report.text import fold_layers
from archsim.whatif import add_whatif
from archsim.workload.model import Scenario
from test_report_analysis import synthetic_result

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_files(files: list[str]) -> None:
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["png", "svg"]
    for f in files:
        data = open(f, "rb").read()
        assert len(data) > 5000
        assert data.startswith(PNG_MAGIC) if f.endswith(".png") else b"<svg" in data[:2000]


@pytest.fixture(scope="module")
def decode():
    r = run("h100-sxm", "llama3.1-8b", Scenario(phase="decode", batch=1, context_len=1024), mapper="aggregate")
    add_whatif(r)
    return r


@pytest.fixture(scope="module")
def decode_plots(decode, tmp_path_factory):
    return write_plots(decode, str(tmp_path_factory.mktemp("plots") / "out"))


def test_plots_written_and_breakdown_matches_report(decode, decode_plots):
    written = decode_plots
    assert {"roofline", "breakdown", "whatif"} <= set(written)
    for data in written.values():
        _check_files(data["files"])
    layers = written["breakdown"]["layers"]
    assert [row["layer"] for row in layers] == [row["label"] for row in decode.per_layer]
    for drawn, reported in zip(layers, decode.per_layer):
        for key in ("compute_s", "memory_s", "comm_s", "wait_s"):
            assert drawn[key] == reported[key]
    total = sum(sum(row[k] for k in ("compute_s", "memory_s", "comm_s", "wait_s")) for row in layers)
    assert total == pytest.approx(decode.latency_s, rel=1e-9)
    operators = written["breakdown"]["operators"]
    assert [o["op"] for o in operators] == [label for label, _, _ in fold_layers(decode.ops, decode.layers)]
    assert written["whatif"]["speedup"] == decode.whatif


def test_roofline_places_each_operator_at_its_intensity(decode, decode_plots):
    data = decode_plots["roofline"]
    folded = {label: o for label, _, o in fold_layers(decode.ops, decode.layers)}
    assert data["ops"]
    peaks = decode.peaks
    for point in data["ops"]:
        o = folded[point["op"]]
        assert point["intensity_flops_per_byte"] == pytest.approx(o.flops / o.bytes)
        assert point["achieved_flops_per_s"] == pytest.approx(o.flops / o.span_s)
        # The aggregate mapper runs at the roofline: each point sits on (never above) its roof,
        # up to whole-cycle rounding, which only shows on operators of a few cycles.
        assert point["achieved_flops_per_s"] <= point["attainable_flops_per_s"] * (1 + 1e-9)
        if o.time_s / point["repeat"] > 1e-6:
            assert point["achieved_flops_per_s"] == pytest.approx(point["attainable_flops_per_s"], rel=0.01)
        assert point["attainable_flops_per_s"] <= peaks["matrix_flops_per_s"]


def test_mesh_heatmaps_from_mapping_extra(tmp_path):
    r = synthetic_result()
    written = write_plots(r, str(tmp_path))
    assert {"sram_heatmap", "link_heatmap"} <= set(written)
    _check_files(written["sram_heatmap"]["files"])
    _check_files(written["link_heatmap"]["files"])
    assert written["sram_heatmap"]["max_bytes"] == r.extra["core_sram_bytes"].max()
    assert written["link_heatmap"]["link_bytes_y"]["max_bytes"] == 2e6
    assert "whatif" not in written  # no what-if was run on this result


def test_no_heatmaps_without_mesh_data(decode_plots):
    assert not {"sram_heatmap", "link_heatmap"} & set(decode_plots)
