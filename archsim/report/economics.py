"""Energy, power and cost lines of the terminal report (archsim/energy computes them)."""
from __future__ import annotations


def joules(x: float | None) -> str:
    if x is None:
        return "-"
    for scale, unit in ((1e6, "MJ"), (1e3, "kJ"), (1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ")):
        if abs(x) >= scale:
            return f"{x / scale:,.3g} {unit}"
    return f"{x * 1e9:.3g} nJ"


def watts(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e3:,.3g} kW" if abs(x) >= 1e3 else f"{x:,.3g} W"


def dollars(x: float | None) -> str:
    if x is None:
        return "-"
    return f"${x:,.2f}" if x >= 0.01 else f"${x:.2g}"


def _shares(parts: dict[str, float], total: float, top: int = 6) -> str:
    items = sorted(parts.items(), key=lambda kv: -kv[1])
    shown = [f"{k} {joules(v)} ({v / total:.0%})" for k, v in items[:top] if v > 0]
    rest = sum(v for _, v in items[top:])
    return ", ".join(shown) + (f", other {joules(rest)}" if rest > 0 else "")


def energy_lines(r, by_op_class: bool = False) -> list[str]:
    """Energy and cost in three lines (a fourth, per operator class, with `by_op_class`)."""
    e = r.energy
    if not e:
        return []
    if "missing" in e:
        return [e["note"]]
    unit = "token" if r.phase in ("prefill", "decode") else "output row"
    lines = [f"energy {joules(e['energy_per_token_j'])}/{unit} ({joules(e['energy_j'])} per run), average power "
             f"{watts(e['avg_power_w'])} ({watts(e['power_per_used_chip_w'])} per used chip; TDP "
             f"{watts(e['tdp_w'])}); {e['note']}",
             f"  by component: {_shares(e['by_component_j'], e['energy_j'])}"]
    if by_op_class:
        lines.append(f"  by operator class: {_shares(e['by_op_class_j'], e['energy_j'])}")
    if e["over_tdp"]:
        lines.append(f"  WARNING: a used chip averages {watts(e['power_per_used_chip_w'])}, above its TDP of "
                     f"{watts(e['tdp_w'])}: the real chip would throttle, so this run would be slower (and its "
                     "energy different) than simulated")
    return lines + cost_lines(r)


def cost_lines(r) -> list[str]:
    c = r.cost
    if not c:
        return []
    if r.cost_per_million_tokens is None:
        return [f"cost: {c['note']}"]
    i = c["inputs"]
    lines = [f"cost {dollars(r.cost_per_million_tokens)} per million tokens: capital "
             f"{dollars(c['capital_usd_per_million_tokens'])} + electricity "
             f"{dollars(c['energy_usd_per_million_tokens'])} ({i['source']}: ${i['capital_usd']:,.0f} over "
             f"{i['amortization_years']:g} years; ${i['electricity_usd_per_kwh']:g}/kWh, PUE {i['pue']:g}; "
             "busy all the time)"]
    if c.get("chips_charged", 0) > c.get("chips_used", 0):
        lines.append(f"  charged to {c['charges']}; the {c['chips_used']} used chips alone (capital pro rata, no "
                     f"static power of the unused): {dollars(c['used_chips_cost_per_million_tokens_usd'])} per "
                     "million tokens")
    return lines


def energy_narrative(r) -> str | None:
    """One paragraph for `archsim explain`: where the energy goes and what a token costs."""
    e = r.energy
    if not e:
        return None
    if "missing" in e:
        return f"Energy: {e['note']}."
    total = e["energy_j"]
    static = sum(v for k, v in e["by_component_j"].items() if k.startswith("static") or k == "system overhead")
    dynamic = {k: v for k, v in e["by_component_j"].items() if not (k.startswith("static") or k == "system overhead")}
    top = max(dynamic, key=dynamic.get) if dynamic else None
    text = (f"Energy: {joules(e['energy_per_token_j'])} per token; the system draws {watts(e['avg_power_w'])} on "
            f"average, {watts(e['power_per_used_chip_w'])} per used chip against a TDP of {watts(e['tdp_w'])}. "
            f"{static / total:.0%} of it is static power, drawn whether the chips work or wait ({e['note']})")
    if top:
        moving = top in ("hbm", "l2", "sram", "noc") and dynamic[top] > 0.1 * total
        text += (f". The largest dynamic part is {top}, {dynamic[top] / total:.1%} of the total"
                 + (": moving bytes costs more than computing on them" if moving else ""))
    text += "."
    if static / total > 0.5:
        text += " With static power dominant, energy per token falls almost in proportion as throughput rises " \
                "(a larger batch, fewer idle chips)."
    if e["over_tdp"]:
        text += " The average power per used chip exceeds its TDP: the real chip would throttle."
    if r.cost_per_million_tokens is not None:
        c = r.cost
        text += (f" At {c['inputs']['source']}, a million tokens cost {dollars(r.cost_per_million_tokens)}, "
                 f"{c['capital_usd_per_million_tokens'] / r.cost_per_million_tokens:.0%} of it capital.")
    return text
