"""Report analysis: utilization, critical path, per-layer split and JSON, on the
aggregate mapper and on a hand-built mapping that uses every resource kind."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim.engine import TaskGraphBuilder
from archsim.hw.load import load_system
from archsim.hw.peaks import system_peaks
from archsim.mapping.base import Mapping, Segment
from archsim.mapping.roofline import roofline
from archsim.pipeline import run
from archsim.pipeline import result_of_mapping
from archsim.workload.lower import lower
from archsim.workload.model import Scenario, load_transformer

ROWS, COLS = 8, 10  # 80 cores: more than the trace draws one track each


def _layer_graph(graph, clock: float):
    """One decoder layer on a small 'mesh': each op split over 80 cores, a
    broadcast over two NoC links, an all-reduce over a chip-to-chip link and
    a fixed launch latency."""
    b = TaskGraphBuilder(clock_hz=clock)
    cores = [b.add_resource(f"core[{r},{c}]", "compute", rate=64.0) for r in range(ROWS) for c in range(COLS)]
    sram = b.add_resource("sram", "memory", rate=4096.0, capacity=4)
    east, south = b.add_resource("link_e", "noc", rate=8.0, latency=2), b.add_resource("link_s", "noc", rate=8.0)
    c2c = b.add_resource("c2c0", "interconnect", rate=16.0, latency=50)
    previous: list[int] = []
    for op in graph.layer_ops(0):
        start = b.add_delay(5, deps=previous, op=op.name, layer=0)
        parts = [b.add_task(core, work=op.flops / len(cores), deps=[start], op=op.name, layer=0)
                 for core in cores]
        mem = b.add_task(sram, work=op.bytes, deps=[start], op=op.name, layer=0)
        bcast = b.add_transfer([east, south], work=512.0, deps=parts + [mem], op=op.name, layer=0)
        previous = [bcast]
    allreduce = b.add_transfer([c2c], work=4096.0, deps=previous, op="L0.allreduce", layer=0)
    b.add_task(sram, work=1024.0, deps=[allreduce], op="L0.ffn_residual", layer=0)
    return b.build()


def _ops_graph(ops, clock: float):
    b = TaskGraphBuilder(clock_hz=clock)
    unit = b.add_resource("core[0,0]", "compute", rate=64.0)
    sram = b.add_resource("sram", "memory", rate=4096.0, capacity=4)
    previous: list[int] = []
    for op in ops:
        previous = [b.add_task(unit, work=op.flops, deps=previous, op=op.name, layer=op.layer),
                    b.add_task(sram, work=op.bytes, deps=previous, op=op.name, layer=op.layer)]
    return b.build()


def synthetic_result(extra: dict | None = None):
    """A RunResult from pre / layer x N / post segments on compute, memory, noc and interconnect."""
    system = load_system("wse2")
    scenario = Scenario(phase="decode", batch=2, context_len=128).check()
    graph = lower(load_transformer("tiny"), scenario)
    clock = float(system.clock_hz)
    segments = [Segment(_ops_graph(graph.pre_ops, clock), 1, "pre"),
                Segment(_layer_graph(graph, clock), graph.layers, "layer"),
                Segment(_ops_graph(graph.post_ops, clock), 1, "post")]
    heat = {"core_sram_bytes": np.arange(ROWS * COLS, dtype=float).reshape(ROWS, COLS) * 512,
            "core_sram_capacity_bytes": 48 * 1024,
            "link_bytes_x": np.ones((ROWS, COLS - 1)) * 1e6, "link_bytes_y": np.ones((ROWS - 1, COLS)) * 2e6,
            "region_origin": (100, 200)}
    mapping = Mapping("synthetic", {}, segments, chips_used=1, notes=["synthetic test mapping"],
                      extra=heat if extra is None else extra)
    bounds = roofline(graph, system_peaks(system, scenario.weight_dtype))
    return result_of_mapping(system, graph, scenario, bounds, mapping, "task")


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_result()


def test_critical_path_parts_add_up_to_latency(synthetic):
    r = synthetic
    cp = r.critical_path
    assert sum(cp["by_category_s"].values()) == pytest.approx(r.latency_s, rel=1e-9)
    assert sum(cp["by_resource_kind_s"].values()) == pytest.approx(r.latency_s, rel=1e-9)
    assert sum(o.time_s for o in r.ops) == pytest.approx(r.latency_s, rel=1e-9)
    assert cp["bottleneck_kind"] in ("compute", "memory", "noc", "interconnect", "latency")
    share = cp["by_resource_kind_s"][cp["bottleneck_kind"]] / r.latency_s
    assert cp["bottleneck_share"] == pytest.approx(share)
    assert all(v <= cp["by_resource_kind_s"][cp["bottleneck_kind"]]
               for k, v in cp["by_resource_kind_s"].items() if k != "wait")
    assert [s["label"] for s in cp["segments"]] == ["pre", "layer", "post"]
    assert cp["by_resource_kind_s"]["latency"] > 0  # the launch delays sit on the path
    # The all-reduce pays the link's 50-cycle latency once per layer instance: fixed, not rate-bound.
    assert cp["fixed_latency_s"]["interconnect"] == pytest.approx(2 * 50 / r.segment_runs[1].graph.clock_hz)
    assert cp["fixed_latency_s"]["noc"] <= cp["by_resource_kind_s"]["noc"]
    assert "compute" not in cp["fixed_latency_s"]  # the cores have no latency


def test_utilization_matches_busy_cycles(synthetic):
    r = synthetic
    assert set(r.utilization) == {"compute", "memory", "noc", "interconnect"}
    assert all(0.0 <= v <= 1.0 for v in r.utilization.values())
    layer_run = r.segment_runs[1]
    g, sim = layer_run.graph, layer_run.sim
    c2c = list(g.resource_name).index("c2c0")
    expected = sim.busy_cycles[c2c] / g.clock_hz * layer_run.repeat / r.latency_s
    assert r.utilization["interconnect"] == pytest.approx(expected)
    cores = next(x for x in r.resource_groups if x["group"] == "core[*,*]")
    assert cores["count"] == ROWS * COLS and cores["kind"] == "compute"
    assert cores["max_utilization"] >= cores["utilization"]


def test_per_layer_split_and_collective(synthetic):
    r = synthetic
    labels = [row["label"] for row in r.per_layer]
    assert labels == ["pre", "L0", "L1", "post"]
    assert sum(row["time_s"] for row in r.per_layer) == pytest.approx(r.latency_s)
    l0, l1 = r.per_layer[1], r.per_layer[2]
    assert l0["time_s"] == pytest.approx(l1["time_s"]) and l0["comm_s"] > 0
    allreduce = [o for o in r.ops if o.name.endswith("allreduce")]
    assert [o.name for o in allreduce] == ["L0.allreduce", "L1.allreduce"]
    assert all(o.kind == "collective" and o.comm_s > 0 for o in allreduce)


def test_json_carries_report_fields_and_summarizes_big_arrays(synthetic):
    big = synthetic_result({"core_sram_bytes": np.zeros((100, 100)), "small": np.arange(3)})
    d = json.loads(json.dumps(big.to_dict(), default=lambda v: v.tolist()))
    for key in ("utilization", "resource_groups", "critical_path", "per_layer", "peaks", "whatif"):
        assert key in d
    assert "segment_runs" not in d
    assert d["core_sram_bytes"]["shape"] == [100, 100] and d["small"] == [0, 1, 2]
    assert d["peaks"]["ridge_flops_per_byte"] == pytest.approx(
        d["peaks"]["matrix_flops_per_s"] / d["peaks"]["memory_bytes_per_s"])
    assert big.segment_runs  # still on the object for traces and plots


def test_aggregate_spans_equal_critical_path_times():
    """Operators run one after another on the aggregate mapper, so each one's
    span (first start to last end) is its critical-path time."""
    r = run("h100-sxm", "tiny", Scenario(phase="decode"), mapper="aggregate")
    for o in r.ops:
        assert o.span_s == pytest.approx(o.time_s, rel=1e-9, abs=1e-15)
    assert r.critical_path["bottleneck_kind"] == "memory" == r.bottleneck
    assert r.critical_path["top_resources"][0]["resource"] == "hbm"


def test_roofline_fidelity_has_report_fields():
    r = run("h100-sxm", "tiny", Scenario(phase="decode"), fidelity="roofline")
    assert r.critical_path["bottleneck_kind"] == r.bottleneck
    assert set(r.utilization) == {"compute", "memory"}
    assert sum(row["time_s"] for row in r.per_layer) == pytest.approx(r.latency_s)


@pytest.mark.parametrize("chip", ["h100-sxm", "dgx-h100", "groq-lpu", "wse2"])
def test_report_invariants_hold_for_each_family_mapper(chip):
    """Whatever mapper the chip's family uses by default, the report's parts add up."""
    from archsim.report.trace import build_trace
    from archsim.whatif import add_whatif

    r = run(chip, "tiny", Scenario(phase="decode", batch=2, context_len=256))  # tiny fits every family
    assert sum(r.critical_path["by_resource_kind_s"].values()) == pytest.approx(r.latency_s, rel=1e-9)
    assert sum(o.time_s for o in r.ops) == pytest.approx(r.latency_s, rel=1e-9)
    assert sum(row["time_s"] for row in r.per_layer) == pytest.approx(r.latency_s, rel=1e-9)
    assert all(0.0 <= v <= 1.0 + 1e-9 for v in r.utilization.values())
    add_whatif(r, "on")
    assert set(r.whatif) == set(r.utilization)
    trace = build_trace(r)
    end = max(e["ts"] + e.get("dur", 0.0) for e in trace["traceEvents"] if e["ph"] in "XC")
    assert end == pytest.approx(r.latency_s * 1e6, abs=2e-6)
