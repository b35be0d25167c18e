"""Cost per million tokens (archsim/energy/cost.py): the formula, where the price comes from, overrides."""
from __future__ import annotations

import math

from archsim.energy.cost import JOULES_PER_KWH, SECONDS_PER_YEAR, cost_of
from archsim.hw.load import load_system
from archsim.pipeline import run
from archsim.workload.model import Scenario

DECODE = Scenario(phase="decode", batch=2, context_len=256)


def test_cost_formula_by_hand():
    system = load_system("h100-sxm", [("price.capital_usd", 40000), ("price.amortization_years", 5),
                                      ("price.electricity_usd_per_kwh", 0.2), ("price.pue", 1.5)])
    c = cost_of(system, latency_s=0.01, energy_j=7.2, tokens=4)
    capital = 40000 / (5 * SECONDS_PER_YEAR) * 0.01
    energy = 7.2 / JOULES_PER_KWH * 1.5 * 0.2
    assert math.isclose(c["cost_per_million_tokens_usd"], (capital + energy) / 4 * 1e6, rel_tol=1e-12)
    assert math.isclose(c["capital_usd_per_million_tokens"] + c["energy_usd_per_million_tokens"],
                        c["cost_per_million_tokens_usd"], rel_tol=1e-12)
    assert c["inputs"]["pue"] == 1.5 and "h100-sxm" in c["inputs"]["source"]


def test_system_price_covers_all_chips_else_chip_price_times_count():
    dgx = run("dgx-h100", "tiny", DECODE)
    assert dgx.cost["inputs"]["capital_usd"] == load_system("dgx-h100").price.capital_usd
    groq = run("groq-lpu-576", "tiny", DECODE)
    assert groq.cost["inputs"]["capital_usd"] == 576 * load_system("groq-lpu").chip.price.capital_usd
    assert "x 576" in groq.cost["inputs"]["source"]


def test_price_overrides_and_missing_price():
    base = run("h100-sxm", "tiny", DECODE)
    dear = run("h100-sxm", "tiny", DECODE, overrides=[("price.capital_usd", 60000)])
    assert dear.cost["capital_usd_per_million_tokens"] > 1.99 * base.cost["capital_usd_per_million_tokens"]
    none = run("h100-sxm", "tiny", DECODE, overrides=[("price.capital_usd", None)])
    assert none.cost_per_million_tokens is None and "price.capital_usd" in none.cost["note"]
    chip_set = run("dgx-h100", "tiny", DECODE, overrides=[("price.capital_usd", None),
                                                          ("chip.price.capital_usd", 10000)])
    assert chip_set.cost["inputs"]["capital_usd"] == 80000


def test_result_json_carries_energy_and_cost():
    d = run("dgx-h100", "tiny", DECODE).to_dict()
    for key in ("energy_j", "energy_per_token_j", "avg_power_w", "energy", "cost_per_million_tokens", "cost"):
        assert d[key] is not None
    assert d["energy"]["by_component_j"] and d["cost"]["inputs"]["capital_usd"] > 0
