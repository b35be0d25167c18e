"""Latency-load curves: one synthetic run per offered rate, and their plot."""
from __future__ import annotations

import math
from dataclasses import replace

from archsim.engine.noc.config import NocConfig
from archsim.engine.noc.synthetic import Measurement, NocStats, SyntheticTraffic, simulate_synthetic


def latency_load_curve(cfg: NocConfig, traffic: SyntheticTraffic, rates,
                       meas: Measurement | None = None) -> list[NocStats]:
    """Simulate `traffic` at each offered rate (flits/node/cycle), in order."""
    return [simulate_synthetic(cfg, replace(traffic, rate=float(r)), meas) for r in rates]


def plot_curve(points: list[NocStats], path, title: str = "") -> None:
    """Average packet latency and accepted rate against offered rate; unstable
    loads are marked at the top of the latency axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_lat, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    stable = [p for p in points if p.stable]
    ax_lat.plot([p.offered_flit_rate for p in stable], [p.packet_latency_avg for p in stable], "o-")
    unstable = [p.offered_flit_rate for p in points if not p.stable]
    if unstable:
        top = max((p.packet_latency_avg for p in stable if not math.isnan(p.packet_latency_avg)), default=1.0)
        ax_lat.plot(unstable, [top * 1.1] * len(unstable), "x", color="red", label="unstable")
        ax_lat.legend()
    ax_lat.set_xlabel("offered load (flits/node/cycle)")
    ax_lat.set_ylabel("average packet latency (cycles)")
    ax_acc.plot([p.offered_flit_rate for p in points], [p.accepted_flit_rate for p in points], "o-")
    ax_acc.set_xlabel("offered load (flits/node/cycle)")
    ax_acc.set_ylabel("accepted (flits/node/cycle)")
    for ax in (ax_lat, ax_acc):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
