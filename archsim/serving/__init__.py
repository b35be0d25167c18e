"""Request-level serving simulation (docs/serving.md): arrivals, schedulers, a paged KV cache and
replicas in virtual time, iterations priced by a cost function memoized on a grid.

    from archsim.serving import load_serving, serve
    result = serve("h100-sxm", "llama3.1-8b", load_serving(flags={"trace": "azure-conv", "duration": "600s"}))
    result.summary["latency"]["ttft_s"]["p99"]

Hardware-independent core: simulate_requests(arrival_s, prompt_tokens, output_tokens, cost_fn, LoopConfig(...)).
Names are imported lazily (numba and matplotlib load only when used).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    # the loop (hardware-independent)
    "LoopConfig": "archsim.serving.loop",
    "LoopRun": "archsim.serving.loop",
    "simulate_requests": "archsim.serving.loop",
    "IterationTable": "archsim.serving.iteration_table",
    # requests
    "load_serving": "archsim.serving.spec",
    "SERVING": "archsim.serving.spec",
    "generate": "archsim.serving.arrivals",
    "Requests": "archsim.serving.arrivals",
    "load_trace": "archsim.serving.traces",
    "Trace": "archsim.serving.traces",
    "scenario_preset": "archsim.serving.scenarios",
    # a system serving a model
    "kv_capacity_tokens": "archsim.serving.capacity",
    "replica": "archsim.serving.capacity",
    "IterationCost": "archsim.serving.cost",
    "prepare": "archsim.serving.serve",
    "serve": "archsim.serving.serve",
    "ServeSetup": "archsim.serving.serve",
    "ServingResult": "archsim.serving.result",
    "find_max_rate": "archsim.serving.rate_search",
    "render": "archsim.serving.text",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archsim.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
