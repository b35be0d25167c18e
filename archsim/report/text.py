"""Terminal summary of a RunResult: fits one screen for a whole model
(identical layers folded into one row per operator) and expands with --per-op."""
from __future__ import annotations

from collections import OrderedDict

from archsim.report.economics import energy_lines
from archsim.report.result import OpTime, RunResult
from archsim.units import format_quantity


def fold_layers(ops: list[OpTime], layers: int) -> list[tuple[str, int, OpTime]]:
    """Rows (label, repeat, representative op with summed times) with identical layers folded.

    Operators named L<i>.<op> are grouped by <op> when every layer has the same
    FLOPs and bytes for it; otherwise they are shown per layer.
    """
    groups: "OrderedDict[str, list[OpTime]]" = OrderedDict()
    for op in ops:
        key = op.name.split(".", 1)[1] if 0 <= op.layer < layers and "." in op.name else op.name
        groups.setdefault(key, []).append(op)
    rows = []
    for key, members in groups.items():
        same = all(m.flops == members[0].flops and m.bytes == members[0].bytes for m in members)
        if len(members) > 1 and same:
            total = OpTime(f"L*.{key}", -2, members[0].kind, sum(m.flops for m in members),
                           sum(m.bytes for m in members), *(sum(getattr(m, f) for m in members)
                                                            for f in ("compute_s", "memory_s", "comm_s",
                                                                      "wait_s", "time_s")),
                           members[0].bound, sum(m.roofline_s for m in members), sum(m.span_s for m in members),
                           _folded(members[0].fused_into))
            rows.append((f"L*.{key}", len(members), total))
        else:
            rows.extend((m.name, 1, m) for m in members)
    return rows


def _folded(name: str) -> str:
    """'L0.attn_score' -> 'L*.attn_score' (the row it is folded into)."""
    return f"L*.{name.split('.', 1)[1]}" if name.startswith("L") and "." in name else name


def _bound(o: OpTime) -> str:
    if o.bound == "fused":
        return f"fused into {o.fused_into}"  # its time is in that row
    if o.bound == "hidden":
        return "hidden (overlapped by others)"
    return o.bound


def time_unit(latency_s: float) -> tuple[float, str]:
    """(seconds per unit, name) so a run's times read as plain numbers."""
    if latency_s >= 0.1:
        return 1e-3, "ms"
    if latency_s >= 1e-4:
        return 1e-6, "us"
    return 1e-9, "ns"


def _pct(x: float) -> str:
    return f"{x:.1%}" if x == 0 or x >= 0.001 else f"{x * 100:.2g}%"


def render(result: RunResult, per_op: bool = False, per_layer: bool = False) -> str:
    r = result
    scale, unit = time_unit(r.latency_s)

    def t(seconds: float) -> str:
        return f"{seconds / scale:,.2f}"

    lines = [f"archsim {r.provenance['archsim_version']}: {r.workload} on {r.chip} "
             f"({r.chips_used} chip{'s' if r.chips_used != 1 else ''} used), {r.phase}, fidelity {r.fidelity}, "
             f"mapper {r.provenance['mapper']}"]
    scen = f"batch {r.batch}, dtype {r.dtype}"
    if r.prompt_len:
        scen += f", prompt {r.prompt_len}"
    if r.context_len:
        scen += f", context {r.context_len}"
    lines.append(scen)
    header = f"{'operator':<22}{'x':>4}{'kind':>13}{'GFLOP':>11}{'MB':>10}{'compute ' + unit:>12}" \
             f"{'memory ' + unit:>11}{'comm ' + unit:>10}{'wait ' + unit:>10}{'time ' + unit:>12}  bound"
    lines += ["", header, "-" * (len(header) + 8)]
    rows = [(o.name, 1, o) for o in r.ops] if per_op else fold_layers(r.ops, r.layers)
    for label, repeat, o in rows:
        lines.append(f"{label:<22}{repeat:>4}{o.kind:>13}{o.flops / 1e9:>11.3f}{o.bytes / 1e6:>10.2f}"
                     f"{t(o.compute_s):>12}{t(o.memory_s):>11}{t(o.comm_s):>10}{t(o.wait_s):>10}"
                     f"{t(o.time_s):>12}  {_bound(o)}")
    tot = r.totals()
    lines.append("-" * (len(header) + 8))
    lines.append(f"{'total':<39}{sum(o.flops for o in r.ops) / 1e9:>11.1f}{sum(o.bytes for o in r.ops) / 1e6:>10.1f}"
                 f"{t(tot['compute_s']):>12}{t(tot['memory_s']):>11}{t(tot['comm_s']):>10}{t(tot['wait_s']):>10}"
                 f"{t(r.latency_s):>12}")
    if per_layer:
        lines += [""] + render_layers(r, scale, unit)
    lines.append("")
    lines += summary_lines(r)
    lines += energy_lines(r, by_op_class=per_op)
    lines += whatif_lines(r)
    for key, value in r.extra.items():
        if isinstance(value, float) and not isinstance(value, bool):
            lines.append(f"{key}: {value:.6g}")  # 0.000213, not 0.00021299999999999997 (JSON keeps full precision)
        elif isinstance(value, (int, str)):
            lines.append(f"{key}: {value}")
    for note in r.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def render_layers(r: RunResult, scale: float, unit: str) -> list[str]:
    header = f"{'layer':<8}{'compute ' + unit:>14}{'memory ' + unit:>14}{'comm ' + unit:>12}{'wait ' + unit:>12}" \
             f"{'time ' + unit:>14}"
    lines = [header, "-" * len(header)]
    for row in r.per_layer:
        lines.append(f"{row['label']:<8}" + "".join(f"{row[k] / scale:>{w},.2f}" for k, w in (
            ("compute_s", 14), ("memory_s", 14), ("comm_s", 12), ("wait_s", 12), ("time_s", 14))))
    return lines


def summary_lines(r: RunResult) -> list[str]:
    fq = format_quantity
    lines = []
    if r.ttft_s is not None:
        lines.append(f"TTFT {fq(r.ttft_s, 'time')}   prompt tokens/s {r.tokens_per_s:,.1f}   "
                     f"per user {r.tokens_per_s_per_user:,.1f}")
    elif r.tpot_s is not None:
        lines.append(f"TPOT {fq(r.tpot_s, 'time')}   tokens/s {r.tokens_per_s:,.1f}   "
                     f"per user {r.tokens_per_s_per_user:,.1f}")
    else:
        flops = sum(o.flops for o in r.ops)
        lines.append(f"latency {fq(r.latency_s, 'time')}   {flops / r.latency_s / 1e12:,.1f} TFLOP/s")
    if r.fidelity != "roofline":
        share = r.roofline_latency_s / r.latency_s
        lines.append(f"roofline bound {fq(r.roofline_latency_s, 'time')} ({share:.2g}x the simulated latency; "
                     "every chip of the system at peak on every operator)")
    if r.utilization:
        parts = []
        for kind, value in r.utilization.items():
            groups = [g for g in r.resource_groups if g["kind"] == kind]
            inner = ", ".join(f"{g['group']} {_pct(g['utilization'])}" for g in groups[:3]) \
                if 1 < len(groups) else ""
            parts.append(f"{kind} {_pct(value)}" + (f" ({inner}{', ...' if len(groups) > 3 else ''})"
                                                    if inner else ""))
        lines.append("utilization (busy / run time): " + "   ".join(parts))
    cp = r.critical_path
    if cp:
        fixed = cp.get("fixed_latency_s", {})
        kinds = ", ".join(f"{k} {fq(v, 'time')}" + (f" ({fq(fixed[k], 'time')} fixed latency)"
                                                    if fixed.get(k, 0) > 0.01 * cp["time_s"] else "")
                          for k, v in cp["by_resource_kind_s"].items() if v > 0)
        lines.append(f"critical path {fq(cp['time_s'], 'time')} over {cp['tasks']:,} tasks: {kinds or 'empty'}")
    lines.append(f"bottleneck: {r.bottleneck}" + (_bottleneck_detail(cp) if cp else ""))
    return lines


def _bottleneck_detail(cp: dict) -> str:
    kind = cp["bottleneck_kind"]
    top = [g for g in cp["top_resources"] if g["kind"] == kind][:2]
    where = " (" + ", ".join(f"{g['resource']} {g['share']:.1%}" for g in top) + ")" if top else ""
    text = f": {kind} resources hold {cp['bottleneck_share']:.1%} of the critical path{where}"
    if cp["top_ops"]:
        text += "\n  longest on the path: " + ", ".join(f"{o['op']} {o['share']:.1%}" for o in cp["top_ops"][:4])
    return text


def whatif_lines(r: RunResult) -> list[str]:
    from archsim.report.analysis import KIND_TITLES

    if not r.whatif:
        return []
    how = "re-simulated" if r.fidelity != "roofline" else "roofline re-evaluated"
    lines = [f"what-if, one resource class 2x as fast ({how}):",
             f"  {'resource class':<22}{'resources':<26}{'latency':>12}{'speedup':>9}"]
    groups = {}
    for g in r.resource_groups:
        groups.setdefault(g["kind"], []).append(g["group"])
    for kind, speedup in r.whatif.items():
        names = ", ".join(groups.get(kind, [])) or ("matrix, vector" if kind == "compute" else
                                                    r.peaks.get("memory", "").lower())
        if len(names) > 24:
            names = names[:21] + "..."
        title = KIND_TITLES.get(kind, kind)
        lines.append(f"  {title:<22}{names:<26}{format_quantity(r.whatif_latency_s[kind], 'time'):>12}"
                     f"{speedup:>8.2f}x")
        for key, part in r.whatif_groups.items():
            if key.split(":", 1)[0] == kind:
                label = f"only {key.split(':', 1)[1]}"
                lines.append(f"    {label:<46}{format_quantity(r.latency_s / part, 'time'):>12}{part:>8.2f}x")
    return lines
