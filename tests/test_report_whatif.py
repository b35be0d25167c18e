"""What-if by re-simulation: which resource class, made 2x faster, speeds the run up."""
from __future__ import annotations

import pytest

from archsim.pipeline import run
import archsim.whatif as whatif_module
from archsim.whatif import add_whatif, whatif
from archsim.workload.model import Scenario
from test_report_analysis import synthetic_result

DECODE = Scenario(phase="decode", batch=1, context_len=1024)
PREFILL = Scenario(phase="prefill", batch=1, prompt_len=2048)


def test_memory_bound_decode_names_memory_bandwidth():
    r = run("h100-sxm", "llama3.1-8b", DECODE, mapper="aggregate")
    found = {w.kind: w for w in add_whatif(r)}
    assert max(r.whatif, key=r.whatif.get) == "memory"
    assert r.whatif["memory"] == pytest.approx(2.0, rel=0.01)  # every operator streams weights from HBM
    assert r.whatif["compute"] == pytest.approx(1.0, abs=1e-3)
    assert found["memory"].resources == ("hbm",)
    assert r.whatif_latency_s["memory"] == pytest.approx(r.latency_s / r.whatif["memory"])


def test_compute_bound_prefill_names_compute():
    r = run("h100-sxm", "llama3.1-8b", PREFILL, mapper="aggregate")
    add_whatif(r)
    assert max(r.whatif, key=r.whatif.get) == "compute"
    assert r.whatif["compute"] > 1.3 > r.whatif["memory"]


def test_roofline_whatif_agrees_with_resimulated_aggregate():
    """The aggregate mapper reproduces the roofline, so its re-simulated what-if does too."""
    bound = run("h100-sxm", "llama3.1-8b", PREFILL, fidelity="roofline")
    simulated = run("h100-sxm", "llama3.1-8b", PREFILL, mapper="aggregate")
    add_whatif(bound)
    add_whatif(simulated)
    for kind in ("compute", "memory"):
        assert simulated.whatif[kind] == pytest.approx(bound.whatif[kind], rel=2e-3)


def test_every_resource_kind_is_tried_and_only_its_rates_change():
    r = synthetic_result()
    base_rates = [run_.graph.resource_rate.copy() for run_ in r.segment_runs]
    found = whatif(r)
    assert [w.key for w in found] == ["compute", "memory", "noc", "interconnect", "noc:link_e", "noc:link_s"]
    by_kind = {w.key: w for w in found}
    assert by_kind["interconnect"].resources == ("c2c0",) and by_kind["compute"].resources == ("core[*,*]",)
    for run_, rates in zip(r.segment_runs, base_rates):  # the stored graphs are untouched
        assert (run_.graph.resource_rate == rates).all()
    # A transfer over both links runs at the slower one's rate: only both together help.
    assert by_kind["noc:link_e"].speedup == pytest.approx(1.0)
    assert by_kind["noc"].speedup > by_kind["noc:link_e"].speedup
    # The compute-heavy LM head dominates this mapping: faster cores help most.
    assert max(by_kind.values(), key=lambda w: w.speedup).key == "compute"
    assert by_kind["interconnect"].speedup > 1.0  # the all-reduce is on the critical path


def test_modes_off_and_auto_limit(monkeypatch):
    r = run("h100-sxm", "tiny", DECODE, mapper="aggregate")
    assert add_whatif(r, "off") == [] and r.whatif == {}
    monkeypatch.setattr(whatif_module, "AUTO_MAX_TASKS", 1)
    assert add_whatif(r, "auto") == [] and r.whatif == {}
    assert any("what-if skipped" in n for n in r.notes)
    assert add_whatif(r, "on") and set(r.whatif) == {"compute", "memory"}
    assert set(r.whatif_groups) == {"compute:matrix", "compute:vector"}
