"""Chrome/Perfetto traces: valid JSON, the expected tracks and labelled events, bounded size."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from archsim.pipeline import run
from archsim.report.trace import build_trace, write_trace
from archsim.workload.model import Scenario
from test_report_analysis import COLS, ROWS, synthetic_result


def _tracks(trace: dict) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}


def _slices(trace: dict) -> list[dict]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X"]


def _no_overlap_per_track(trace: dict) -> None:
    by_tid = defaultdict(list)
    for e in _slices(trace):
        by_tid[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_tid.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end - 1e-6


@pytest.fixture(scope="module")
def aggregate():
    return run("h100-sxm", "tiny", Scenario(phase="decode", batch=2, context_len=256), mapper="aggregate")


def test_trace_file_is_valid_json_with_resource_tracks(aggregate, tmp_path):
    path = tmp_path / "run.trace.json"
    info = write_trace(aggregate, str(path))
    trace = json.loads(path.read_text())
    names = set(_tracks(trace).values())
    assert {"critical path", "segments", "matrix", "vector", "hbm"} <= names
    slices = _slices(trace)
    assert info["events"] == len(slices) and info["tracks"] == len(_tracks(trace))
    g = aggregate.segment_runs[0].graph
    hbm = [e for e in slices if _tracks(trace)[e["tid"]] == "hbm"]
    assert len(hbm) == int((g.task_resource == list(g.resource_name).index("hbm")).sum())
    op_names = {o.name for o in aggregate.ops}
    for e in slices:
        if e["cat"] != "segment":
            assert e["name"] in op_names and e["args"]["op"] == e["name"]
            m = re.match(r"L(\d+)\.", e["name"])
            assert e["args"]["layer"] == (int(m.group(1)) if m else e["args"]["layer"])
    end = max(e["ts"] + e["dur"] for e in slices)
    assert end == pytest.approx(aggregate.latency_s * 1e6, abs=2e-6)
    _no_overlap_per_track(trace)


def test_critical_path_track_matches_the_engine(aggregate):
    trace = build_trace(aggregate)
    tid = next(t for t, n in _tracks(trace).items() if n == "critical path")
    on_path = [e for e in _slices(trace) if e["tid"] == tid]
    assert len(on_path) == len(aggregate.segment_runs[0].sim.critical_path)


def test_grouped_tracks_and_expanded_layers():
    r = synthetic_result()
    trace = build_trace(r)
    names = set(_tracks(trace).values())
    assert any(n.startswith("core[*,*]") for n in names)  # 80 cores: one group, in lanes
    assert not any(re.fullmatch(r"core\[\d+,\d+\]", n) for n in names)
    assert {"link_e", "link_s", "c2c0", "sram", "fixed latency (no resource)"} <= names
    slices = _slices(trace)
    layers = {e["args"]["layer"] for e in slices if e["name"].endswith("allreduce")}
    assert layers == {0, 1}  # the layer segment repeats twice and is drawn twice, relabelled
    assert trace["otherData"]["folded"] == ""
    assert trace["otherData"]["events_not_drawn"] > 0  # 80 parallel core tasks, at most 8 lanes
    assert max(e["ts"] + e["dur"] for e in slices) == pytest.approx(r.latency_s * 1e6, abs=2e-6)
    _no_overlap_per_track(trace)
    assert ROWS * COLS > 64


def test_large_runs_fold_repeats_and_say_so():
    r = synthetic_result()
    trace = build_trace(r, max_events=200)
    slices = _slices(trace)
    assert "drawn once" in trace["otherData"]["folded"]
    assert {e["args"]["layer"] for e in slices if e["name"].endswith("allreduce")} == {0}
    marker = [e for e in slices if "not drawn" in e["name"]]
    assert len(marker) == 1 and marker[0]["args"]["repeats"] == 1
    # The folded span keeps the timeline as long as the run.
    assert max(e["ts"] + e["dur"] for e in slices) == pytest.approx(r.latency_s * 1e6, abs=2e-6)


def test_roofline_fidelity_trace():
    r = run("h100-sxm", "tiny", Scenario(phase="decode"), fidelity="roofline")
    trace = build_trace(r)
    assert {"compute (roofline)", "HBM (roofline)"} <= set(_tracks(trace).values())
    assert max(e["ts"] + e["dur"] for e in _slices(trace)) == pytest.approx(r.latency_s * 1e6, abs=2e-6)
