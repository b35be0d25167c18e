"""Benchmark of the cycle-level network model (a benchmark, not a test).

Router-cycles per second on 8x8 and 32x32 meshes with uniform traffic at 0.1
flits/node/cycle for each reference router and the wafer router (preset
"wafer", 8 VCs), next to BookSim2's speed from the shipped booksim_timing.csv
(CPU seconds on a quiet machine; the wafer router has no BookSim2
counterpart), and the time of a 660x660-core row reduction (trace-driven). Prints wall and CPU (process)
time: on a shared machine the CPU figure is the fairer one, and the load
average is printed with it; and the kernel's wall time per flit per router
it crosses (ns/flit-rtr), the cost that does not depend on load or mesh size.

    .venv/bin/python tools/bench_noc.py [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time


from archsim.engine.noc import (Measurement, MessageTrace, NocConfig, SyntheticTraffic, preset,
                                reference_path, simulate_messages, simulate_synthetic)
from archsim.engine.noc.collectives import collective_trace


def _booksim_speed():
    out = {}
    with open(reference_path("booksim_timing.csv")) as f:
        for row in csv.DictReader(f):
            out[(f"mesh_{row['config']}", int(row["k"]), float(row["injection_rate"]))] = \
                float(row["router_cycles_per_cpu_s"])
    return out


def bench_uniform(name: str, k: int, rate: float, cycles: int) -> dict:
    cfg = preset(name).with_mesh(k, k)
    meas = Measurement(warmup_periods=1, sample_period=cycles // 2, max_samples=3)
    c0 = time.process_time()
    s = simulate_synthetic(cfg, SyntheticTraffic(rate=rate), meas)
    cpu = time.process_time() - c0
    # flits x routers each crossed (hops counts routers), over the whole run
    flit_routers = s.accepted_flit_rate * cfg.nodes * s.cycles * s.hops_avg
    return {"router": name, "mesh": f"{k}x{k}", "rate": rate, "cycles": s.cycles, "wall_s": s.wall_s,
            "router_cycles_per_s": s.router_cycles_per_s, "cpu_s_total": cpu,
            "router_cycles_per_cpu_s": cfg.nodes * s.cycles / cpu,
            "ns_per_flit_router": s.wall_s / flit_routers * 1e9 if flit_routers > 0 else float("nan"),
            "status": s.status, "packet_latency_avg": s.packet_latency_avg}


def bench_row_reduction(n: int, flits: int) -> dict:
    cfg = NocConfig(mesh_x=n, mesh_y=n, num_vcs=1, vc_buf_size=8, speculative=True)
    t0 = time.perf_counter()
    trace = collective_trace("row_reduce", n, n, flits)
    t1 = time.perf_counter()
    c0 = time.process_time()
    r = simulate_messages(cfg, trace)
    cpu = time.process_time() - c0
    t2 = time.perf_counter()
    return {"pattern": f"row_reduce {n}x{n}, {flits}-flit partials, chains into the middle",
            "messages": len(trace), "cycles": r.cycles, "build_s": t1 - t0, "simulate_wall_s": t2 - t1,
            "kernel_wall_s": r.wall_s, "cpu_s": cpu, "router_cycles_per_s": r.router_cycles_per_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    cycles = 6000 if args.quick else 20000
    # compile (or load the cache) outside the timed runs
    simulate_synthetic(NocConfig(mesh_x=2, mesh_y=2), SyntheticTraffic(rate=0.1),
                       Measurement(warmup_periods=0, sample_period=10, max_samples=1))
    simulate_messages(NocConfig(mesh_x=2, mesh_y=2), MessageTrace.from_arrays([0], [3]))
    booksim = _booksim_speed()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results = {"uniform": [], "load_avg": os.getloadavg()[0]}
    print(f"{'router':14} {'mesh':>6} {'rate':>5} {'cycles':>7} {'wall s':>7} {'M router-cyc/s':>15} "
          f"{'M /cpu-s':>9} {'ns/flit-rtr':>12} {'BookSim2 M/cpu-s':>17} {'speedup':>8}")
    # 8x8 and 32x32 at 0.1 (the benchmark); 16x16 at 0.05, where BookSim2 was timed
    for name in ("mesh_min", "mesh_min_spec", "mesh_typical", "wafer"):
        for k, rate in ((8, 0.1), (16, 0.05), (32, 0.1)):
            r = bench_uniform(name, k, rate, cycles if k == 8 else cycles // 4)
            ref = booksim.get((name, k, rate))
            r["booksim_router_cycles_per_cpu_s"] = ref
            speed = r["router_cycles_per_s"]
            # the CPU figure includes the Python between sample periods; ns per
            # flit-router is kernel wall time over flits x routers crossed (NaN
            # when the load is unstable: no latency, so no hop count)
            print(f"{name:14} {r['mesh']:>6} {rate:>5} {r['cycles']:>7} {r['wall_s']:>7.2f} {speed / 1e6:>15.1f} "
                  f"{r['router_cycles_per_cpu_s'] / 1e6:>9.1f} {r['ns_per_flit_router']:>12.0f} "
                  f"{'' if ref is None else f'{ref / 1e6:.2f}':>17} "
                  f"{'' if ref is None else f'{speed / ref:.0f}x':>8}"
                  f"{'' if r['status'] == 'stable' else '  ' + r['status'].split(':')[0]}")
            results["uniform"].append(r)
    red = bench_row_reduction(330 if args.quick else 660, 4)
    print(f"{red['pattern']}: {red['messages']} messages, {red['cycles']} cycles, build {red['build_s']:.2f} s, "
          f"simulate {red['simulate_wall_s']:.2f} s (kernel {red['kernel_wall_s']:.2f} s, cpu {red['cpu_s']:.2f} s)")
    results["row_reduction"] = red
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
