"""Plotly figure specs ({data, layout} as plain dicts: the Python package `plotly` is not needed) for
the series the report already has: the roofline and breakdown data of report/plots.py, the what-if,
the wafer heatmaps, latency CDFs, time series and Pareto scatters. No figure computes a result; unit
changes (seconds to ms) and sorting are the only transformations.
"""
from __future__ import annotations

import numpy as np

from archsim.report.plots import PARTS, roofline_data
from archsim.report.text import time_unit

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974",
           "#64B5CD"]
LOG_SPAN = 20  # a CDF whose values (and SLO) span more than this ratio gets a log axis
KIND_COLORS = {"compute": "#4C72B0", "memory": "#DD8452", "noc": "#55A868", "interconnect": "#2a9d8f",
               "latency": "#8C8C8C"}


def _axis(title: str, **extra) -> dict:
    return {"title": {"text": title}, "automargin": True, "gridcolor": "#e6e9ef", "zerolinecolor": "#c9ced8",
            **extra}


def layout(title: str, x: str = "", y: str = "", **extra) -> dict:
    return {"title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}}, "xaxis": _axis(x),
            "yaxis": _axis(y), **extra}


def roofline(result) -> dict:
    """The roofs of the chips used and every operator (folded over layers) at its intensity and
    achieved FLOP/s; marker area follows the operator's share of the run's time."""
    data = roofline_data(result)
    p = data["peaks"]
    rows = data["ops"]
    xs = [r["intensity_flops_per_byte"] for r in rows] or [1.0]
    lo, hi = min(min(xs), 0.1) / 3, max(max(xs), p["ridge_flops_per_byte"]) * 4
    bw = p["memory_bytes_per_s"]
    traces = []
    for name, peak, dash in (("matrix roof", p["matrix_flops_per_s"], "solid"),
                             ("vector roof", p["vector_flops_per_s"], "dash")):
        ridge = peak / bw
        x = [lo, ridge, hi] if lo < ridge < hi else [lo, hi]
        traces.append({"type": "scatter", "mode": "lines", "name": name, "x": x,
                       "y": [min(peak, v * bw) / 1e12 for v in x], "hoverinfo": "name",
                       "line": {"color": "black" if dash == "solid" else "gray", "dash": dash, "width": 2}})
    total = sum(r["time_s"] for r in rows) or 1.0
    for i, kind in enumerate(sorted({r["kind"] for r in rows})):
        sel = [r for r in rows if r["kind"] == kind]
        traces.append({
            "type": "scatter", "mode": "markers", "name": kind,
            "x": [r["intensity_flops_per_byte"] for r in sel], "y": [r["achieved_flops_per_s"] / 1e12 for r in sel],
            "text": [r["op"] + (f" (x{r['repeat']})" if r["repeat"] > 1 else "") for r in sel],
            "customdata": [[r["time_s"] * 1e6, r["attainable_flops_per_s"] / 1e12] for r in sel],
            "hovertemplate": "%{text}<br>%{x:.3g} FLOP/B, %{y:.4g} TFLOP/s achieved<br>attainable "
                             "%{customdata[1]:.4g} TFLOP/s; %{customdata[0]:.4g} us on the path<extra>%{fullData.name}"
                             "</extra>",
            "marker": {"size": [8 + 40 * (r["time_s"] / total) ** 0.5 for r in sel], "color": PALETTE[i % 10],
                       "line": {"color": "black", "width": 0.5}, "opacity": 0.85}})
    chips = f"{result.chips_used} of {p['chips']} chips" if data["chips_share"] < 1 else f"{p['chips']} chip(s)"
    spec = layout(f"Roofline of the {chips} used ({p['memory']}); marker size: share of run time",
                  "arithmetic intensity (FLOP per byte, unfused)", "TFLOP/s", showlegend=True)
    spec["xaxis"]["type"] = spec["yaxis"]["type"] = "log"
    spec["shapes"] = [{"type": "line", "x0": p["ridge_flops_per_byte"], "x1": p["ridge_flops_per_byte"], "y0": 0,
                       "y1": 1, "yref": "paper", "line": {"dash": "dot", "width": 1, "color": "#555"}}]
    spec["annotations"] = [{"x": np.log10(p["ridge_flops_per_byte"]), "y": 0.02, "yref": "paper", "xanchor": "left",
                            "text": f" ridge {p['ridge_flops_per_byte']:,.0f} FLOP/B", "showarrow": False,
                            "font": {"size": 11}}]
    return {"data": traces, "layout": spec}


def stacked(rows: list[dict], label_key: str, title: str, horizontal: bool, unit: tuple[float, str]) -> dict:
    """Stacked compute / memory / communication / waiting bars, one bar per row."""
    scale, name = unit
    labels = [r[label_key] for r in rows]
    traces = []
    for key, part, color in PARTS:
        values = [r[key] / scale for r in rows]
        trace = {"type": "bar", "name": part, "marker": {"color": color},
                 "hovertemplate": f"%{{{'y' if horizontal else 'x'}}}: %{{{'x' if horizontal else 'y'}:.4g}} {name} "
                                  f"{part}<extra></extra>"}
        trace.update({"x": values, "y": labels, "orientation": "h"} if horizontal else {"x": labels, "y": values})
        traces.append(trace)
    axis = f"time on the critical path ({name})"
    spec = layout(title, axis if horizontal else "", "" if horizontal else axis, barmode="stack")
    if horizontal:
        spec["yaxis"].update(autorange="reversed", type="category")
    else:
        spec["xaxis"]["type"] = "category"
    return {"data": traces, "layout": spec}


def whatif(result) -> dict:
    from archsim.report.analysis import KIND_TITLES

    kinds = list(result.whatif)
    groups = list(result.whatif_groups)
    x = [KIND_TITLES.get(k, k) for k in kinds] + [f"only {g.split(':', 1)[1]}" for g in groups]
    y = [result.whatif[k] for k in kinds] + [result.whatif_groups[g] for g in groups]
    colors = ["#4C72B0"] * len(kinds) + ["#9fb4d6"] * len(groups)
    spec = layout("Speedup of the whole run with one resource class (or group) 2x as fast", "",
                  "speedup (x)")
    spec["shapes"] = [{"type": "line", "x0": 0, "x1": 1, "xref": "paper", "y0": 1, "y1": 1,
                       "line": {"color": "black", "width": 1}}]
    spec["yaxis"]["rangemode"] = "tozero"
    return {"data": [{"type": "bar", "x": x, "y": y, "marker": {"color": colors},
                      "text": [f"{v:.2f}x" for v in y], "textposition": "outside",
                      "hovertemplate": "%{x}: %{y:.4f}x<extra></extra>"}], "layout": spec}


def _grid_values(values: np.ndarray) -> list:
    """Heatmap cells for the page: integers stay integers; other values keep 4 significant digits
    (a colour scale shows no more)."""
    v = np.asarray(values, dtype=float)
    if np.all(np.isfinite(v)) and np.all(v == np.round(v)):
        return v.astype(np.int64).tolist()
    return [[float(f"{x:.4g}") if np.isfinite(x) else None for x in row] for row in v]


def heatmap(values, origin, title: str, colorbar: str, zmax=None) -> dict:
    values = np.asarray(values, dtype=float)
    r0, c0 = origin
    rows, cols = values.shape
    trace = {"type": "heatmap", "z": _grid_values(values), "x0": c0, "dx": 1, "y0": r0, "dy": 1,
             "colorscale": "Viridis", "zmin": 0, "colorbar": {"title": {"text": colorbar, "side": "right"}},
             "hovertemplate": "core row %{y}, column %{x}: %{z:,}<extra></extra>"}
    if zmax is not None:
        trace["zmax"] = zmax
    spec = layout(title, "core column on the wafer", "core row on the wafer")
    spec["yaxis"]["autorange"] = "reversed"
    return {"data": [trace], "layout": spec}


def cdf(series: list[tuple[str, np.ndarray]], title: str, x_title: str, slo=None, points: int = 2000) -> dict:
    """Empirical CDFs: each series' values sorted, drawn at up to `points` evenly spaced ranks (every
    plotted point is one request's value and its rank)."""
    traces = []
    for i, (name, values) in enumerate(series):
        values = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
        if values.size == 0:
            continue
        idx = np.unique(np.linspace(0, values.size - 1, min(points, values.size)).round().astype(int))
        traces.append({"type": "scatter", "mode": "lines", "name": name, "x": [float(f"{v:.6g}") for v in values[idx]],
                       "y": [float(f"{v:.6g}") for v in (idx + 1) / values.size], "line": {"color": PALETTE[i % 10],
                                                                                        "shape": "hv"},
                       "hovertemplate": f"{name}: %{{x:.4g}}<br>fraction %{{y:.3f}}<extra></extra>"})
    spec = layout(title, x_title, "fraction of requests")
    spec["yaxis"]["range"] = [0, 1.02]
    low = min((min(t["x"]) for t in traces), default=0)
    high = max([max(t["x"]) for t in traces] + ([slo] if slo is not None else []), default=0)
    log = low > 0 and high / low > LOG_SPAN  # systems (or an SLO) far apart: a log axis shows each
    if log:
        spec["xaxis"]["type"] = "log"
    if slo is not None:
        spec["shapes"] = [{"type": "line", "x0": slo, "x1": slo, "y0": 0, "y1": 1, "yref": "paper",
                           "line": {"color": "#C44E52", "dash": "dash"}}]
        # plotly places annotations on a log axis by the log of the value (shapes by the value itself)
        spec["annotations"] = [{"x": float(np.log10(slo)) if log else slo, "y": 1, "yref": "paper", "text": "SLO",
                                "showarrow": False, "xanchor": "left", "font": {"color": "#C44E52"}}]
    return {"data": traces, "layout": spec}


def timeseries(t, series: list[tuple[str, np.ndarray, str]], title: str) -> dict:
    """Rows of line plots sharing the time axis: (name, values, y title)."""
    n = len(series)
    traces, spec = [], layout(title, "", "")
    gap = 0.06
    height = (1 - gap * (n - 1)) / n
    t = [float(f"{v:.6g}") for v in np.asarray(t, dtype=float)]
    for i, (name, values, y_title) in enumerate(series):
        axis = "" if i == 0 else str(i + 1)
        traces.append({"type": "scatter", "mode": "lines", "name": name, "x": t,
                       "y": [float(f"{v:.6g}") for v in np.asarray(values, dtype=float)], "xaxis": f"x{axis}",
                       "yaxis": f"y{axis}", "line": {"color": PALETTE[i % 10], "width": 1.5, "shape": "hv"},
                       "hovertemplate": f"t %{{x:.4g}} s: %{{y:.4g}} {y_title}<extra></extra>"})
        top = 1 - i * (height + gap)
        spec[f"yaxis{axis}"] = _axis(y_title, domain=[top - height, top], rangemode="tozero")
        spec[f"xaxis{axis}"] = _axis("simulated time (s)" if i == n - 1 else "", anchor=f"y{axis}",
                                     matches="x" if i else None, showticklabels=i == n - 1)
        if i == 0:
            spec["xaxis"].pop("matches")
    spec["showlegend"] = False
    return {"data": traces, "layout": spec}


def scatter_groups(groups: list[dict], title: str, x_title: str, y_title: str, log: bool = False,
                   front: dict | None = None) -> dict:
    """Points in named groups ({name, x, y, text}); `front`: a Pareto frontier ({x, y}) drawn as a staircase."""
    traces = []
    for i, g in enumerate(groups):
        traces.append({"type": "scatter", "mode": g.get("mode", "markers"), "name": g["name"], "x": g["x"],
                       "y": g["y"], "text": g.get("text"), "marker": {"size": 9, "color": PALETTE[i % 10],
                                                                        "symbol": g.get("symbol", "circle")},
                       "line": {"dash": "dot", "width": 1},
                       "hovertemplate": "%{text}<br>%{x:.4g}, %{y:.4g}<extra>%{fullData.name}</extra>"})
    if front and front["x"]:
        traces.append({"type": "scatter", "mode": "lines+markers", "name": front.get("name", "Pareto frontier"),
                       "x": front["x"], "y": front["y"], "text": front.get("text"),
                       "line": {"color": "black", "shape": front.get("shape", "linear"), "width": 1.5},
                       "marker": {"size": 5, "color": "black"},
                       "hovertemplate": "%{text}<br>%{x:.4g}, %{y:.4g}<extra>frontier</extra>"})
    spec = layout(title, x_title, y_title, showlegend=True)
    if log:
        spec["xaxis"]["type"] = spec["yaxis"]["type"] = "log"
    return {"data": traces, "layout": spec}


def bars(categories: list[str], series: list[tuple[str, list]], title: str, y_title: str, log: bool = False,
         stacked_bars: bool = False, colors: list[str] | None = None, text_format: str = "%{y:.4g}") -> dict:
    traces = []
    for i, (name, values) in enumerate(series):
        traces.append({"type": "bar", "name": name, "x": categories, "y": values,
                       "marker": {"color": (colors or PALETTE)[i % len(colors or PALETTE)]},
                       "hovertemplate": f"%{{x}}: {text_format} {name}<extra></extra>"})
    spec = layout(title, "", y_title, barmode="stack" if stacked_bars else "group", showlegend=len(series) > 1)
    if log:
        spec["yaxis"]["type"] = "log"
    spec["xaxis"]["type"] = "category"
    return {"data": traces, "layout": spec}


def time_scale(seconds: float) -> tuple[float, str]:
    """The terminal report's unit for a run's times (us for a run of milliseconds: operators read well)."""
    return time_unit(seconds)


def reading_unit(seconds: float) -> tuple[float, str]:
    """The unit in which `seconds` reads as 1 to 1000 (for bars of whole-run latencies)."""
    for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return scale, name
    return 1e-9, "ns"
