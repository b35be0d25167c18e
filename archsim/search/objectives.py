"""What a search optimizes: objectives read from a run's metrics, and the Pareto front over several.

| objective  | metric                      | direction |
| latency    | latency_s (TTFT or TPOT)    | min       |
| throughput | tokens_per_s                | max       |
| energy     | energy_per_token_j          | min       |
| cost       | cost_per_million_tokens     | min       |
| goodput    | tokens_per_s of a step that meets the SLOs (--slo-tpot, --slo-ttft), else 0 | max |
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import ArchsimInputError
from archsim.spec import did_you_mean

_METRIC = {"latency": ("latency_s", "min"), "throughput": ("tokens_per_s", "max"),
           "energy": ("energy_per_token_j", "min"), "cost": ("cost_per_million_tokens", "min"),
           "goodput": ("tokens_per_s", "max")}
# With one objective, the front is drawn against a second one (said so in the output).
COMPANION = {"latency": "energy", "throughput": "energy", "energy": "latency", "cost": "latency",
             "goodput": "energy"}
UNITS = {"latency": ("us", 1e6), "throughput": ("tok/s", 1.0), "energy": ("J/token", 1.0),
         "cost": ("$/Mtok", 1.0), "goodput": ("tok/s", 1.0)}


@dataclass(frozen=True)
class Objective:
    name: str
    metric: str
    direction: str  # min or max
    slo_ttft_s: float | None = None
    slo_tpot_s: float | None = None

    def value(self, metrics: dict) -> float | None:
        """The objective of one run's metrics; None when the run has no such figure (a chip without energy
        coefficients)."""
        v = metrics.get(self.metric)
        if v is None:
            return None
        if self.name == "goodput" and not self.meets_slo(metrics):
            return 0.0
        return float(v)

    def meets_slo(self, metrics: dict) -> bool:
        ttft, tpot = metrics.get("ttft_s"), metrics.get("tpot_s")
        if self.slo_ttft_s is not None and ttft is not None and ttft > self.slo_ttft_s:
            return False
        return not (self.slo_tpot_s is not None and tpot is not None and tpot > self.slo_tpot_s)

    def minimized(self, value: float) -> float:
        """The value in minimizing form (what ranks and dominates)."""
        return value if self.direction == "min" else -value

    def show(self, value: float | None) -> str:
        if value is None:
            return "-"
        unit, scale = UNITS[self.name]
        v = value * scale
        return f"{v:,.2f} {unit}" if abs(v) >= 100 else f"{v:.4g} {unit}"


def parse_objectives(text: str, slo_ttft_s: float | None = None, slo_tpot_s: float | None = None) -> list[Objective]:
    """'latency' or 'latency,energy' -> objectives (the first is the one `best` minimizes)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ArchsimInputError("--objective needs a name: " + "|".join(_METRIC))
    out = []
    for name in names:
        if name not in _METRIC:
            raise ArchsimInputError(f"--objective {name!r} is not one of {', '.join(_METRIC)}"
                                    f"{did_you_mean(name, _METRIC)}")
        if name in (o.name for o in out):
            raise ArchsimInputError(f"--objective lists {name!r} twice")
        out.append(Objective(name, *_METRIC[name], slo_ttft_s, slo_tpot_s))
    if any(o.name == "goodput" for o in out) and slo_ttft_s is None and slo_tpot_s is None:
        raise ArchsimInputError("--objective goodput counts the tokens of steps that meet a latency SLO: give "
                                "--slo-tpot (decode) or --slo-ttft (prefill), like --slo-tpot '50 ms'")
    return out


def front_objectives(objectives: list[Objective]) -> tuple[list[Objective], bool]:
    """The objectives the Pareto front is drawn over, and whether a companion was added (one objective)."""
    if len(objectives) > 1:
        return objectives, False
    first = objectives[0]
    other = COMPANION[first.name]
    return [first, Objective(other, *_METRIC[other], first.slo_ttft_s, first.slo_tpot_s)], True


def pareto(points: list, objectives: list[Objective], values) -> list:
    """The points no other point dominates (at least as good on every objective, better on one); `values(p)`
    gives a point's values in objective order (None: the point has no such figure and is left out)."""
    rows = []
    for p in points:
        v = values(p)
        if all(x is not None for x in v):
            rows.append((p, tuple(o.minimized(x) for o, x in zip(objectives, v))))
    front = []
    for p, a in rows:
        if not any(b != a and all(y <= x for x, y in zip(a, b)) for _, b in rows):
            front.append((p, a))
    seen, out = set(), []
    for p, a in sorted(front, key=lambda r: r[1]):
        if a not in seen:  # equal values: the first listed stands for them
            seen.add(a)
            out.append(p)
    return out
