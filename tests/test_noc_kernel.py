"""Properties of the network kernel: zero-load latency, delivery, ordering,
dependencies, determinism, and the destinations of each traffic pattern."""
import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.engine.noc import (Measurement, MessageTrace, MessageTraceBuilder, NocConfig,
                                SyntheticTraffic, simulate_messages, simulate_synthetic)
from archsim.errors import ArchsimInputError

SETTINGS = settings(max_examples=15 if numba.config.DISABLE_JIT else 100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _hops(cfg, s, d):
    return abs(s % cfg.mesh_x - d % cfg.mesh_x) + abs(s // cfg.mesh_x - d // cfg.mesh_x)


@st.composite
def configs(draw):
    vcs = draw(st.integers(1, 4))
    return NocConfig(
        mesh_x=draw(st.integers(1, 6)), mesh_y=draw(st.integers(1, 6)), num_vcs=vcs,
        vc_buf_size=draw(st.integers(1, 8)), wait_for_tail_credit=draw(st.booleans()),
        speculative=draw(st.booleans()), routing_delay=draw(st.integers(0, 2)),
        vc_alloc_delay=draw(st.integers(1, 3)), sw_alloc_delay=draw(st.integers(1, 3)),
        crossbar_delay=draw(st.integers(0, 3)), link_delay=draw(st.integers(0, 3)),
        credit_delay=draw(st.integers(0, 3)), input_speedup=draw(st.integers(1, vcs)),
        alloc_iters=draw(st.integers(1, 2)))


@SETTINGS
@given(cfg=configs(), data=st.data())
def test_an_isolated_flit_takes_the_zero_load_latency(cfg, data):
    s = data.draw(st.integers(0, cfg.nodes - 1))
    d = data.draw(st.integers(0, cfg.nodes - 1))
    r = simulate_messages(cfg, MessageTrace.from_arrays([s], [d], 1, [7]))
    assert r.arrival_cycle[0] - 7 == cfg.zero_load_latency(_hops(cfg, s, d))


@SETTINGS
@given(cfg=configs(), data=st.data())
def test_every_message_arrives_no_sooner_than_physics_allows(cfg, data):
    n = data.draw(st.integers(1, 40))
    node = st.integers(0, cfg.nodes - 1)
    src = data.draw(st.lists(node, min_size=n, max_size=n))
    dst = data.draw(st.lists(node, min_size=n, max_size=n))
    size = data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    earliest = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    deps = [data.draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else [] for i in range(n)]
    delay = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    split = data.draw(st.sampled_from([None, 1, 2, 4]))
    tr = MessageTrace.from_arrays(src, dst, size, earliest, deps, delay)
    r = simulate_messages(cfg, tr, max_packet_flits=split)
    assert (r.arrival_cycle >= 0).all()
    zero = np.array([cfg.zero_load_latency(_hops(cfg, s, d)) for s, d in zip(src, dst)])
    assert (r.arrival_cycle - r.ready_cycle >= zero + np.array(size) - 1).all()
    assert (r.ready_cycle >= tr.earliest).all() and (r.inject_cycle >= r.ready_cycle).all()
    for i, ds in enumerate(deps):
        for j in ds:
            assert r.ready_cycle[i] >= r.arrival_cycle[j] + delay[i]
        if ds:
            assert r.ready_cycle[i] == max(earliest[i], max(r.arrival_cycle[j] for j in ds) + delay[i])
    assert r.cycles == r.arrival_cycle.max() + 1 == r.makespan_cycles + 1


def test_one_vc_keeps_each_source_destination_pair_in_order():
    rng = np.random.default_rng(1)
    cfg = NocConfig(mesh_x=4, mesh_y=4, num_vcs=1, vc_buf_size=4)
    n = 3000
    src, dst = rng.integers(0, 16, n), rng.integers(0, 16, n)
    r = simulate_messages(cfg, MessageTrace.from_arrays(src, dst, rng.integers(1, 4, n), np.sort(rng.integers(0, 2000, n))))
    for pair in {(int(s), int(d)) for s, d in zip(src, dst)}:
        idx = np.flatnonzero((src == pair[0]) & (dst == pair[1]))
        assert (np.diff(r.arrival_cycle[idx]) > 0).all()


def test_the_same_inputs_give_the_same_cycles():
    cfg = NocConfig(mesh_x=5, mesh_y=3, num_vcs=2, vc_buf_size=3)
    rng = np.random.default_rng(7)
    tr = MessageTrace.from_arrays(rng.integers(0, 15, 500), rng.integers(0, 15, 500), 2, rng.integers(0, 300, 500))
    a, b = simulate_messages(cfg, tr), simulate_messages(cfg, tr)
    assert (a.arrival_cycle == b.arrival_cycle).all() and a.cycles == b.cycles
    meas = Measurement(sample_period=300, warmup_periods=1)
    s1 = simulate_synthetic(cfg, SyntheticTraffic(rate=0.2), meas)
    s2 = simulate_synthetic(cfg, SyntheticTraffic(rate=0.2), meas)
    s3 = simulate_synthetic(cfg, SyntheticTraffic(rate=0.2), Measurement(sample_period=300, warmup_periods=1, seed=1))
    assert s1.packet_latency_avg == s2.packet_latency_avg and s1.cycles == s2.cycles
    assert s3.packet_latency_avg != s1.packet_latency_avg


def test_idle_stretches_cost_nothing():
    cfg = NocConfig(mesh_x=200, mesh_y=200, vc_buf_size=4)
    r = simulate_messages(cfg, MessageTrace.from_arrays([0, 39999], [39999, 0], 1, [10**9, 2 * 10**9]))
    assert r.arrival_cycle.tolist() == [10**9 + cfg.zero_load_latency(398), 2 * 10**9 + cfg.zero_load_latency(398)]


@pytest.mark.parametrize("pattern,hops", [("bitcomp", 5.0), ("neighbor", 4.0), ("transpose", 3.5), ("hotspot", 3.0)])
def test_pattern_destinations(pattern, hops):
    # 4x4 mesh: average routers traversed (Manhattan + 1) of each deterministic pattern
    traffic = SyntheticTraffic(pattern=pattern, rate=0.02, hotspot_nodes=(5,))
    s = simulate_synthetic(NocConfig(mesh_x=4, mesh_y=4), traffic, Measurement(sample_period=4000, warmup_periods=1))
    assert s.stable and s.hops_avg == pytest.approx(hops, rel=0.03)


def test_uniform_load_is_conserved_and_accepted():
    s = simulate_synthetic(NocConfig(mesh_x=4, mesh_y=6), SyntheticTraffic(rate=0.15, packet_flits=3),
                           Measurement(sample_period=2000))
    assert s.stable and s.accepted_flit_rate == pytest.approx(0.15, rel=0.05)
    assert s.injected_flit_rate == pytest.approx(0.15, rel=0.05)


def test_an_empty_trace_and_a_cycle_limit():
    cfg = NocConfig(mesh_x=3, mesh_y=3)
    r = simulate_messages(cfg, MessageTrace.from_arrays([], []))
    assert r.cycles == 0 and r.arrival_cycle.size == 0 and r.makespan_cycles == 0
    r = simulate_messages(cfg, MessageTrace.from_arrays([0, 0], [8, 8], 1, [0, 100]), max_cycles=50)
    assert r.arrival_cycle[0] == cfg.zero_load_latency(4) and r.arrival_cycle[1] == -1 and r.cycles == 50


def test_builder_and_input_errors():
    b = MessageTraceBuilder()
    a = b.add(0, 3, size_flits=4)
    b.add(3, 0, after=[a])
    tr = b.build()
    cfg = NocConfig(mesh_x=2, mesh_y=2)
    r = simulate_messages(cfg, tr)
    assert r.ready_cycle[1] == r.arrival_cycle[0]
    with pytest.raises(ArchsimInputError, match="cycle"):
        simulate_messages(cfg, MessageTrace.from_arrays([0, 1], [1, 0], 1, 0, [[1], [0]]))
    with pytest.raises(ArchsimInputError, match="'dst'"):
        simulate_messages(cfg, MessageTrace.from_arrays([0], [4]))
    with pytest.raises(ArchsimInputError, match="size_flits"):
        simulate_messages(cfg, MessageTrace.from_arrays([0], [1], 0))
    with pytest.raises(ArchsimInputError, match="transpose"):
        simulate_synthetic(NocConfig(mesh_x=2, mesh_y=3), SyntheticTraffic(pattern="transpose"))


def test_trace_with_a_dependency_cycle_is_rejected():
    """Message dependencies must be acyclic (checked with the engine's topological sort)."""
    cfg = NocConfig(mesh_x=2, mesh_y=2)
    looped = MessageTrace.from_arrays([0, 1, 2], [3, 2, 1], deps=[[2], [0], [1]])
    with pytest.raises(ArchsimInputError, match="contain a cycle"):
        simulate_messages(cfg, looped)
    chained = MessageTrace.from_arrays([0, 1, 2], [3, 2, 1], deps=[[], [0], [1]])
    assert (np.diff(simulate_messages(cfg, chained).arrival_cycle) > 0).all()
