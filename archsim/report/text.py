"""Terminal summary of a RunResult: fits one screen for a whole model
(identical layers folded into one row per operator) and expands with --per-op."""
from __future__ import annotations

from collections import OrderedDict

from archsim.report.result import OpTime, RunResult
from archsim.units import format_quantity


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f}"


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
                           members[0].bound, sum(m.roofline_s for m in members))
            rows.append((f"L*.{key}", len(members), total))
        else:
            rows.extend((m.name, 1, m) for m in members)
    return rows


def render(result: RunResult, per_op: bool = False) -> str:
    r = result
    lines = [f"archsim {r.provenance['archsim_version']}: {r.workload} on {r.chip} "
             f"({r.chips_used} chip{'s' if r.chips_used != 1 else ''} used), {r.phase}, fidelity {r.fidelity}, "
             f"mapper {r.provenance['mapper']}"]
    scen = f"batch {r.batch}, dtype {r.dtype}"
    if r.prompt_len:
        scen += f", prompt {r.prompt_len}"
    if r.context_len:
        scen += f", context {r.context_len}"
    lines.append(scen)
    header = f"{'operator':<22}{'x':>4}{'kind':>13}{'GFLOP':>11}{'MB':>10}{'compute us':>12}{'memory us':>11}" \
             f"{'comm us':>10}{'wait us':>10}{'time us':>12}{'bound':>9}"
    lines += ["", header, "-" * len(header)]
    rows = [(o.name, 1, o) for o in r.ops] if per_op else fold_layers(r.ops, r.layers)
    for label, repeat, o in rows:
        lines.append(f"{label:<22}{repeat:>4}{o.kind:>13}{o.flops / 1e9:>11.3f}{o.bytes / 1e6:>10.2f}"
                     f"{_us(o.compute_s):>12}{_us(o.memory_s):>11}{_us(o.comm_s):>10}{_us(o.wait_s):>10}"
                     f"{_us(o.time_s):>12}{o.bound:>9}")
    t = r.totals()
    lines.append("-" * len(header))
    lines.append(f"{'total':<39}{sum(o.flops for o in r.ops) / 1e9:>11.1f}{sum(o.bytes for o in r.ops) / 1e6:>10.1f}"
                 f"{_us(t['compute_s']):>12}{_us(t['memory_s']):>11}{_us(t['comm_s']):>10}{_us(t['wait_s']):>10}"
                 f"{_us(r.latency_s):>12}")
    lines.append("")
    if r.ttft_s is not None:
        lines.append(f"TTFT {format_quantity(r.ttft_s, 'time')}   prompt tokens/s {r.tokens_per_s:,.1f}   "
                     f"per user {r.tokens_per_s_per_user:,.1f}")
    elif r.tpot_s is not None:
        lines.append(f"TPOT {format_quantity(r.tpot_s, 'time')}   tokens/s {r.tokens_per_s:,.1f}   "
                     f"per user {r.tokens_per_s_per_user:,.1f}")
    else:
        flops = sum(o.flops for o in r.ops)
        lines.append(f"latency {format_quantity(r.latency_s, 'time')}   {flops / r.latency_s / 1e12:,.1f} TFLOP/s")
    if r.fidelity != "roofline":
        lines.append(f"roofline bound {format_quantity(r.roofline_latency_s, 'time')} "
                     f"({r.roofline_latency_s / r.latency_s:.0%} of the simulated latency)")
    lines.append(f"bottleneck: {r.bottleneck}")
    for key, value in r.extra.items():
        if isinstance(value, (int, float, str)):
            lines.append(f"{key}: {value}")
    for note in r.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
