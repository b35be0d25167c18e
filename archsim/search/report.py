"""What `archsim search` prints: the run, the Pareto front, the best point and why it beats the default."""
from __future__ import annotations

from archsim.search.runner import SearchResult

CATEGORIES = (("compute_s", "compute"), ("memory_s", "memory"), ("comm_s", "communication"), ("wait_s", "waiting"))


def render(r: SearchResult, header: str) -> str:
    lines = [header, f"strategy: {r.strategy}"]
    counts: dict[str, int] = {}
    for p in r.points:
        counts[p.status] = counts.get(p.status, 0) + 1
    excluded = sum(1 for p in r.points if p.excluded)
    lines.append(f"points: {len(r.points):,} looked at in {r.wall_s:.1f} s: {r.ran:,} simulated, "
                 f"{r.from_store:,} read from the store, {counts.get('ok', 0):,} ok"
                 + "".join(f", {n:,} {k}" for k, n in sorted(counts.items()) if k not in ("ok", "todo"))
                 + (f", {excluded:,} outside the metric constraints" if excluded else ""))
    reasons = _reasons(r)
    if reasons:
        lines.append("why points did not run or failed (the most frequent reasons):")
        lines += [f"  {n:,} x {why}" for why, n in reasons]
    if r.best is None:
        lines.append("no point of the space gave a result: nothing to rank (see the reasons above)")
        return "\n".join(lines)
    lines.append("")
    lines += front_table(r)
    lines.append("")
    lines += why_lines(r)
    return "\n".join(lines)


def _reasons(r: SearchResult, top: int = 3) -> list[tuple[str, int]]:
    found: dict[str, int] = {}
    for p in r.points:
        if p.status not in ("ok", "todo") and p.error:
            found[p.error] = found.get(p.error, 0) + 1
    return sorted(found.items(), key=lambda kv: -kv[1])[:top]


def front_table(r: SearchResult) -> list[str]:
    names = ", ".join(f"{o.name} ({o.direction})" for o in r.front_objectives)
    note = f"; {r.front_objectives[1].name} added as the second axis" if r.companion else ""
    out = [f"Pareto front over {names}{note}: {len(r.front)} of {sum(p.result for p in r.points):,} results"]
    axes = [a.key for a in r.space.axes]
    head = ["", "#"] + [o.name for o in r.front_objectives] + ["chips", "bottleneck"] + axes
    rows = []
    for p in r.front:
        rows.append(["*" if p is r.best else "", str(p.index)] + [o.show(o.value(p.metrics)) for o in r.front_objectives]
                    + [str(p.metrics.get("chips_used", "-")), str(p.metrics.get("bottleneck", "-"))]
                    + [str(p.params[a]) for a in axes])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    out.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    out.append("* the best by " + r.objectives[0].name + f" (point #{r.best.index})")
    return out


def why_lines(r: SearchResult) -> list[str]:
    """The best point against the default mapping (auto): the objective, the bottleneck, the critical path."""
    o = r.objectives[0]
    best, base = r.best.metrics, _metrics(r.baseline)
    b_val, d_val = o.value(best), o.value(base)
    out = []
    if d_val:
        gain = (d_val / b_val if o.direction == "min" else b_val / d_val) if b_val else float("inf")
        verdict = (f"{gain:.3f}x better" if gain > 1 + 1e-12 else "the same" if abs(gain - 1) <= 1e-12
                   else f"{1 / gain:.3f}x worse")
        out.append(f"best {o.name}: {o.show(b_val)} against {o.show(d_val)} for the default mapping (auto): {verdict}")
    else:
        out.append(f"best {o.name}: {o.show(b_val)} (the default mapping has no {o.name} figure)")
    cp_b, cp_d = best.get("critical_path", {}), base.get("critical_path", {})
    out.append("why: the bottleneck " + _bottleneck(cp_d) + (" stays " if _kind(cp_d) == _kind(cp_b) else " moves to ")
               + _bottleneck(cp_b))
    moves = []
    for key, label in CATEGORIES:
        a, b = base.get(key) or 0.0, best.get(key) or 0.0
        if abs(a - b) > 1e-12 * max(abs(a), abs(b), 1e-30):
            moves.append((b - a, f"{label} {_t(a)} -> {_t(b)} ({'+' if b > a else '-'}{_t(abs(b - a))})"))
    if moves:
        out.append("  critical path: " + ", ".join(text for _, text in sorted(moves)))
    changed = _changed(r.baseline_mapping, r.best_mapping)
    if changed:
        out.append("  choices that differ from the default's: " + ", ".join(changed))
    elif r.best_mapping is not None:
        out.append("  the best mapping is the default's: the space holds nothing better")
    return out


def _metrics(result) -> dict:
    from archsim.sweep.worker import metrics_of

    return metrics_of(result)


def _kind(cp: dict) -> str:
    return cp.get("bottleneck_kind", "?")


def _bottleneck(cp: dict) -> str:
    share = cp.get("bottleneck_share")
    return f"{_kind(cp)}" + (f" ({share:.0%} of the critical path)" if share is not None else "")


def _t(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:,.3f} ms"
    return f"{seconds * 1e6:,.2f} us"


def _changed(before: dict | None, after: dict | None) -> list[str]:
    if not before or not after:
        return []
    out = []
    for key in after:
        if key in ("about", "version", "family"):
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(b, dict) and isinstance(a, dict):
            for sub in b:
                if a.get(sub) != b[sub]:
                    out.append(f"{key}.{sub} {_v(a.get(sub))} -> {_v(b[sub])}")
        elif a != b:
            out.append(f"{key} {_v(a)} -> {_v(b)}")
    return out


def _v(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)
