"""Per-request latencies, their percentiles, throughput, goodput, time series and stability of a run.

Definitions (per request, finished requests only):
- queue_s: first scheduled - arrival; ttft_s: first token - arrival; e2e_s: last token - arrival;
- tpot_s: (last token - first token) / (output tokens - 1), undefined for a one-token output;
- itl_s: the gaps between consecutive tokens of a request (pooled over requests for percentiles).
Throughput counts tokens and requests finished over the simulated span [0, end of the run].
Goodput: the requests whose TTFT and TPOT both meet the SLO (a one-token request meets TPOT),
as a fraction of all requests (rejected and unfinished ones count as misses) and per second.
"""
from __future__ import annotations

import numpy as np

from archsim.serving.state import REJECT_NAMES, ST_FINISHED

PERCENTILES = (50, 90, 99)
TIMESERIES_POINTS = 400


def per_request(run) -> dict[str, np.ndarray]:
    done = run.status == ST_FINISHED
    nan = np.full(run.arrival_s.size, np.nan)

    def where_done(values):
        return np.where(done, values, nan)

    many = done & (run.generated > 1)
    tpot = np.where(many, (run.finish_s - run.first_token_s) / np.maximum(run.generated - 1, 1), nan)
    return {
        "arrival_s": run.arrival_s, "replica": run.replica, "prompt_tokens": run.prompt_tokens,
        "output_tokens": run.output_tokens, "finished": done,
        "queue_s": np.where(run.scheduled_s >= 0, run.scheduled_s - run.arrival_s, nan),
        "ttft_s": where_done(run.first_token_s - run.arrival_s), "tpot_s": tpot,
        "e2e_s": where_done(run.finish_s - run.arrival_s), "finish_s": where_done(run.finish_s),
        "preempt_recompute": run.recomputes, "preempt_swap": run.swaps, "reject_reason": run.reject_reason,
    }


def inter_token_latencies(run) -> np.ndarray:
    """Gaps between consecutive tokens of each finished request, pooled."""
    done = np.nonzero((run.status == ST_FINISHED) & (run.generated > 1))[0]
    if done.size == 0:
        return np.zeros(0)
    gaps = [np.diff(run.token_times(i)) for i in done]
    return np.concatenate(gaps)


def stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"count": 0, "mean": None, **{f"p{q}": None for q in PERCENTILES}, "max": None}
    return {"count": int(values.size), "mean": float(values.mean()),
            **{f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES}, "max": float(values.max())}


def meets_slo(req: dict, ttft_s: float | None, tpot_s: float | None) -> np.ndarray:
    ok = req["finished"].copy()
    if ttft_s is not None:
        ok &= req["ttft_s"] <= ttft_s
    if tpot_s is not None:
        ok &= np.isnan(req["tpot_s"]) | (req["tpot_s"] <= tpot_s)
    return ok


def summarize(run, ttft_slo_s: float | None = None, tpot_slo_s: float | None = None) -> dict:
    req = per_request(run)
    done = req["finished"]
    span = max(run.end_s, 1e-12)
    out_tokens = int(run.generated.sum())
    n = int(run.arrival_s.size)
    latency = {k: stats(req[k]) for k in ("ttft_s", "tpot_s", "e2e_s", "queue_s")}
    latency["itl_s"] = stats(inter_token_latencies(run))
    rejected = {name: int(np.count_nonzero(run.reject_reason == code)) for code, name in REJECT_NAMES.items()}
    summary = {
        "requests": n, "finished": int(done.sum()), "rejected": int(run.counters["rejected"]),
        "rejected_by_reason": {k: v for k, v in rejected.items() if v},
        "unfinished": n - int(done.sum()) - int(run.counters["rejected"]),
        "simulated_s": run.end_s, "latency": latency,
        "throughput": {"output_tokens_per_s": out_tokens / span,
                       "total_tokens_per_s": (out_tokens + int(run.prompt_tokens[done].sum())) / span,
                       "requests_per_s": int(done.sum()) / span, "output_tokens": out_tokens,
                       "offered_requests_per_s": _offered_rate(run.arrival_s)},
        "preemptions": {"recompute": int(run.counters["preempt_recompute"]),
                        "swap": int(run.counters["preempt_swap"]),
                        "requests_preempted": int(np.count_nonzero((run.recomputes + run.swaps) > 0))},
        "iterations": int(run.counters["iterations"]),
    }
    if ttft_slo_s is not None or tpot_slo_s is not None:
        ok = meets_slo(req, ttft_slo_s, tpot_slo_s)
        p99 = {"ttft_s": latency["ttft_s"]["p99"], "tpot_s": latency["tpot_s"]["p99"]}
        summary["slo"] = {
            "ttft_s": ttft_slo_s, "tpot_s": tpot_slo_s, "requests_meeting": int(ok.sum()),
            "fraction_meeting": float(ok.sum()) / n, "goodput_requests_per_s": float(ok.sum()) / span,
            "goodput_output_tokens_per_s": float(run.generated[ok].sum()) / span,
            "p99_met": bool(_p99_ok(p99["ttft_s"], ttft_slo_s) and _p99_ok(p99["tpot_s"], tpot_slo_s)
                            and summary["rejected"] == 0 and summary["unfinished"] == 0),
        }
    series = timeseries(run)
    summary["load"] = load_stats(run, series)
    summary["stability"] = stability(run, series)
    return summary


def load_stats(run, series: dict) -> dict:
    """Batch size per iteration (time-weighted mean over busy time), KV use and queue length."""
    it = run.iterations
    busy = float(it["seconds"].sum())
    blocks = run.config.blocks
    return {
        "batch_size_mean": float((it["seqs"] * it["seconds"]).sum() / busy) if busy > 0 else 0.0,
        "batch_size_max": int(it["seqs"].max()) if it["seqs"].size else 0,
        "kv_used_fraction_mean": float(series["kv_used_fraction"].mean()),
        "kv_used_fraction_max": float(it["kv_blocks"].max() / blocks) if it["kv_blocks"].size else 0.0,
        "waiting_mean": float(series["waiting"].mean()),
        "waiting_max": int(run.counters["max_waiting"]),
        "busy_fraction": float(run.replica_busy_s.sum() / (run.config.replicas * run.end_s)) if run.end_s > 0
        else 0.0,
    }


def _p99_ok(value, limit) -> bool:
    return limit is None or (value is not None and value <= limit)


def _offered_rate(arrival: np.ndarray) -> float | None:
    span = float(arrival[-1] - arrival[0]) if arrival.size > 1 else 0.0
    return (arrival.size - 1) / span if span > 0 else None


def timeseries(run, points: int = TIMESERIES_POINTS) -> dict[str, np.ndarray]:
    """Batch size (sequences in the iterations running), KV blocks in use and requests waiting, all
    replicas together, sampled at `points` evenly spaced times over the run."""
    it = run.iterations
    t = np.linspace(0.0, max(run.end_s, 1e-9), points)
    seqs, kv, waiting = np.zeros(points), np.zeros(points), np.zeros(points)
    for r in range(run.config.replicas):
        mine = np.nonzero(it["replica"] == r)[0]
        if mine.size == 0:
            continue
        start = it["start_s"][mine]
        k = np.searchsorted(start, t, side="right") - 1
        valid = k >= 0
        rows = mine[np.maximum(k, 0)]
        running = valid & (t < start[np.maximum(k, 0)] + it["seconds"][rows])
        seqs += np.where(running, it["seqs"][rows], 0)
        kv += np.where(valid, it["kv_blocks"][rows], 0)
        waiting += np.where(valid, it["waiting"][rows], 0)
    capacity = run.config.blocks * run.config.replicas
    return {"time_s": t, "batch_size": seqs, "kv_used_fraction": kv / capacity, "waiting": waiting}


def stability(run, series: dict) -> dict:
    """Unstable: a cap stopped the run, or the waiting queue kept growing over the arrival window (mean
    over its last quarter above twice the mean over its second quarter plus one full batch per replica)."""
    if run.run_status != "done":
        why = {"time_cap": "it reached the simulated-time cap with requests unfinished",
               "queue_cap": "the waiting queue reached its cap"}[run.run_status]
        return {"stable": False, "reason": why}
    last = float(run.arrival_s[-1])
    t, waiting = series["time_s"], series["waiting"]
    q2 = waiting[(t >= 0.25 * last) & (t < 0.5 * last)]
    q4 = waiting[(t >= 0.75 * last) & (t <= last)]
    if last > 0 and q2.size and q4.size:
        slack = run.config.replicas * run.config.max_seqs
        if q4.mean() > 2 * q2.mean() + slack:
            return {"stable": False, "reason": f"the waiting queue grew over the arrival window (mean "
                                               f"{q2.mean():.0f} in its second quarter, {q4.mean():.0f} in its "
                                               "last): arrivals outpace service"}
    return {"stable": True, "reason": "every request finished and the queue did not grow"}
