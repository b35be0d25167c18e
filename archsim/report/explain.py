"""`archsim explain`: a short narrative of one run, with its numbers, for teaching.

It walks the argument a performance engineer makes: the chip's ridge point,
each kind of operator's arithmetic intensity against it (and why it has that
intensity), what the critical path is made of, and what the what-if says
would help. Every number comes from the RunResult; nothing is re-derived.
"""
from __future__ import annotations

import textwrap

from archsim.workload.ops import MATRIX_KINDS
from archsim.report.economics import energy_narrative
from archsim.units import format_quantity
from archsim.workload.model import DTYPE_BYTES

WIDTH = 100
VECTOR_WHY = "few FLOPs per element read and written, far below either ridge"
WHY = {
    ("gemm", "decode"): "in decode every weight is read once per step and used for one multiply-add (2 FLOPs) "
                        "per sequence in the batch, so FLOPs per byte are about 2 x batch / bytes per weight "
                        "= 2 x {batch} / {wbytes:g}",
    ("gemm", "prefill"): "in prefill each weight is reused by all {tokens:,} tokens of the batch's prompts, so FLOPs "
                         "per byte grow with the tokens processed together",
    ("attn_score", "decode"): "in decode each cached key is read once and used only by the query heads that share "
                              "it; a larger batch brings more cache, not more reuse",
    ("attn_context", "decode"): "in decode each cached value is read once and used only by the query heads that "
                                "share it; a larger batch brings more cache, not more reuse",
    ("attn_score", "prefill"): "in prefill every query meets every key: work grows with the square of the prompt, "
                               "bytes only linearly",
    ("attn_context", "prefill"): "in prefill every query meets every value: work grows with the square of the "
                                 "prompt, bytes only linearly",
    ("moe_experts", "decode"): "each token's experts read their weights for a few tokens only",
}
for _kind in ("norm", "rope", "softmax", "elementwise", "moe_router"):
    WHY[(_kind, "decode")] = WHY[(_kind, "prefill")] = VECTOR_WHY
# Kinds taking less of the run than this are summed into one line.
MINOR_SHARE = 0.03


def _num(x: float) -> str:
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


def _para(text: str) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False)


def _kind_rows(result) -> list[dict]:
    rows: dict[str, dict] = {}
    for o in result.ops:
        row = rows.setdefault(o.kind, {"kind": o.kind, "flops": 0.0, "bytes": 0.0, "time_s": 0.0, "names": [],
                                       "compute_s": 0.0, "memory_s": 0.0, "comm_s": 0.0, "fused": []})
        host = getattr(o, "fused_into", "")
        host = host.split(".", 1)[1] if "." in host and host[0] == "L" else host
        if host and host not in row["fused"]:
            row["fused"].append(host)
        row["flops"] += o.flops
        row["bytes"] += o.bytes
        for key in ("time_s", "compute_s", "memory_s", "comm_s"):
            row[key] += getattr(o, key)
        short = o.name.split(".", 1)[1] if "." in o.name and o.name[0] == "L" else o.name
        if short not in row["names"]:
            row["names"].append(short)
    return sorted(rows.values(), key=lambda r: -r["time_s"])


def _ridge(result) -> list[str]:
    p = result.peaks
    return [_para(
        f"The chip. {result.chip} ({result.chips_used} chip{'s' if result.chips_used != 1 else ''} used) peaks at "
        f"{format_quantity(p['matrix_flops_per_s'], 'flops')} on its matrix units ({result.dtype}) and "
        f"{format_quantity(p['vector_flops_per_s'], 'flops')} on its vector units, fed by "
        f"{format_quantity(p['memory_bytes_per_s'], 'bandwidth')} of {p['memory']} bandwidth. The ridge point is "
        f"peak / bandwidth = {p['ridge_flops_per_byte']:,.0f} FLOP per byte for matrix work "
        f"({p['vector_ridge_flops_per_byte']:,.1f} for vector work): an operator doing fewer FLOPs per byte it "
        "moves waits on memory (memory-bound); one doing more waits on arithmetic (compute-bound).")]


def _operators(result) -> list[str]:
    p = result.peaks
    total = result.latency_s or 1.0
    tokens = result.batch * (result.prompt_len or 1)
    lines = [_para("The operators, by kind (intensity = FLOPs / bytes moved, unfused; share of the run's time):")]
    minor = []
    for row in _kind_rows(result):
        if row["time_s"] <= 0 and row["flops"] <= 0 and row["bytes"] <= 0:
            continue
        if row["kind"] == "collective":
            lines.append(_para(f"- collectives ({', '.join(row['names'][:4])}): "
                               f"{row['time_s'] / total:.1%} of the time moving data between units or chips."))
            continue
        intensity = row["flops"] / row["bytes"] if row["bytes"] else float("inf")
        matrix = row["kind"] in MATRIX_KINDS
        ridge = p["ridge_flops_per_byte"] if matrix else p["vector_ridge_flops_per_byte"]
        bound = "memory" if intensity < ridge else "compute"
        if row["time_s"] / total < MINOR_SHARE:
            minor.append((row, intensity, bound))
            continue
        if intensity > 0:
            factor = ridge / intensity if bound == "memory" else intensity / ridge
        else:  # pure data movement (embedding gather): no arithmetic at all
            factor = float("inf")
        where = "below" if bound == "memory" else "above"
        position = f"{_num(factor)}x {where} the" if intensity > 0 else "no arithmetic, far below the"
        why = WHY.get((row["kind"], result.phase), "")
        why = why.format(batch=result.batch, wbytes=DTYPE_BYTES.get(result.dtype, 2.0), tokens=tokens)
        simulated = {"compute_s": "compute", "memory_s": "memory", "comm_s": "communication"}[
            max(("compute_s", "memory_s", "comm_s"), key=lambda k: row[k])]
        sim_note = "" if simulated == bound or row["time_s"] <= 0 else \
            f" (in the simulation its critical-path time is mostly {simulated})"
        if row["fused"]:
            sim_note += f" (fused into {', '.join(row['fused'])} by the mapper: its time is counted there)"
        names = ", ".join(row["names"][:5]) + (", ..." if len(row["names"]) > 5 else "")
        lines.append(_para(
            f"- {row['kind']} ({names}): {_num(intensity)} FLOP/B, {position} "
            f"{'matrix' if matrix else 'vector'} ridge, so {bound}-bound{sim_note}; "
            f"{row['time_s'] / total:.1%} of the time." + (f" Why: {why}." if why else "")))
    if minor:
        share = sum(r["time_s"] for r, _, _ in minor) / total
        parts = ", ".join(f"{r['kind']} {_num(i)} FLOP/B ({b}" + (f"; fused into {', '.join(r['fused'])}, its "
                                                                   "time counted there" if r["fused"] else "") + ")"
                          for r, i, b in minor)
        lines.append(_para(f"- the rest, {share:.1%} of the time together: {parts}. "
                           f"Vector operators (norms, softmax, elementwise) do {VECTOR_WHY}."))
    gemm = next((r for r in _kind_rows(result) if r["kind"] == "gemm"), None)
    if result.phase == "decode" and gemm and gemm["bytes"] and gemm["time_s"] / total > 0.3:
        intensity = gemm["flops"] / gemm["bytes"]
        if intensity < p["ridge_flops_per_byte"]:
            batch = result.batch * p["ridge_flops_per_byte"] / intensity
            lines.append(_para(
                f"  The GEMMs' intensity grows about in proportion to the batch, so they would reach the ridge "
                f"near batch {batch:,.0f} (a rough estimate: the KV cache and its reads grow with the batch too, "
                "and must still fit in memory)."))
    return lines


def _critical_path(result) -> list[str]:
    cp = result.critical_path
    if not cp:
        return []
    total = cp["time_s"] or 1.0
    parts = ", ".join(f"{k} {v / total:.1%}" for k, v in cp["by_resource_kind_s"].items() if v > 0)
    top = ", ".join(f"fixed latencies {g['share']:.1%}" if g["kind"] == "latency" else
                    f"{g['resource']} ({g['kind']}) {g['share']:.1%}" for g in cp["top_resources"][:3])
    ops = ", ".join(f"{o['op']} {o['share']:.1%}" for o in cp["top_ops"][:4])
    text = (f"The critical path, the chain of tasks that sets the latency "
            f"({format_quantity(cp['time_s'], 'time')}), is {parts} by resource class, so the bottleneck is "
            f"{cp['bottleneck_kind']}.")
    fixed = sum(cp.get("fixed_latency_s", {}).values()) + cp["by_resource_kind_s"].get("latency", 0.0)
    if fixed > 0.2 * total:
        text += (f" {fixed / total:.0%} of it is fixed latency (per task, per hop or per launch), which faster "
                 "units or links would not shorten.")
    if top:
        text += f" Busiest on it: {top}."
    if ops:
        text += f" Longest operators on it: {ops}."
    if result.utilization:
        text += " Over the whole run the resource classes are busy " + ", ".join(
            f"{k} {v:.1%}" for k, v in result.utilization.items()) + " of the time."
    return [_para(text)]


def _whatif(result) -> list[str]:
    from archsim.report.analysis import KIND_TITLES

    if not result.whatif:
        return [_para("What-if: not computed (run without --no-whatif).")]
    ranked = sorted(result.whatif.items(), key=lambda kv: -kv[1])
    listing = ", ".join(f"{KIND_TITLES.get(k, k)} {s:.2f}x" for k, s in ranked)
    best, speedup = ranked[0]
    text = f"What-if, making one resource class twice as fast and simulating again: {listing}."
    if speedup < 1.05:
        text += (" No single class helps much: the time goes to fixed latencies, waiting or whole-cycle "
                 "steps, which faster units do not shorten; fewer, larger steps (fusion, bigger batches) would.")
        segments = result.critical_path.get("segments", [])
        tasks = sum(s["tasks_on_path"] for s in segments)
        if tasks:
            cycles = sum(s["makespan_cycles"] for s in segments) / tasks
            if cycles < 20:
                text += (f" Here the {tasks:,} tasks on the critical path last {cycles:,.1f} cycles each on "
                         "average: the engine counts whole cycles, so work this small is set by the step count.")
    else:
        useless = [KIND_TITLES.get(k, k) for k, s in ranked if s < 1.02]
        text += f" What would help is {KIND_TITLES.get(best, best)}"
        parts = sorted(((k.split(":", 1)[1], v) for k, v in result.whatif_groups.items()
                        if k.split(":", 1)[0] == best), key=lambda kv: -kv[1])
        if parts:
            text += " (" + ", ".join(f"{g} alone {v:.2f}x" for g, v in parts) + ")"
        if speedup > 1.9:
            text += ", almost fully: the run is limited by it alone"
        elif speedup < 1.5:
            text += ", only in part: the rest of the time is limited by other resources or fixed latencies"
        text += "."
        if useless:
            text += f" More {' or '.join(useless)} would not help at all."
    return [_para(text)]


def explain(result) -> str:
    """The narrative for `result` (a RunResult, ideally with its what-if filled)."""
    scen = f"batch {result.batch}" + (f", prompt {result.prompt_len}" if result.prompt_len else "") \
        + (f", context {result.context_len}" if result.context_len else "")
    if result.ttft_s is not None:
        head = (f"time to first token {format_quantity(result.ttft_s, 'time')} "
                f"({result.tokens_per_s:,.0f} prompt tokens/s)")
    elif result.tpot_s is not None:
        head = (f"time per output token {format_quantity(result.tpot_s, 'time')} "
                f"({result.tokens_per_s_per_user:,.1f} tokens/s per user, {result.tokens_per_s:,.1f} in total)")
    else:
        head = f"latency {format_quantity(result.latency_s, 'time')}"
    lines = [_para(f"{result.workload} {result.phase} ({scen}, {result.dtype}) on {result.chip}, mapper "
                   f"{result.provenance['mapper']}, fidelity {result.fidelity}: {head}."), ""]
    lines += _ridge(result) + [""] + _operators(result) + [""]
    lines += _critical_path(result) + [""] + _whatif(result)
    if result.fidelity != "roofline" and result.latency_s > 0:
        ratio = result.latency_s / result.roofline_latency_s if result.roofline_latency_s else 1.0
        gap = f"{ratio - 1:.1%} above" if ratio < 2 else f"{ratio:,.1f}x"
        lines += ["", _para(
            f"Against the roofline: the simulated latency is {gap} the analytic bound "
            f"({format_quantity(result.roofline_latency_s, 'time')}), the time lost to latencies, contention "
            "and imperfect overlap in this mapping.")]
    energy = energy_narrative(result)
    if energy:
        lines += ["", _para(energy)]
    if result.provenance.get("mapper") == "aggregate":
        lines += ["", _para("Note: the aggregate mapper models the system as one matrix unit, one vector unit and "
                            "one memory, with no communication, so this run is close to the roofline by construction.")]
    return "\n".join(lines)
