"""`archsim warmup`: compile every numba kernel once (they are cached on disk), with progress."""
from __future__ import annotations

import sys
import time

NAME = "warmup"
HELP = "compile every numba kernel ahead of time (later runs load them from the disk cache)"


def add_arguments(p) -> None:
    pass


def _engine() -> None:
    from archsim.engine.kernel_choice import engine_kernels

    engine_kernels(0, "compiled")


def _network_synthetic() -> None:
    from archsim.engine.noc import Measurement, NocConfig, SyntheticTraffic, simulate_synthetic

    simulate_synthetic(NocConfig(mesh_x=2, mesh_y=2), SyntheticTraffic("uniform", 0.05),
                       Measurement(warmup_periods=1, sample_period=50, max_samples=2))


def _network_messages() -> None:
    from archsim.engine.noc import MessageTraceBuilder, simulate_messages
    from archsim.engine.noc.config import wafer_router

    b = MessageTraceBuilder()
    b.add(0, 3, 4)
    simulate_messages(wafer_router(2, 2), b.build())


# (what, function): each compiles one kernel set (with the signatures real runs use); a new compiled kernel
# set adds a line here.
STEPS = [("task engine", _engine), ("network, synthetic traffic (archsim noc)", _network_synthetic),
         ("network, message traces (--fidelity cycle on wafers)", _network_messages)]


def run(args) -> int:
    for i, (what, step) in enumerate(STEPS, 1):
        print(f"[{i}/{len(STEPS)}] {what} ...", end="", flush=True)
        t0 = time.perf_counter()
        step()
        print(f" {time.perf_counter() - t0:.1f} s", flush=True)
    print("kernels ready; numba caches them on disk", file=sys.stderr)
    return 0
