"""Plots of one run (`archsim run --plot DIR`), PNG and SVG, matplotlib Agg.

- roofline: the chip's roofline (matrix and vector peaks, memory-bandwidth
  slope) with each operator (folded over identical layers) placed at its
  arithmetic intensity and achieved FLOP/s;
- breakdown: time per operator and per layer, stacked compute / memory /
  communication / waiting (the numbers of the report);
- whatif: speedup of the run with each resource class 2x as fast;
- sram_heatmap, link_heatmap (mesh chips): per-core SRAM use and per-link
  traffic over the mapped wafer region, when the mapper supplies them in
  Mapping.extra (keys in docs/report.md).

Each writer returns the data series it drew, so tests can check a plot
against the report.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.workload.ops import MATRIX_KINDS
from archsim.report.text import fold_layers, time_unit
from archsim.units import format_quantity

PARTS = (("compute_s", "compute", "#4C72B0"), ("memory_s", "memory", "#DD8452"),
         ("comm_s", "communication", "#55A868"), ("wait_s", "waiting", "#8C8C8C"))
ANNOTATE_TOP = 8
# Optional per-core arrays a mesh mapper puts in Mapping.extra (see docs/report.md).
SRAM_KEY, SRAM_CAPACITY_KEY = "core_sram_bytes", "core_sram_capacity_bytes"
LINK_KEYS = ("link_bytes_x", "link_bytes_y")
ORIGIN_KEY = "region_origin"


def pyplot():
    """matplotlib.pyplot with the Agg backend (no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(result) -> str:
    scen = f"batch {result.batch}" + (f", prompt {result.prompt_len}" if result.prompt_len else "") \
        + (f", context {result.context_len}" if result.context_len else "")
    return f"{result.workload} {result.phase} on {result.chip} ({scen}, {result.dtype}, {result.fidelity})"


def save_figure(fig, out: Path, name: str) -> list[str]:
    """`fig` as OUT/NAME.png (120 dpi) and OUT/NAME.svg; closes it; the paths written."""
    paths = []
    for ext in ("png", "svg"):
        path = out / f"{name}.{ext}"
        fig.savefig(path, dpi=120 if ext == "png" else None, bbox_inches="tight")
        paths.append(str(path))
    pyplot().close(fig)
    return paths


def roofline_data(result) -> dict:
    """Operators (folded over layers) with intensity, achieved and attainable FLOP/s.

    The roofs are those of the chips the mapping used (system peaks x
    chips_used / chips): an operator cannot run faster than those."""
    p = dict(result.peaks)
    share = min(1.0, result.chips_used / p.get("chips", result.chips_used)) if result.chips_used else 1.0
    for key in ("matrix_flops_per_s", "vector_flops_per_s", "memory_bytes_per_s"):
        p[key] *= share
    rows = []
    for label, repeat, o in fold_layers(result.ops, result.layers):
        seconds = o.span_s if o.span_s > 0 else o.time_s
        if o.flops <= 0 or o.bytes <= 0 or seconds <= 0:
            continue
        intensity = o.flops / o.bytes
        peak = p["matrix_flops_per_s"] if o.kind in MATRIX_KINDS else p["vector_flops_per_s"]
        rows.append({"op": label, "kind": o.kind, "repeat": repeat, "intensity_flops_per_byte": intensity,
                     "achieved_flops_per_s": o.flops / seconds,
                     "attainable_flops_per_s": min(peak, intensity * p["memory_bytes_per_s"]),
                     "time_s": o.time_s})
    hidden = sum(1 for _, _, o in fold_layers(result.ops, result.layers) if o.flops > 0 and o.time_s <= 0
                 and o.span_s <= 0)
    return {"ops": rows, "peaks": p, "chips_share": share, "not_shown": hidden}


def _label_clusters(rows: list[dict]) -> list[tuple[tuple[float, float], str]]:
    """The most time-consuming operators' names, joined where their points coincide."""
    clusters: list[list] = []
    for r in sorted(rows, key=lambda r: -r["time_s"])[:ANNOTATE_TOP]:
        x, y = r["intensity_flops_per_byte"], r["achieved_flops_per_s"]
        name = r["op"].removeprefix("L*.")
        for c in clusters:
            if abs(np.log10(c[0][0] / x)) < 0.15 and abs(np.log10(c[0][1] / y)) < 0.15:
                c[1].append(name)
                break
        else:
            clusters.append([(x, y), [name]])
    return [(xy, ", ".join(names)) for xy, names in clusters]


def plot_roofline(result, out: Path) -> dict:
    plt = pyplot()
    data = roofline_data(result)
    p = data["peaks"]
    fig, ax = plt.subplots(figsize=(9, 6))
    xs = [r["intensity_flops_per_byte"] for r in data["ops"]] or [1.0]
    lo = min(min(xs), 0.1) / 3
    hi = max(max(xs), p["ridge_flops_per_byte"]) * 4
    x = np.geomspace(lo, hi, 400)
    bw = p["memory_bytes_per_s"]
    ax.plot(x, np.minimum(p["matrix_flops_per_s"], x * bw) / 1e12, color="black", lw=2,
            label=f"roof: matrix units {format_quantity(p['matrix_flops_per_s'], 'flops')}")
    ax.plot(x, np.minimum(p["vector_flops_per_s"], x * bw) / 1e12, color="gray", lw=1.5, ls="--",
            label=f"roof: vector units {format_quantity(p['vector_flops_per_s'], 'flops')}")
    ax.axvline(p["ridge_flops_per_byte"], color="black", lw=0.8, ls=":")
    ax.text(p["ridge_flops_per_byte"] * 1.08, 0.03, f"ridge point {p['ridge_flops_per_byte']:,.0f} FLOP/B:\n"
            "memory-bound to the left,\ncompute-bound to the right", fontsize=7, transform=ax.get_xaxis_transform())
    total = sum(r["time_s"] for r in data["ops"]) or 1.0
    kinds = sorted({r["kind"] for r in data["ops"]})
    cmap = plt.get_cmap("tab10")
    for i, kind in enumerate(kinds):
        sel = [r for r in data["ops"] if r["kind"] == kind]
        ax.scatter([r["intensity_flops_per_byte"] for r in sel], [r["achieved_flops_per_s"] / 1e12 for r in sel],
                   s=[20 + 400 * r["time_s"] / total for r in sel], color=cmap(i % 10), alpha=0.8,
                   edgecolor="black", lw=0.5, label=kind, zorder=3)
    for i, ((x0, y0), names) in enumerate(_label_clusters(data["ops"])):
        ax.annotate(names, (x0, y0 / 1e12), fontsize=7, xytext=(5, -11 if i % 2 == 0 else 6),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP per byte of memory traffic, operators unfused)")
    ax.set_ylabel("performance (TFLOP/s)")
    chips = f"{result.chips_used} of {p['chips']} chips" if data["chips_share"] < 1 else \
        f"{p.get('chips', result.chips_used)} chip{'s' if p.get('chips', 1) != 1 else ''}"
    ax.set_title(f"Roofline: {_title(result)}\nroofs of the {chips} used: {p['memory']} "
                 f"{format_quantity(bw, 'bandwidth')}; marker area = share of run time", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    legend = ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for handle in legend.legend_handles[2:]:
        handle.set_sizes([30])
    if data["not_shown"]:
        ax.text(0.01, 0.01, f"{data['not_shown']} operators took no time on their own (overlapped): not shown",
                transform=ax.transAxes, fontsize=7)
    data["files"] = save_figure(fig, out, "roofline")
    return data


def breakdown_data(result) -> dict:
    ops = fold_layers(result.ops, result.layers)
    return {"unit_s": time_unit(result.latency_s)[0], "unit": time_unit(result.latency_s)[1],
            "operators": [{"op": label, "repeat": repeat, **{k: getattr(o, k) for k, _, _ in PARTS}}
                          for label, repeat, o in ops],
            "layers": [{"layer": row["label"], **{k: row[k] for k, _, _ in PARTS}} for row in result.per_layer]}


def plot_breakdown(result, out: Path) -> dict:
    plt = pyplot()
    data = breakdown_data(result)
    scale, unit = data["unit_s"], data["unit"]
    n_ops = len(data["operators"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, max(5, 0.28 * n_ops + 2)),
                               gridspec_kw={"width_ratios": [1, 1.3]})
    names = [f"{r['op']} (x{r['repeat']})" if r["repeat"] > 1 else r["op"] for r in data["operators"]]
    y = np.arange(n_ops)
    left = np.zeros(n_ops)
    for key, label, color in PARTS:
        v = np.array([r[key] for r in data["operators"]]) / scale
        a.barh(y, v, left=left, color=color, label=label)
        left += v
    a.set_yticks(y, names, fontsize=8)
    a.invert_yaxis()
    a.set_xlabel(f"time on the critical path ({unit}, summed over layers)")
    a.set_title("per operator", fontsize=10)
    a.legend(fontsize=8)
    xs = np.arange(len(data["layers"]))
    bottom = np.zeros(len(xs))
    for key, label, color in PARTS:
        v = np.array([r[key] for r in data["layers"]]) / scale
        b.bar(xs, v, bottom=bottom, color=color, label=label, width=0.8)
        bottom += v
    step = max(1, len(xs) // 16)
    ticks = list(range(0, len(xs), step))
    if ticks and ticks[-1] != len(xs) - 1:
        ticks[-1 if len(xs) - 1 - ticks[-1] < step else len(ticks):] = [len(xs) - 1]
    b.set_xticks(ticks, [data["layers"][i]["layer"] for i in ticks], fontsize=8)
    b.set_xlabel("layer ('pre': embedding, 'post': final norm and LM head)")
    b.set_ylabel(f"time ({unit})")
    b.set_title("per layer", fontsize=10)
    b.legend(fontsize=8)
    fig.suptitle(f"Where the time goes: {_title(result)}\nlatency {result.latency_s / scale:,.2f} {unit}; "
                 f"bottleneck {result.bottleneck}", fontsize=11)
    data["files"] = save_figure(fig, out, "breakdown")
    return data


def plot_whatif(result, out: Path) -> dict:
    from archsim.report.analysis import KIND_TITLES

    plt = pyplot()
    data = {"speedup": dict(result.whatif)}
    fig, ax = plt.subplots(figsize=(7, 4))
    kinds = list(result.whatif)
    ax.bar([KIND_TITLES.get(k, k).replace(" ", "\n", 1) for k in kinds], [result.whatif[k] for k in kinds],
           color="#4C72B0")
    ax.axhline(1.0, color="black", lw=0.8)
    for i, k in enumerate(kinds):
        ax.text(i, result.whatif[k], f"{result.whatif[k]:.2f}x", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("speedup of the whole run (x)")
    ax.set_xlabel("resource class made 2x as fast (everything else unchanged)")
    ax.set_title(f"What-if: {_title(result)}", fontsize=10)
    data["files"] = save_figure(fig, out, "whatif")
    return data


def _heatmap(ax, plt, values, origin, title, label, scale, vmax=None):
    r0, c0 = origin
    rows, cols = values.shape
    im = ax.imshow(values / scale, origin="upper", aspect="auto", cmap="viridis", vmin=0,
                   vmax=None if vmax is None else vmax / scale,
                   extent=(c0 - 0.5, c0 + cols - 0.5, r0 + rows - 0.5, r0 - 0.5))
    ax.set_xlabel("core column on the wafer")
    ax.set_ylabel("core row on the wafer")
    ax.set_title(title, fontsize=10)
    plt.colorbar(im, ax=ax, label=label)


def plot_heatmaps(result, out: Path) -> dict:
    plt = pyplot()
    data = {}
    origin = tuple(result.extra.get(ORIGIN_KEY, (0, 0)))
    sram = result.extra.get(SRAM_KEY)
    if sram is not None:
        sram = np.asarray(sram, dtype=float)
        cap = result.extra.get(SRAM_CAPACITY_KEY)
        fig, ax = plt.subplots(figsize=(8, 6))
        note = f" of {cap / 1024:,.0f} KiB" if cap else ""
        title = (f"SRAM used per core{note}: {_title(result)}\n"
                 f"max {sram.max() / 1024:,.1f} KiB, mean {sram.mean() / 1024:,.1f} KiB"
                 + ("; colour scale up to the capacity" if cap else ""))
        _heatmap(ax, plt, sram, origin, title, "SRAM used (KiB)", 1024, vmax=cap)
        data["sram_heatmap"] = {"max_bytes": float(sram.max()), "mean_bytes": float(sram.mean()),
                                "files": save_figure(fig, out, "sram_heatmap")}
    links = [(k, np.asarray(result.extra[k], dtype=float)) for k in LINK_KEYS if result.extra.get(k) is not None]
    if links:
        fig, axes = plt.subplots(1, len(links), figsize=(8 * len(links), 6), squeeze=False)
        for ax, (key, v) in zip(axes[0], links):
            direction = "east-west links (between column c and c+1)" if key.endswith("x") \
                else "north-south links (between row r and r+1)"
            _heatmap(ax, plt, v, origin, f"{direction}\nmax {v.max() / 1e6:,.2f} MB", "bytes per link (MB)", 1e6)
        fig.suptitle(f"On-wafer link traffic per step: {_title(result)}", fontsize=11)
        data["link_heatmap"] = {k: {"max_bytes": float(v.max()), "sum_bytes": float(v.sum())} for k, v in links}
        data["link_heatmap"]["files"] = save_figure(fig, out, "link_heatmap")
    return data


def write_plots(result, directory: str) -> dict:
    """Write every plot that applies to `result` into `directory`; returns
    {plot name: data series and 'files'}."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimInputError(f"cannot create plot directory {directory}: {exc.strerror}") from None
    written = {"roofline": plot_roofline(result, out), "breakdown": plot_breakdown(result, out)}
    if result.whatif:
        written["whatif"] = plot_whatif(result, out)
    written.update(plot_heatmaps(result, out))
    return written
