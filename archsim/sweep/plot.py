"""Sweep plots: a metric along an axis (line), a metric over two axes (heatmap), and the
trade-off between two metrics with its Pareto front (pareto). Written to a file.

Axis values written with units ("2 TB/s") are placed by their parsed value and
labelled as written; names (chips, phases) are placed in order of appearance.
"""
from __future__ import annotations

from collections import defaultdict

from archsim.errors import ArchsimInputError
from archsim.sweep.table import axes_of, check_columns, numeric, value


def _positions(values: list) -> tuple[dict, list]:
    """Distinct values -> (value -> x position, ordered values)."""
    distinct = list(dict.fromkeys(values))
    if all(numeric(v) is not None for v in distinct):
        ordered = sorted(distinct, key=numeric)
        return {v: numeric(v) for v in ordered}, ordered
    return {v: i for i, v in enumerate(distinct)}, distinct


def _require(name: str | None, flag: str, kind: str) -> str:
    if not name:
        raise ArchsimInputError(f"--plot {kind} needs {flag}")
    return name


def _axis_required(rows, name: str, flag: str) -> None:
    if name not in axes_of(rows):
        check_columns(rows, [name])  # names what exists, with a did-you-mean
        raise ArchsimInputError(f"{flag} {name!r} must be an axis of the sweep, not a metric; "
                                f"axes: {', '.join(axes_of(rows))}")


def _one_per_cell(rows, keys: list[str]) -> None:
    cells = defaultdict(list)
    for r in rows:
        cells[tuple(str(r["params"].get(k)) for k in keys)].append(r)
    crowded = next((c for c in cells.values() if len(c) > 1), None)
    if crowded:
        varying = [a for a in axes_of(rows) if a not in keys and len({str(r["params"].get(a)) for r in crowded}) > 1]
        raise ArchsimInputError(
            f"several points share one position ({', '.join(varying) or 'points repeat'}"
            f"{' also varies' if len(varying) == 1 else ' also vary' if varying else ''}); "
            f"pick one with --where AXIS=VALUE or use --by")


def plot(rows: list[dict], kind: str, output: str, x: str | None, y: str | None, by: str | None = None,
         metric: str | None = None, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        raise ArchsimInputError("no successful points to plot")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if kind == "line":
        _line(ax, ok, _require(x, "--x AXIS", kind), _require(y, "--y METRIC", kind), by)
    elif kind == "heatmap":
        _heatmap(fig, ax, ok, _require(x, "--x AXIS", kind), _require(y, "--y AXIS", kind),
                 _require(metric, "--metric METRIC", kind))
    elif kind == "pareto":
        _pareto(ax, ok, _require(x, "--x METRIC", kind), _require(y, "--y METRIC", kind))
    else:  # pragma: no cover - argparse choices
        raise ArchsimInputError(f"unknown plot kind {kind!r}")
    ax.set_title(title)
    fig.tight_layout()
    try:
        fig.savefig(output, dpi=120)
    except (OSError, ValueError) as exc:
        raise ArchsimInputError(f"cannot write plot {output}: {exc}") from None
    finally:
        plt.close(fig)


def _line(ax, rows, x: str, y: str, by: str | None) -> None:
    _axis_required(rows, x, "--x")
    check_columns(rows, [y])
    if by:
        _axis_required(rows, by, "--by")
    _one_per_cell(rows, [x] + ([by] if by else []))
    xpos, xorder = _positions([r["params"][x] for r in rows])
    groups = defaultdict(list)
    for r in rows:
        groups[r["params"].get(by) if by else None].append(r)
    _, group_order = _positions(list(groups))
    for g in group_order:
        series = sorted(groups[g], key=lambda r: xpos[r["params"][x]])
        ax.plot([xpos[r["params"][x]] for r in series], [value(r, y) for r in series], marker="o",
                label=f"{by} = {g}" if by else None)
    if len(xorder) <= 12:
        ax.set_xticks([xpos[v] for v in xorder], [str(v) for v in xorder])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if by:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)


def _heatmap(fig, ax, rows, x: str, y: str, metric: str) -> None:
    import numpy as np

    _axis_required(rows, x, "--x")
    _axis_required(rows, y, "--y")
    check_columns(rows, [metric])
    _one_per_cell(rows, [x, y])
    _, xs = _positions([r["params"][x] for r in rows])
    _, ys = _positions([r["params"][y] for r in rows])
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        v = value(r, metric)
        if isinstance(v, (int, float)):
            grid[ys.index(r["params"][y]), xs.index(r["params"][x])] = v
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_xticks(range(len(xs)), [str(v) for v in xs], rotation=30 if len(xs) > 6 else 0)
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if grid.size <= 64:
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize="x-small", color="w")


def direction(metric: str) -> str:
    """'min' for times (`latency_s`, `tpot_s`), costs (`cost_per_million_tokens`) and energies (`*_j`), 'max' for
    rates and the rest; `name:min` overrides."""
    if metric.endswith((":min", ":max")):
        return metric.rsplit(":", 1)[1]
    if metric.startswith("cost") or metric.endswith("_j"):
        return "min"
    return "min" if metric.endswith("_s") and "_per_s" not in metric else "max"


def pareto_front(points: list[tuple[float, float]], dx: str, dy: str) -> list[int]:
    """Indices of the points no other point beats in both metrics (given each one's direction)."""
    sx, sy = (1 if dx == "min" else -1), (1 if dy == "min" else -1)
    keyed = sorted(range(len(points)), key=lambda i: (sx * points[i][0], sy * points[i][1]))
    front, best = [], float("inf")
    for i in keyed:
        if sy * points[i][1] < best:
            front.append(i)
            best = sy * points[i][1]
    return front


def _pareto(ax, rows, x: str, y: str) -> None:
    dx, dy = direction(x), direction(y)
    x, y = x.split(":")[0], y.split(":")[0]
    check_columns(rows, [x, y])
    pts = [(value(r, x), value(r, y)) for r in rows]
    keep = [i for i, (a, b) in enumerate(pts) if isinstance(a, (int, float)) and isinstance(b, (int, float))]
    if not keep:
        raise ArchsimInputError(f"{x} and {y} are not both numbers in any point")
    pts = [pts[i] for i in keep]
    rows = [rows[i] for i in keep]
    front = pareto_front(pts, dx, dy)
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color="0.6", label="points")
    ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], "o-", color="C3", label="Pareto front")
    if len(front) <= 12:
        for i in front:
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in rows[i]["params"].items())
            ax.annotate(label, pts[i], fontsize="xx-small", xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"{x} ({'lower' if dx == 'min' else 'higher'} is better)")
    ax.set_ylabel(f"{y} ({'lower' if dy == 'min' else 'higher'} is better)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
