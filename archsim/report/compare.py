"""One workload on several chips or systems, side by side (`archsim compare`).

A chip on which the workload does not fit gets a row with the reason instead
of numbers; every other error stops the comparison (it is bad input).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archsim.errors import InfeasibleError
from archsim.report.economics import dollars, joules, watts
from archsim.report.analysis import KIND_TITLES, WHATIF_COLUMNS
from archsim.units import format_quantity

_SHORT = {"compute": "2x comp", "memory": "2x mem", "noc": "2x noc", "interconnect": "2x link"}


@dataclass
class CompareRow:
    chip: str
    result: object | None  # RunResult, or None when infeasible
    infeasible: str | None = None

    def to_dict(self) -> dict:
        if self.result is None:
            return {"chip": self.chip, "infeasible": self.infeasible}
        r = self.result
        return {"chip": r.chip, "chips_used": r.chips_used, "mapper": r.provenance["mapper"],
                "fidelity": r.fidelity, "latency_s": r.latency_s, "ttft_s": r.ttft_s, "tpot_s": r.tpot_s,
                "tokens_per_s": r.tokens_per_s, "tokens_per_s_per_user": r.tokens_per_s_per_user,
                "bottleneck": r.bottleneck, "bottleneck_kind": r.critical_path.get("bottleneck_kind"),
                "bottleneck_share": r.critical_path.get("bottleneck_share"), "utilization": r.utilization,
                "whatif": r.whatif, "energy_j": r.energy_j, "energy_per_token_j": r.energy_per_token_j,
                "avg_power_w": r.avg_power_w, "cost_per_million_tokens": r.cost_per_million_tokens,
                "energy": r.energy, "cost": r.cost, "provenance": r.provenance}


@dataclass
class Comparison:
    """`archsim compare`'s result: one row per chip (a RunResult, or the reason it is infeasible)."""
    workload: str
    scenario: str  # the scenario in words ("batch 1, int8, context 1024")
    rows: list[CompareRow]

    def to_dict(self) -> dict:
        """The JSON of `archsim compare --json`."""
        return {"workload": self.workload, "scenario": self.scenario, "rows": [row.to_dict() for row in self.rows]}

    def results(self) -> list:
        """The RunResults of the feasible rows, in row order."""
        return [row.result for row in self.rows if row.result is not None]

    def render(self) -> str:
        return render_compare(self.rows, self.workload, self.scenario)

    def to_pandas(self):
        """One row per chip: the columns of `to_dict()['rows']` with dicts flattened (`utilization.compute`)."""
        from archsim.report.tables import frame, flatten

        return frame([flatten(row.to_dict(), skip=("energy", "cost", "provenance")) for row in self.rows])

    def _repr_html_(self) -> str:
        from archsim.report.markup.notebook import compare_fragment

        return compare_fragment(self)


def _rate(x: float) -> str:
    """Tokens/s, compact: 24.0, 246,981, 31.63M."""
    if x >= 1e6:
        return f"{x / 1e6:,.2f}M"
    return f"{x:,.1f}" if x < 1e4 else f"{x:,.0f}"


def compare(chips: list[str], run_one: Callable[[str], object]) -> list[CompareRow]:
    """Run `run_one(chip)` for each chip; infeasible ones become rows with the reason."""
    rows = []
    for chip in chips:
        try:
            rows.append(CompareRow(chip, run_one(chip)))
        except InfeasibleError as exc:
            rows.append(CompareRow(chip, None, exc.reason))
    return rows


def render_compare(rows: list[CompareRow], workload: str, scenario_text: str) -> str:
    done = [row.result for row in rows if row.result is not None]
    phase = done[0].phase if done else ""
    latency_name = {"prefill": "TTFT", "decode": "TPOT"}.get(phase, "latency")
    kinds = [k for k in WHATIF_COLUMNS if any(k in r.whatif for r in done)]
    header = f"{'chip':<16}{'chips used':>12}  {'mapper':<12}{latency_name:>11}{'tokens/s':>11}{'per user':>11}" \
             f"{'J/token':>10}{'power':>10}{'$/Mtok':>9}{'used $/Mtok':>13}" \
             f"  {'bottleneck':<18}" + "".join(f"{_SHORT[k]:>9}" for k in kinds)
    lines = [f"{workload} {phase}, {scenario_text}", "", header, "-" * len(header)]
    for row in rows:
        if row.result is None:
            lines.append(f"{row.chip:<16}  infeasible: {row.infeasible}")
            continue
        r = row.result
        cp = r.critical_path
        neck = f"{cp.get('bottleneck_kind', r.bottleneck)} {cp.get('bottleneck_share', 0):.0%}" if cp \
            else r.bottleneck
        speedups = "".join(f"{r.whatif[k]:>8.2f}x" if k in r.whatif else f"{'-':>9}" for k in kinds)
        chips = f"{r.chips_used} of {r.peaks.get('chips', r.chips_used)}"
        lines.append(f"{r.chip:<16}{chips:>12}  {r.provenance['mapper']:<12}"
                     f"{format_quantity(r.latency_s, 'time'):>11}{_rate(r.tokens_per_s):>11}"
                     f"{_rate(r.tokens_per_s_per_user):>11}{joules(r.energy_per_token_j):>10}"
                     f"{watts(r.avg_power_w):>10}{_usd(r.cost_per_million_tokens):>9}"
                     f"{_usd(r.cost.get('used_chips_cost_per_million_tokens_usd')):>13}  {neck:<18}{speedups}")
    if kinds:
        lines.append("")
        lines.append("bottleneck: the resource class holding most of the critical path (and its share)")
        lines.append("2x columns: speedup of the whole run with one resource class twice as fast ("
                     + ", ".join(f"{_SHORT[k]}: {KIND_TITLES[k]}" for k in kinds) + ")")
    lines += _economics_notes(done)
    if len(done) > 1:
        best = max(done, key=lambda r: r.tokens_per_s)
        worst = min(done, key=lambda r: r.tokens_per_s)
        lines.append(f"highest throughput: {best.chip} ({best.tokens_per_s / worst.tokens_per_s:,.2f}x "
                     f"{worst.chip}); lowest {latency_name}: {min(done, key=lambda r: r.latency_s).chip}")
    mappers = sorted({r.provenance["mapper"] for r in done})
    if "aggregate" in mappers:
        lines.append("note: the aggregate mapper treats a system as one compute unit and one memory "
                     "(no communication); its rows are roofline-like")
    return "\n".join(lines)


def _usd(x: float | None) -> str:
    return "-" if x is None else (f"{x:,.0f}" if x >= 100 else f"{x:,.2f}" if x >= 0.01 else f"{x:.1g}")


def _economics_notes(done) -> list[str]:
    """What the energy and cost columns mean, and every row whose numbers are missing or flagged."""
    if not any(r.energy for r in done):
        return []
    lines = ["", "J/token: energy of the whole system per token (static power of every chip, used or not, plus "
                 "the dynamic energy of the run); power: its average; $/Mtok: amortized capital + electricity per "
                 "million tokens of the whole system (every chip, used or not: what `archsim run` reports), busy "
                 "all the time; used $/Mtok: the chips the mapping uses alone (capital pro rata, without the "
                 "static power of the unused chips) (docs/economics.md)"]
    for r in done:
        e, c = r.energy, r.cost
        if "missing" in e:
            lines.append(f"{r.chip}: {e['note']}")
            continue
        parts = [f"{watts(e['static_power_w'])} static over {e['chips_charged']} chips"
                 + (f" ({e['chips_charged'] - e['chips_used']} unused)" if e["chips_charged"] > e["chips_used"] else ""),
                 f"{watts(e['power_per_used_chip_w'])} per used chip (TDP {watts(e['tdp_w'])})"]
        if e["over_tdp"]:
            parts.append("ABOVE TDP: the chip would throttle")
        if r.cost_per_million_tokens is not None:
            i = c["inputs"]
            parts.append(f"price ${i['capital_usd']:,.0f} / {i['amortization_years']:g} y "
                         f"(capital {dollars(c['capital_usd_per_million_tokens'])}, electricity "
                         f"{dollars(c['energy_usd_per_million_tokens'])} per Mtok)")
        elif c:
            parts.append(c["note"])
        lines.append(f"{r.chip}: " + "; ".join(parts))
    return lines


@dataclass
class ServeComparison:
    """`archsim compare --serve`'s result: per system {chip, result (ServingResult or None), search (RateSearch
    or None), error}."""
    workload: str
    rows: list[dict]

    def to_dict(self) -> dict:
        """The JSON of `archsim compare --serve --json`."""
        return {"workload": self.workload, "rows": [
            {"chip": r["chip"], "error": r["error"],
             "result": r["result"].to_dict() if r["result"] is not None else None,
             "rate_search": r["search"].to_dict() if r["search"] is not None else None} for r in self.rows]}

    def render(self) -> str:
        return render_serve_compare(self.rows, self.workload)

    def to_pandas(self):
        """One row per system: its serving summary, flattened (`latency.ttft_s.p99`, `throughput....`)."""
        from archsim.report.tables import flatten, frame

        return frame([{"chip": r["chip"], "error": r["error"],
                       **(flatten(r["result"].summary) if r["result"] is not None else {})} for r in self.rows])


def render_serve_compare(rows: list[dict], workload: str) -> str:
    """Serving on several systems side by side (`archsim compare --serve`): one row per system, from each
    ServingResult (and its rate search, when the run searched for the highest rate meeting the SLO)."""
    head = (f"{'system':<16}{'replicas x mapping':<30}{'chips':>7}{'rate/s':>9}{'out tok/s':>11}{'TTFT p99':>10}"
            f"{'TPOT p99':>10}{'SLO met':>9}{'J/token':>9}{'$/Mtok':>9}  KV tokens/replica")
    lines = [f"serving {workload}: the same request stream on each system", head, "-" * len(head)]
    searched = any(r["search"] is not None for r in rows)
    for r in rows:
        res = r["result"]
        if res is None:
            why = r["error"] or ("no rate met the SLO" if r["search"] is not None else "no result")
            lines.append(f"{r['chip']:<16}{why}")
            continue
        s, st = res.summary, res.setup
        lat, tp, slo = s["latency"], s["throughput"], s.get("slo", {})
        rate = r["search"].best_rate if r["search"] is not None else tp["offered_requests_per_s"]
        met = slo.get("fraction_meeting")
        lines.append(
            f"{r['chip']:<16}{(str(st['replicas']) + ' x ' + st['replica_mapping'])[:29]:<30}{st['chips_used']:>7}"
            f"{rate:>9,.2f}{tp['output_tokens_per_s']:>11,.0f}{_ms(lat['ttft_s']['p99']):>10}"
            f"{_ms(lat['tpot_s']['p99']):>10}{'-' if met is None else f'{met:.0%}':>9}"
            f"{_opt(res.energy.get('energy_per_output_token_j'), '.3g'):>9}"
            f"{_opt((res.cost or {}).get('cost_per_million_tokens_usd'), ',.2f'):>9}"
            f"  {st['kv_capacity_tokens_per_replica']:,}")
    lines.append("")
    lines.append("rate/s: " + ("the highest Poisson rate meeting the SLO (P99 TTFT and TPOT, nothing rejected)"
                               if searched else "requests per second offered") + "; out tok/s, latencies, energy "
                 "and cost at that rate; J/token and $/Mtok per output token, every chip of each system charged "
                 "(static power and capital), whether or not its mapping uses it")
    notes = sorted({n for r in rows if r["result"] is not None for n in r["result"].notes})
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:,.1f}ms"


def _opt(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)
