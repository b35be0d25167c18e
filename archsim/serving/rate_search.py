"""The highest arrival rate whose run meets an SLO (`archsim serve --find-max-rate`).

A rate meets the SLO when the run is stable, nothing is rejected or left unfinished, and the P99s of
TTFT and TPOT are within their limits. Every run uses the same seed, so the arrivals at rate r are
one sequence of gaps scaled by 1/r and the lengths are identical: bisection then compares like with
like. It doubles (or halves) from the starting rate until it brackets the boundary, then bisects
until the bracket is within `tolerance` (relative). The search assumes that meeting the SLO is
monotone in the rate, which holds for these runs up to the noise of one sample of arrivals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

MIN_RATE = 1e-3  # requests/s: below this the search gives up (even a trickle misses the SLO)
MAX_RUNS = 30


@dataclass
class RateSearch:
    criterion: str
    tolerance: float
    points: list = field(default_factory=list)  # one dict per run
    best: object = None  # the ServingResult at the best rate
    best_rate: float | None = None

    def to_dict(self) -> dict:
        return {"criterion": self.criterion, "tolerance": self.tolerance, "max_rate_requests_per_s": self.best_rate,
                "output_tokens_per_s_at_max_rate": (self.best.summary["throughput"]["output_tokens_per_s"]
                                                    if self.best is not None else None),
                "points": self.points}


def meets(result) -> bool:
    slo = result.summary.get("slo")
    return bool(slo and slo["p99_met"] and result.summary["stability"]["stable"])


def find_max_rate(evaluate: Callable[[float], object], ttft_s: float | None, tpot_s: float | None, *,
                  start: float = 1.0, tolerance: float = 0.02, progress: Callable[[dict], None] | None = None
                  ) -> RateSearch:
    """`evaluate(rate)` runs the system at `rate` requests/s and returns its ServingResult (with the SLO)."""
    parts = [f"P99 TTFT <= {ttft_s * 1e3:g} ms" if ttft_s is not None else "",
             f"P99 TPOT <= {tpot_s * 1e3:g} ms" if tpot_s is not None else ""]
    search = RateSearch(" and ".join(p for p in parts if p) + ", stable, nothing rejected", tolerance)

    def run(rate: float) -> bool:
        result = evaluate(rate)
        s = result.summary
        ok = meets(result)
        point = {"rate": rate, "meets": ok, "stable": s["stability"]["stable"],
                 "ttft_p99_s": s["latency"]["ttft_s"]["p99"], "tpot_p99_s": s["latency"]["tpot_s"]["p99"],
                 "output_tokens_per_s": s["throughput"]["output_tokens_per_s"],
                 "goodput_fraction": s["slo"]["fraction_meeting"], "requests": s["requests"]}
        search.points.append(point)
        if progress:
            progress(point)
        if ok and (search.best_rate is None or rate > search.best_rate):
            search.best, search.best_rate = result, rate
        return ok

    rate = start
    if run(rate):
        low, high = rate, None
        while high is None and len(search.points) < MAX_RUNS:
            rate *= 2
            if run(rate):
                low = rate
            else:
                high = rate
    else:
        low, high = None, rate
        while low is None and rate > MIN_RATE and len(search.points) < MAX_RUNS:
            rate /= 2
            if run(rate):
                low = rate
            else:
                high = rate
    if low is None or high is None:
        return search
    while (high - low) / low > tolerance and len(search.points) < MAX_RUNS:
        mid = (low + high) / 2
        if run(mid):
            low = mid
        else:
            high = mid
    return search
