"""Validation cases of the tpu example family; the reference values are in reference.csv beside this file.

- tpu-v5e-pod-allreduce: Google's all-reduce bandwidth per v5e pod (it equals
  256 chips x their four ICI ports at their one-way rate). The prediction
  simulates the mapper's all-reduce (torus.py) of 256 MiB over the 16x16 pod
  on the engine and reports it as NCCL does bus bandwidth,
  2 (n - 1) / n x bytes / time per chip, times the chips (ASSUMED: the
  definition behind Google's figure, which the documentation does not give).
  An all-reduce that left a dimension's links idle (X, then Y) would reach
  half of it.
- tpu-v5e-pod-bisection: Google's bisection bandwidth per pod, against the links
  of the pod's torus that cross the cut halving it (one way).
The measured values are read from reference.csv, never typed here.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from archsim.validation.base import validation_case

from .torus import emit_allreduce, torus_of

REFERENCE = Path(__file__).resolve().parent / "reference.csv"
POD = "tpu-v5e-256"
ALLREDUCE_BYTES = 256 * 2**20  # large enough that per-step latencies are a few percent of the time
COMMAND = "archsim --plugin examples/plugins/tpu validate --family tpu"


def allreduce_bus_bandwidth(system, nbytes: float) -> float:
    """Bytes/s per chip of an all-reduce of `nbytes` over every chip of `system`, as NCCL's bus bandwidth."""
    from archsim.engine import TaskGraphBuilder, simulate

    from .chip import TpuChip

    chip, torus = TpuChip.from_system(system), torus_of(system)
    b = TaskGraphBuilder(clock_hz=chip.clock_hz)
    rate, hop = torus.link_bytes_per_s / chip.clock_hz, chip.cycles(torus.hop_s)
    res = SimpleNamespace(vpu=b.add_resource("vpu", "compute", float(chip.alus)),
                          ici_x=b.add_resource("ici_x", "interconnect", rate, latency=hop, capacity=2),
                          ici_y=b.add_resource("ici_y", "interconnect", rate, latency=hop, capacity=2))
    emit_allreduce(b, res, torus, system.count, nbytes, 2.0, [], "allreduce", 0, chip.clock_hz)
    seconds = simulate(b.build()).makespan_cycles / chip.clock_hz
    n = system.count
    return 2 * (n - 1) / n * nbytes / seconds


@validation_case("tpu-v5e-pod-allreduce", family="tpu", tolerance=0.10, reference=REFERENCE, command=COMMAND)
def pod_allreduce() -> float:
    from archsim.hw.load import load_system

    system = load_system(POD)
    return allreduce_bus_bandwidth(system, ALLREDUCE_BYTES) * system.count / 1e12


@validation_case("tpu-v5e-pod-bisection", family="tpu", tolerance=0.05, reference=REFERENCE, command=COMMAND)
def pod_bisection() -> float:
    from archsim.hw.load import load_system

    return torus_of(load_system(POD)).bisection_bytes_per_s() / 1e12
