"""`archsim warmup`: compile every numba kernel once (they are cached on disk), with progress."""
from __future__ import annotations

import sys
import time

NAME = "warmup"
HELP = "compile every numba kernel ahead of time (later runs load them from the disk cache)"


def add_arguments(p) -> None:
    pass


def _engine() -> None:
    from archsim.engine.simulate import engine_kernels

    engine_kernels(0, "compiled")


def _network() -> None:
    from archsim.engine.noc.warm import ensure_compiled

    ensure_compiled()


# (what, function): each compiles one kernel set; a new compiled kernel set adds a line here.
STEPS = [("task engine", _engine), ("network (flit-level mesh)", _network)]


def run(args) -> int:
    for i, (what, step) in enumerate(STEPS, 1):
        print(f"[{i}/{len(STEPS)}] {what} ...", end="", flush=True)
        t0 = time.perf_counter()
        step()
        print(f" {time.perf_counter() - t0:.1f} s", flush=True)
    print("kernels ready; numba caches them on disk", file=sys.stderr)
    return 0
