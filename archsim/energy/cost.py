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


def cost_of(system, latency_s: float, energy_j: float | None, tokens: float, used=None) -> dict:
    """Cost inputs and results of one run; {'note': why} without a price or an energy figure.

    The cost per token charges the whole system (every chip's capital and static power, used or
    not). `used` = (chips used, chips charged, static joules of the unused chips) adds the cost of
    the chips the mapping uses alone (capital pro rata, without the unused chips' static energy),
    so a 576-chip system that runs on 80 shows both."""
    inputs, source = price_of(system)
    if inputs is None:
        return {"note": source}
    if energy_j is None:
        return {"note": "no cost: the energy of the run is unknown (see the energy note)"}
    capital_usd = inputs["capital_usd"] / (inputs["amortization_years"] * SECONDS_PER_YEAR) * latency_s
    energy_usd = energy_j / JOULES_PER_KWH * inputs["pue"] * inputs["electricity_usd_per_kwh"]
    total = capital_usd + energy_usd
    out = {
        "cost_per_million_tokens_usd": total / tokens * 1e6 if tokens else None,
        "capital_usd_per_million_tokens": capital_usd / tokens * 1e6 if tokens else None,
        "energy_usd_per_million_tokens": energy_usd / tokens * 1e6 if tokens else None,
        "inputs": dict(inputs, source=source),
        "charges": f"the whole system: {system.count} chip{'s' if system.count != 1 else ''}",
        "note": "capital amortized over the run time with the system busy all the time (no idle hours); "
                "energy at the wall: chip energy x PUE",
    }
    if used is not None and used[1] and tokens:
        chips_used, chips_charged, unused_static_j = used
        share = min(1.0, chips_used / chips_charged)
        used_energy_usd = (energy_j - unused_static_j) / JOULES_PER_KWH * inputs["pue"] * \
            inputs["electricity_usd_per_kwh"]
        out.update(chips_used=chips_used, chips_charged=chips_charged,
                   used_chips_cost_per_million_tokens_usd=(capital_usd * share + used_energy_usd) / tokens * 1e6)
        out["charges"] = (f"the whole system: {chips_charged} chips, {chips_charged - chips_used} of them unused"
                          if chips_charged > chips_used else out["charges"])
    return out
