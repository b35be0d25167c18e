"""Compile (or load from the disk cache) the network kernels once per process, saying so on the first run."""
from __future__ import annotations

from archsim.engine.jit import first_compile_notice
from archsim.engine.noc._cache import _HERE, _KERNEL_SOURCES

_DONE: list = []


def ensure_compiled() -> None:
    """Run a tiny synthetic simulation and a tiny message trace: every compiled path of the network kernel,
    with the signatures real runs use (all arrays int64/float64), so the first real call does not compile."""
    if _DONE:
        return
    _DONE.append(True)
    from archsim.engine.noc.config import NocConfig, wafer_router
    from archsim.engine.noc.messages import MessageTraceBuilder, simulate_messages
    from archsim.engine.noc.synthetic import Measurement, SyntheticTraffic, simulate_synthetic

    with first_compile_notice("network", [_HERE / name for name in _KERNEL_SOURCES]):
        simulate_synthetic(NocConfig(mesh_x=2, mesh_y=2), SyntheticTraffic("uniform", 0.05),
                           Measurement(warmup_periods=1, sample_period=50, max_samples=2))
        b = MessageTraceBuilder()
        b.add(0, 3, 4)
        simulate_messages(wafer_router(2, 2), b.build())
