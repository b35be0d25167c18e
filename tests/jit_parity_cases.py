"""Small engine and network runs whose results must not depend on the JIT.

`python tests/jit_parity_cases.py` prints every case's results as JSON, with
each float as its exact hex form, so that a run with NUMBA_DISABLE_JIT=1 (the
kernels as plain Python and numpy scalars) can be compared bit for bit with
the compiled one (tests/test_jit_parity.py). Wall-clock fields are left out.
"""
from __future__ import annotations

import json
import math
import sys
import time

import numpy as np

from archsim.engine import TaskGraph, TaskGraphBuilder, simulate
from archsim.engine.noc import (Measurement, MessageTrace, MessageTraceBuilder, NocConfig, SyntheticTraffic,
                                preset, simulate_messages, simulate_synthetic)
from archsim.engine.noc.collectives import collective_trace, to_task_graph
from archsim.engine.noc.config import wafer_router

_WALL = ("wall_s", "router_cycles_per_s")


def exact(x):
    """A JSON value that keeps every bit: floats as hex, arrays with their dtype."""
    if isinstance(x, np.ndarray):
        return {"dtype": str(x.dtype), "shape": list(x.shape), "v": exact(x.tolist())}
    if isinstance(x, dict):
        return {k: exact(v) for k, v in x.items() if k not in _WALL}
    if isinstance(x, (list, tuple)):
        return [exact(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return "nan" if math.isnan(x) else float(x).hex()
    return x


# --- network, synthetic traffic (BookSim's protocol, shortened) --------------------------------------------

def _synthetic(cfg, traffic, meas):
    return simulate_synthetic(cfg, traffic, meas).to_dict()


SHORT = Measurement(warmup_periods=1, sample_period=600, max_samples=4)


def synth_5x3_uniform_005():
    # the case (archsim noc --mesh 5x3 --traffic uniform --rate 0.05) with shorter sample periods
    return _synthetic(NocConfig(mesh_x=5, mesh_y=3), SyntheticTraffic("uniform", 0.05),
                      Measurement(sample_period=1000))


def synth_4x4_typical_transpose_4flit():
    return _synthetic(preset("mesh_typical").with_mesh(4, 4), SyntheticTraffic("transpose", 0.2, packet_flits=4),
                      SHORT)


def synth_4x3_spec_hotspot():
    return _synthetic(preset("mesh_min_spec").with_mesh(4, 3),
                      SyntheticTraffic("hotspot", 0.08, packet_flits=2, hotspot_nodes=(5, 2),
                                       hotspot_rates=(2.0, 1.0), hotspot_fraction=0.5), SHORT)


def synth_3x3_throughput_neighbor():
    cfg = NocConfig(mesh_x=3, mesh_y=3, num_vcs=4, vc_buf_size=3, routing_delay=1, vc_alloc_delay=2,
                    credit_delay=1, link_delay=2, input_speedup=2, alloc_iters=2)
    return _synthetic(cfg, SyntheticTraffic("neighbor", 0.6, packet_flits=3),
                      Measurement(sim_type="throughput", warmup_periods=1, sample_period=300, max_samples=3, seed=3))


def synth_4x4_unstable_uniform():
    # past saturation: aborted on the latency threshold
    return _synthetic(NocConfig(mesh_x=4, mesh_y=4, vc_buf_size=8), SyntheticTraffic("uniform", 0.7),
                      Measurement(warmup_periods=1, sample_period=400, max_samples=3, latency_thres=60.0, seed=1))


def synth_state_digest():
    """Every state array (routers, channels, terminals, packet table, free lists) after a few
    hundred cycles: results can agree while the state behind them does not (a wrong packet id
    in a head flit changes no latency)."""
    import hashlib

    from archsim.engine.noc.synthetic import _Sim
    from archsim.engine.noc.terminal import PHASE_RUNNING, PHASE_WARMUP
    out = {}
    for name, cfg, traffic in (
            ("min", NocConfig(mesh_x=5, mesh_y=3), SyntheticTraffic("uniform", 0.3)),
            ("typical", preset("mesh_typical").with_mesh(3, 3), SyntheticTraffic("uniform", 0.3, packet_flits=3))):
        sim = _Sim(cfg, traffic, Measurement())
        sim.run(150, PHASE_WARMUP)
        sim.run(300, PHASE_RUNNING)
        out[name] = {f: hashlib.sha1(a.tobytes()).hexdigest() + ":" + str(a.dtype)
                     for f, a in zip(sim.S._fields + sim.T._fields, tuple(sim.S) + tuple(sim.T))}
    return out


# --- network, message traces -------------------------------------------------------------------------------

def _random_trace(rng, nodes, n, max_flits, max_deps):
    b = MessageTraceBuilder()
    for i in range(n):
        deps = sorted(set(rng.integers(0, i, size=rng.integers(0, max_deps + 1)).tolist())) if i else []
        b.add(int(rng.integers(nodes)), int(rng.integers(nodes)), int(rng.integers(1, max_flits + 1)),
              int(rng.integers(0, 60)), after=deps, delay=int(rng.integers(0, 4)))
    return b.build()


def _messages(cfg, trace, **kw):
    r = simulate_messages(cfg, trace, **kw)
    return {"ready": r.ready_cycle, "inject": r.inject_cycle, "arrival": r.arrival_cycle, "cycles": r.cycles}


def trace_4x4_typical_random():
    cfg = preset("mesh_typical").with_mesh(4, 4)
    return _messages(cfg, _random_trace(np.random.default_rng(7), cfg.nodes, 150, 9, 3), max_packet_flits=4)


def trace_5x3_min_random_cut_short():
    cfg = NocConfig(mesh_x=5, mesh_y=3, vc_buf_size=4)
    return _messages(cfg, _random_trace(np.random.default_rng(11), cfg.nodes, 120, 6, 2), max_cycles=150)


def trace_wafer_collectives():
    cfg = wafer_router(6, 4, hop_latency=2, colors=4)
    out = {}
    for pattern in ("row_reduce", "col_broadcast", "shift2"):
        out[pattern] = _messages(cfg, collective_trace(pattern, 6, 4, 5, mesh_x=6))
    return out


# --- the task-level engine ---------------------------------------------------------------------------------

def _sim(g):
    r = simulate(g, kernels="compiled")  # small graphs would run interpreted in both processes
    return {k: getattr(r, k) for k in ("ready_cycle", "start_cycle", "end_cycle", "busy_cycles", "makespan_cycles",
                                       "critical_path", "critical_reason", "blocked_by")}


def engine_hand_graphs():
    # the graphs of tests/test_engine_simulate.py
    out = []
    b = TaskGraphBuilder(clock_hz=1e9)
    sm = b.add_resource("sms", "compute", rate=2.0, capacity=2)
    for _ in range(3):
        b.add_task(sm, work=8.0)
    out.append(_sim(b.build()))
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    d5 = b.add_delay(5)
    b.add_task(r, 10.0, deps=[d5])
    d2 = b.add_delay(2)
    b.add_task(r, 10.0, deps=[d2])
    b.add_task(r, 10.0, deps=[d5])
    out.append(_sim(b.build()))
    b = TaskGraphBuilder(clock_hz=1e9)
    l0 = b.add_resource("l0", "noc", rate=2.0, latency=1)
    l1 = b.add_resource("l1", "noc", rate=1.0, latency=3)
    b.add_transfer([l0, l1], work=10.0, latency=2)
    b.add_transfer([l0], work=2.0)
    b.add_task(l1, work=1.0)
    out.append(_sim(b.build()))
    b = TaskGraphBuilder(clock_hz=1e9)
    r1 = b.add_resource("r1", "noc", rate=1.0)
    r2 = b.add_resource("r2", "noc", rate=1.0, capacity=2)
    b.add_task(r1, 100.0)
    b.add_transfer([r2, r1], 10.0)
    b.add_task(r2, 50.0)
    out.append(_sim(b.build()))
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    d0 = b.add_delay(5)
    b.add_tasks([r, r, -1], work=[4.0, 4.0, 0.0], dep_ptr=[0, 1, 2, 3], dep_idx=[3, d0, d0])
    out.append(_sim(b.build()))
    return out


def engine_random_graphs():
    # the shapes of tests/test_engine_properties.py's strategy, drawn from a seeded generator
    out = []
    rng = np.random.default_rng(5)
    for _ in range(12):
        n_res, n = int(rng.integers(1, 5)), int(rng.integers(1, 60))
        order = rng.permutation(n)
        routes, work, latency, deps = [None] * n, [0.0] * n, [0] * n, [None] * n
        for pos, k in enumerate(order):
            shape = rng.choice(["task", "task", "transfer", "delay"])
            if shape == "delay":
                routes[k], latency[k] = [], int(rng.integers(0, 7))
            else:
                size = 1 if shape == "task" else int(rng.integers(1, min(3, n_res) + 1))
                routes[k] = rng.choice(n_res, size=size, replace=False).tolist()
                work[k], latency[k] = int(rng.integers(0, 25)) / 2, int(rng.integers(0, 3))
            deps[k] = sorted(set(order[rng.integers(0, pos, size=rng.integers(0, 4))].tolist())) if pos else []
        g = TaskGraph(
            clock_hz=1e9, resource_name=[f"r{i}" for i in range(n_res)],
            resource_kind=rng.integers(0, 4, n_res).tolist(),
            resource_rate=rng.choice([0.25, 0.5, 1.0, 1.5, 2.0, 3.0], n_res).tolist(),
            resource_latency=rng.integers(0, 4, n_res).tolist(), resource_capacity=rng.integers(1, 3, n_res).tolist(),
            route_ptr=np.concatenate([[0], np.cumsum([len(r) for r in routes], dtype=np.int64)]),
            route_res=np.array([r for route in routes for r in route], dtype=np.int64),
            task_work=work, task_latency=latency,
            dep_ptr=np.concatenate([[0], np.cumsum([len(d) for d in deps], dtype=np.int64)]),
            dep_idx=np.array([d for ds in deps for d in ds], dtype=np.int64),
            task_op=np.zeros(n, dtype=np.int64), task_layer=np.full(n, -1),
            task_category=np.zeros(n, dtype=np.int8), op_labels=["op"])
        out.append(_sim(g))
    return out


def engine_collective_graph():
    # the task-level engine's view of a trace (tests/test_noc_crosscheck.py)
    cfg = preset("mesh_typical").with_mesh(6, 4)
    return _sim(to_task_graph(cfg, collective_trace("row_reduce", 6, 4, 8, mesh_x=6)))


CASES = {f.__name__: f for f in (
    synth_5x3_uniform_005, synth_4x4_typical_transpose_4flit, synth_4x3_spec_hotspot,
    synth_3x3_throughput_neighbor, synth_4x4_unstable_uniform, synth_state_digest,
    trace_4x4_typical_random, trace_5x3_min_random_cut_short, trace_wafer_collectives,
    engine_hand_graphs, engine_random_graphs, engine_collective_graph)}


def run_all(names=None, timings=None) -> dict:
    out = {}
    for name in names or CASES:
        start = time.perf_counter()
        out[name] = exact(CASES[name]())
        if timings is not None:
            timings[name] = time.perf_counter() - start
    return out


if __name__ == "__main__":
    times = {}
    print(json.dumps(run_all(sys.argv[1:] or None, times)))
    for name, s in times.items():
        print(f"{name}: {s:.2f} s", file=sys.stderr)
