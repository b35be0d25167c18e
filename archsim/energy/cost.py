"""Cost per million tokens: capital amortized over the run time, plus the energy bill.

    cost = capital_usd / (amortization_years x seconds per year) x run time
         + energy_j / 3.6e6 x pue x electricity_usd_per_kwh

The system is assumed busy all the time with work like this run (no idle
hours): cost per token is the lower bound a fully utilized deployment reaches.
The price is the system file's `price` section when it sets capital_usd (it
covers every chip); otherwise the chip's, times the chip count. Every value
can be changed with --set (price.capital_usd=..., chip.price.capital_usd=...).
"""
from __future__ import annotations

SECONDS_PER_YEAR = 365.25 * 24 * 3600
JOULES_PER_KWH = 3.6e6


def price_of(system) -> tuple[dict | None, str]:
    """(price inputs, where they come from) or (None, why not)."""
    own = system.price
    if own is not None and own.capital_usd is not None:
        return own.to_dict(), f"{system.name}'s price (whole system)"
    chip = system.chip.get("price")
    if chip is not None and chip.capital_usd is not None:
        inputs = chip.to_dict()
        inputs["capital_usd"] = chip.capital_usd * system.count
        return inputs, f"{system.chip.name}'s price x {system.count}"
    return None, (f"no price: {system.name} has no price.capital_usd (add a price section, or "
                  f"--set {'chip.' if system.power is not None else ''}price.capital_usd=...)")


def cost_of(system, latency_s: float, energy_j: float | None, tokens: float) -> dict:
    """Cost inputs and results of one run; {'note': why} without a price or an energy figure."""
    inputs, source = price_of(system)
    if inputs is None:
        return {"note": source}
    if energy_j is None:
        return {"note": "no cost: the energy of the run is unknown (see the energy note)"}
    capital_usd = inputs["capital_usd"] / (inputs["amortization_years"] * SECONDS_PER_YEAR) * latency_s
    energy_usd = energy_j / JOULES_PER_KWH * inputs["pue"] * inputs["electricity_usd_per_kwh"]
    total = capital_usd + energy_usd
    return {
        "cost_per_million_tokens_usd": total / tokens * 1e6 if tokens else None,
        "capital_usd_per_million_tokens": capital_usd / tokens * 1e6 if tokens else None,
        "energy_usd_per_million_tokens": energy_usd / tokens * 1e6 if tokens else None,
        "inputs": dict(inputs, source=source),
        "note": "capital amortized over the run time with the system busy all the time (no idle hours); "
                "energy at the wall: chip energy x PUE",
    }
