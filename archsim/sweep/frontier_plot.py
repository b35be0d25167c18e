"""The frontier plot: one panel per efficiency metric against tokens/s per user,
every system's points (batch sizes joined by a dotted line, one marker per
system size, the frontier's points labelled b<batch>) and the Pareto frontier
over all systems as a black staircase (the boundary of what some point
reaches on both axes). PNG and SVG, Agg."""
from __future__ import annotations

from pathlib import Path

from archsim.sweep.frontier import METRICS, Point, pareto

MARKERS = "osD^v<>ph*"


def plot_frontier(points: list[Point], directory: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    metrics = [m for m in METRICS if any(getattr(p, m) is not None for p in points)]
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(5.2 * max(1, len(metrics)), 4.6), squeeze=False)
    systems = list(dict.fromkeys(p.system for p in points))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for s_i, system in enumerate(systems):
            mine = [p for p in points if p.system == system and getattr(p, metric) is not None]
            sizes = sorted({p.chips for p in mine}, reverse=True)
            for c_i, chips in enumerate(sizes):
                group = sorted((p for p in mine if p.chips == chips), key=lambda p: p.batch)
                ax.plot([p.per_user for p in group], [getattr(p, metric) for p in group], linestyle=":",
                        marker=MARKERS[c_i % len(MARKERS)], color=colors[s_i % len(colors)], alpha=0.85,
                        label=f"{system} x{chips}" if len(sizes) > 1 else system, markersize=5)
        have = [p for p in points if getattr(p, metric) is not None]
        front = [have[i] for i in pareto([(p.per_user, getattr(p, metric)) for p in have])]
        if front:
            ax.step([p.per_user for p in front], [getattr(p, metric) for p in front], where="pre", color="black",
                    linewidth=1.2, label="Pareto frontier")
            for p in front:
                ax.annotate(f"b{p.batch}", (p.per_user, getattr(p, metric)), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("tokens/s per user (interactivity)")
        ax.set_ylabel(METRICS[metric])
        ax.grid(True, which="both", alpha=0.25)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    files = [directory / "frontier.png", directory / "frontier.svg"]
    for path in files:
        fig.savefig(path, dpi=130 if path.suffix == ".png" else None)
    plt.close(fig)
    return files
