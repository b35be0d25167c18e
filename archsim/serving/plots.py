"""Plots of a serving run (`archsim serve --plot DIR`), PNG and SVG, matplotlib Agg.

- latency_cdf: cumulative distributions of TTFT, TPOT and end-to-end latency (finished requests);
- throughput_latency: output tokens/s against P99 TTFT and P99 TPOT, one point per rate of a rate
  search, or for a single run one point per time window (requests grouped by arrival);
- kv_use: KV-cache use, batch size and requests waiting over simulated time.
Each writer returns the series it drew.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.report.plots import pyplot as _pyplot, save_figure as _save

WINDOWS = 20


def _title(result) -> str:
    st = result.setup
    return (f"{result.workload} on {result.chip}: {st['replicas']} x {st['replica_mapping']}, {st['scheduler']['policy']}; "
            f"{result.requests_description}")


def plot_latency_cdf(result, out: Path) -> dict:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    series = {}
    for ax, key, label in zip(axes, ("ttft_s", "tpot_s", "e2e_s"), ("TTFT", "TPOT", "end-to-end")):
        values = np.sort(result.per_request[key][np.isfinite(result.per_request[key])]) * 1e3
        frac = np.arange(1, values.size + 1) / max(values.size, 1)
        ax.plot(values, frac, color="#4C72B0")
        slo = result.summary.get("slo", {}).get(key)
        if slo is not None:
            ax.axvline(slo * 1e3, color="#C44E52", linestyle="--", label="SLO")
            ax.legend(loc="lower right")
        ax.set_xlabel(f"{label} (ms)")
        ax.set_ylabel("fraction of requests")
        ax.grid(alpha=0.3)
        series[key] = values
    fig.suptitle(_title(result), fontsize=9)
    return dict(series, files=_save(fig, out, "latency_cdf"))


def throughput_latency_points(result, search=None) -> dict:
    if search is not None:
        pts = sorted(search.points, key=lambda p: p["rate"])
        return {"output_tokens_per_s": np.array([p["output_tokens_per_s"] for p in pts]),
                "ttft_p99_s": np.array([p["ttft_p99_s"] or np.nan for p in pts]),
                "tpot_p99_s": np.array([p["tpot_p99_s"] or np.nan for p in pts]),
                "label": "rate search (one point per rate)"}
    req = result.per_request
    done = req["finished"]
    edges = np.linspace(0.0, max(float(req["arrival_s"].max()), 1e-9), WINDOWS + 1)
    tput, ttft, tpot = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mine = done & (req["arrival_s"] >= lo) & (req["arrival_s"] < hi)
        if mine.sum() < 2:
            continue
        span = req["finish_s"][mine].max() - req["arrival_s"][mine].min()
        tput.append(req["output_tokens"][mine].sum() / span if span > 0 else np.nan)
        ttft.append(np.nanpercentile(req["ttft_s"][mine], 99))
        tpot.append(np.nanpercentile(req["tpot_s"][mine], 99) if np.isfinite(req["tpot_s"][mine]).any()
                    else np.nan)
    return {"output_tokens_per_s": np.array(tput), "ttft_p99_s": np.array(ttft), "tpot_p99_s": np.array(tpot),
            "label": f"{WINDOWS} windows of arrival time"}


def plot_throughput_latency(result, out: Path, search=None) -> dict:
    plt = _pyplot()
    pts = throughput_latency_points(result, search)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in zip(axes, ("ttft_p99_s", "tpot_p99_s"), ("P99 TTFT", "P99 TPOT")):
        ax.plot(pts["output_tokens_per_s"], pts[key] * 1e3, "o-" if search is not None else "o", color="#4C72B0")
        slo = result.summary.get("slo", {}).get(key.replace("_p99", ""))
        if slo is not None:
            ax.axhline(slo * 1e3, color="#C44E52", linestyle="--", label="SLO")
            ax.legend()
        ax.set_xlabel("output tokens/s")
        ax.set_ylabel(f"{label} (ms)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{_title(result)}\n{pts['label']}", fontsize=9)
    return dict(pts, files=_save(fig, out, "throughput_latency"))


def plot_kv_use(result, out: Path) -> dict:
    plt = _pyplot()
    s = result.timeseries
    fig, axes = plt.subplots(3, 1, figsize=(10, 6.5), sharex=True)
    for ax, key, label, scale in ((axes[0], "kv_used_fraction", "KV cache used (%)", 100.0),
                                  (axes[1], "batch_size", "sequences in iteration", 1.0),
                                  (axes[2], "waiting", "requests waiting", 1.0)):
        ax.plot(s["time_s"], s[key] * scale, color="#4C72B0", linewidth=1)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("simulated time (s)")
    fig.suptitle(_title(result) + " (all replicas)", fontsize=9)
    return {"time_s": s["time_s"], "kv_used_fraction": s["kv_used_fraction"], "files": _save(fig, out, "kv_use")}


def write_plots(result, directory: str, search=None) -> dict:
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimInputError(f"cannot create plot directory {directory}: {exc.strerror}") from None
    return {"latency_cdf": plot_latency_cdf(result, out),
            "throughput_latency": plot_throughput_latency(result, out, search),
            "kv_use": plot_kv_use(result, out)}
