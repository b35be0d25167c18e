"""Cycle-level mesh network model with BookSim2's router semantics (docs/noc.md).

Trace-driven (`simulate_messages`, for mappers and the engine) and synthetic
traffic with BookSim's measurement protocol (`simulate_synthetic`).
"""
from archsim.engine.noc._cache import purge_stale_kernel_cache

purge_stale_kernel_cache()  # before any kernel is loaded from numba's on-disk cache
from archsim.engine.noc.booksim import load_reference_results, read_booksim_config, reference_path
from archsim.engine.noc.config import PRESETS, NocConfig, preset
from archsim.engine.noc.curve import latency_load_curve, plot_curve
from archsim.engine.noc.messages import MessageResult, MessageTrace, MessageTraceBuilder, simulate_messages
from archsim.engine.noc.synthetic import PATTERNS, Measurement, NocStats, SyntheticTraffic, simulate_synthetic

__all__ = [
    "NocConfig", "PRESETS", "preset",
    "MessageTrace", "MessageTraceBuilder", "MessageResult", "simulate_messages",
    "SyntheticTraffic", "Measurement", "NocStats", "simulate_synthetic", "PATTERNS",
    "latency_load_curve", "plot_curve",
    "read_booksim_config", "reference_path", "load_reference_results",
]
