"""Energy, power and cost of a run (docs/economics.md).

The pipeline (archsim/pipeline.py) calls `add_economics(result, ...)`, which fills a RunResult's
energy_j, energy_per_token_j, avg_power_w, energy (breakdowns, TDP check),
cost_per_million_tokens and cost (inputs). Per-family activity -> joules
resolvers live with their family (the `energy` of its archsim.family.Family, e.g.
archsim/families/gpu/energy.py); the coefficients in the chip files.
"""
from __future__ import annotations

__all__ = ["add_economics"]


def add_economics(result, system, graph, scenario, mapping=None, runs=()) -> None:
    """Fill `result`'s energy and cost fields (in place). (Imports inside: `import archsim.energy.x` must not
    pull numpy into `archsim --help`.)"""
    from archsim.energy.cost import cost_of
    from archsim.energy.model import energy_of, run_tokens

    energy = energy_of(system, graph, scenario, result, mapping, runs)
    result.energy = energy
    result.energy_j = energy.get("energy_j")
    result.energy_per_token_j = energy.get("energy_per_token_j")
    result.avg_power_w = energy.get("avg_power_w")
    cost = cost_of(system, result.latency_s, result.energy_j, run_tokens(result),
                   used=(result.chips_used, energy.get("chips_charged"), energy.get("by_component_j", {}).get(
                       "static (chips unused)", 0.0)))
    result.cost = cost
    result.cost_per_million_tokens = cost.get("cost_per_million_tokens_usd")
