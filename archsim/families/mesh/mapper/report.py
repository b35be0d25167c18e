"""What the mesh mapper tells the user: placement, SRAM use, constants, per-layer split."""
from __future__ import annotations

from functools import lru_cache

from archsim.families.mesh.mapper.costs import MeshCosts, colors_needed
from archsim.families.mesh.mapper.place import Placement

_WHY = {"compute": "the cores' vector instructions", "memory": "the cores' SRAM ports",
        "communication": "on-wafer reductions and broadcasts", "wait": "waiting"}


def _kib(nbytes: float) -> str:
    return f"{nbytes / 1024:.1f} KiB"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} us"


def _file_sram(system) -> int | None:
    """The per-core SRAM of the chip file itself, before --set overrides."""
    import os

    try:
        return _sram_of_file(system.source, os.stat(system.source).st_mtime_ns)
    except Exception:  # a chip given as a System object without a readable source
        return None


@lru_cache(maxsize=32)
def _sram_of_file(source: str, mtime_ns: int) -> int:
    """Cached by file and modification time: a search or sweep maps the same chip hundreds of times, and
    reading the file again took a quarter of each wafer point's time."""
    from archsim.hw.load import load_system

    return int(load_system(source).chip.core.sram)


def noc_fidelity(net, split: dict[str, float] | None = None, task_split: dict[str, float] | None = None):
    """Notes and extra entries saying which numbers came from the cycle-level network (net) or the task level."""
    if net is None:
        return [], {"noc_fidelity": "task",
                    "fidelity_by_part": {"on-wafer network": "task", "compute": "task", "sram": "task",
                                         "wafer_io": "task"}}
    cfg, rows = net.router, net.summary()
    notes = [
        f"fidelity cycle: on-wafer transfers (K-tree levels, broadcasts, gathers, Cannon shifts, hand-offs) are "
        f"timed on the cycle-level network (archsim/engine/noc) with the chip's wafer router: {net.hop_latency} "
        f"cycle(s) per hop, {net.link_bytes:g}-byte flits (one wavelet), {cfg.num_vcs} VCs (colours) of "
        f"{cfg.vc_buf_size} flits, credit flow control, zero-load H x {net.hop_latency} + 4 cycles. Each distinct "
        f"collective is simulated once on one line of its region (every row/column does the same on its own "
        f"links; a K-tree level on one group): {len(rows)} collectives, {sum(r['messages'] for r in rows):,} "
        f"messages, lines of up to {max((r['line_cores'] for r in rows), default=0)} cores, "
        f"{net.wall_s:.2f} s. Compute, SRAM ports and wafer I/O stay task-level; the per-message software "
        "overhead beta is the same constant as at task fidelity"]
    extra = {"noc_fidelity": "cycle",
             "fidelity_by_part": {"on-wafer network": "cycle", "compute": "task", "sram": "task",
                                  "wafer_io": "task"},
             "noc_collectives": rows}
    if rows:
        ratios = [r["cycle_over_task"] for r in rows if r["cycle_over_task"]]
        notes.append(f"per collective, cycle-level / task-level cycles from {min(ratios):.2f} to {max(ratios):.2f} "
                     "(noc_collectives in the JSON)")
    if split and task_split:
        cyc, task = sum(split.values()), sum(task_split.values())
        notes.append(f"one decoder layer: {_us(cyc)} with the cycle-level network vs {_us(task)} at task fidelity "
                     f"({(cyc / task - 1) * 100:+.1f}%); its communication {_us(split['communication'])} vs "
                     f"{_us(task_split['communication'])} on the critical path")
        extra["noc_cycle_vs_task"] = {"per_layer_cycle_s": cyc, "per_layer_task_s": task,
                                      "comm_cycle_s": split["communication"],
                                      "comm_task_s": task_split["communication"]}
    return notes, extra


def describe_split(cut, info: dict | None) -> dict:
    """What the run says about the pieces a step ran in (mesh_pipeline.Split): JSON keys under `mesh`, printed
    lines, notes, and what the per-layer split covers. `info`: the pipeline's numbers (None: one piece)."""
    n, size = cut.count, cut.size
    last = cut.pieces[-1][0]
    if cut.option == "prefill_chunk":
        keys = {"prefill_chunk_tokens": size, "prefill_chunks": n}
        what, unit = ("chunk", "chunks"), "tokens"
    else:
        keys = {"microbatch": size, "microbatches": n}
        what, unit = ("micro-batch", "micro-batches"), "sequences"
    out = {"mesh": keys, "lines": {}, "notes": [], "scope": "critical path of one decoder layer", "piece": what[0]}
    if info is None:
        return out
    clock = info["clock_hz"]
    pieces = f"{n} {what[1]} of {size} {unit}" + (f" (the last of {last})" if last != size else "")
    out["scope"] = f"critical path of one decoder layer, summed over the {n} {what[1]}"
    if cut.option == "prefill_chunk":
        layer_s = [c / clock for c in info["layer_cycles"]]
        pipeline_s, serial_s = info["pipeline_cycles"] / clock, info["serial_layer_cycles"] / clock
        keys.update(prefill_pipeline_layers_s=pipeline_s, prefill_serial_layers_s=serial_s,
                    chunk_layer_s=layer_s)
        out["lines"]["prefill_chunks"] = (f"{pieces}, pipelined over {info['regions']} layer region"
                                          f"{'s' if info['regions'] != 1 else ''}")
        shown = ", ".join(_us(t) for t in layer_s[:6]) + (", ..." if n > 6 else "")
        out["notes"].append(
            f"chunked prefill: {pieces}. A layer region runs the chunks one after another and hands each on, so "
            "regions work on different chunks at once; chunk j's attention reads the K/V that chunks before it "
            f"left in the same region. The decoder layers and the hand-offs between them take {_s(pipeline_s)} "
            f"on the critical path (the pipeline filling and draining); the layers alone would take "
            f"{_s(serial_s)} if the chunks ran one after another through every layer. One layer per chunk: "
            f"{shown}. The operator table holds that critical path (the first region running the chunks up to the "
            "critical one, which crosses the other regions, the last region the chunks after it); FLOPs and bytes "
            "are the whole prompt's")
    else:
        period_s, trip_s = info["period_cycles"] / clock, info["round_trip_cycles"] / clock
        busy = {k: v / clock for k, v in info["busy_cycles"].items()}
        keys.update(step_period_s=period_s, round_trip_s=trip_s, step_set_by=info["set_by"],
                    busy_per_step_s=busy)
        out["lines"]["decode_microbatches"] = f"{pieces}, circulating through the layer pipeline"
        loads = ", ".join(f"{k} {_us(v)}" for k, v in busy.items())
        out["notes"].append(
            f"micro-batched decode: {pieces}. Each micro-batch's next step starts when its token is back at the "
            f"embedding; in steady state a step takes the longer of a micro-batch's round trip ({_us(trip_s)}) "
            f"and the work every unit does for all micro-batches of a step ({loads}): {_us(period_s)}, set by "
            f"{info['set_by']}. TPOT is that period; tokens/s counts the whole batch per period. The operator "
            "table holds what sets the period (one micro-batch's round trip, or that unit's work for every "
            "micro-batch); FLOPs and bytes are the whole batch's")
    return out


def _s(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms" if seconds < 1 else f"{seconds:,.3f} s"


def describe(system, graph, plan: Placement, costs: MeshCosts, options: dict, split: dict[str, float],
             net=None, task_split: dict[str, float] | None = None, pieces: dict | None = None, lowering=None,
             tried=()):
    """Notes and extra entries of a run; `lowering`: a prefill's mesh_lowering.Lowering, `tried`: the
    mesh_pieces.StepRun of every candidate auto compared (one when nothing was compared)."""
    strategy, levels = options["strategy"], options["tree_levels"]
    notes = [f"mesh placement: {plan.summary()}"
             + (" (region=auto: the fewest, largest regions that give every layer its own region and fit)"
                if plan.auto else "")]
    used = plan.layer_demand
    notes.append(f"per-core SRAM in a layer region: {used.describe(plan.stack)} of {_kib(costs.sram_bytes)}"
                 + (_sized_for(pieces, options) if pieces and pieces["notes"] else "")
                 + (f"; LM head region {_kib(plan.head_demand.total)}" if plan.head_demand else ""))
    lowered, lowered_keys = _lowering(lowering, costs.clock_hz)
    notes += lowered
    auto, auto_keys = _auto(tried, costs.clock_hz)
    notes += auto
    if pieces:
        notes += pieces["notes"]
    notes += _ignored(graph, options)
    real = _file_sram(system)
    if real is not None and real != costs.sram_bytes:
        fits = used.total <= real
        notes.append(f"core.sram overridden to {_kib(costs.sram_bytes)} (the chip file says {_kib(real)}): "
                     + ("the placement would also fit the real chip" if fits else
                        f"the placement needs {_kib(used.total)} per core and does NOT fit the real chip; it is "
                        "timed as WaferLLM does, one layer on a region scaled by the layer count"))
    profile = f"calibrated, {options['kernels']} kernels"
    src_beta = "set in the chip spec" if system.chip.core.get("message_overhead") is not None else profile
    src_sigma = "set in the chip spec" if system.chip.core.get("vector_overhead") is not None else profile
    notes.append(
        f"PLMR costs: alpha {costs.alpha} cycle/hop, beta {costs.beta} cycles/message ({src_beta}), sigma "
        f"{costs.sigma} cycles/vector instruction ({src_sigma}), {costs.link:g} B/cycle links, "
        f"{costs.simd} FMAC/cycle and {costs.sram_read:g} B/cycle SRAM reads per core; strategy {strategy}"
        + (f" with a {levels}-level K-tree" if strategy == "meshgemv" else "")
        + f", {colors_needed(strategy, levels)} of {costs.colors} colours")
    piece = pieces["piece"] if pieces and pieces["notes"] else ""
    if options["layers_only"]:
        notes.append(f"layers only (WaferLLM's method): one decoder layer timed on its region and scaled by "
                     f"{graph.layers}{' along the pipeline' if piece else ''}; embedding, LM head, hand-offs and "
                     "wafer crossings are not included")
    elif piece:
        notes.append(f"one decoder layer simulated per {piece} and composed along the pipeline's critical path; "
                     f"{plan.handoffs} region hand-offs and {plan.crossings} wafer crossings per {piece}")
    else:
        notes.append(f"one decoder layer simulated and repeated {graph.layers} times; {plan.handoffs} region "
                     f"hand-offs and {plan.crossings} wafer crossings per step")
    fidelity_notes, fidelity_extra = noc_fidelity(net, split, task_split)
    notes += fidelity_notes
    total = sum(split.values())
    busy = {k: v for k, v in split.items() if k != "wait"}
    worst = max(busy, key=busy.get)
    extra = {
        "region": f"{plan.region_w}x{plan.region_h}",
        **(pieces["lines"] if pieces else {}),
        "per_layer": (f"{_us(total)}: compute {_us(split['compute'])}, memory {_us(split['memory'])}, "
                      f"communication {_us(split['communication'])}, waiting {_us(split['wait'])} "
                      f"({pieces['scope'] if pieces else 'critical path of one decoder layer'})"),
        "per_layer_bottleneck": f"{worst}: {_WHY[worst]}",
        "mesh": {"region_w": plan.region_w, "region_h": plan.region_h, "stack": plan.stack,
                 "layer_regions": plan.layer_regions, "wafers_used": plan.wafers_used,
                 "handoffs": plan.handoffs, "crossings": plan.crossings,
                 "sram_per_core_bytes": used.total, "sram_bytes": costs.sram_bytes,
                 "alpha_cycles": costs.alpha, "beta_cycles": costs.beta, "sigma_cycles": costs.sigma,
                 "per_layer_s": total, **{f"per_layer_{k}_s": v for k, v in split.items()},
                 **(pieces["mesh"] if pieces else {}), **lowered_keys, **auto_keys},
        **fidelity_extra,
    }
    return notes, extra


def _sized_for(pieces: dict, options: dict) -> str:
    """How the activation buffers were sized when the step runs in pieces."""
    mesh = pieces["mesh"]
    if "prefill_chunk_tokens" in mesh:
        option, size = "prefill_chunk", mesh["prefill_chunk_tokens"]
        what = (f"activations for a chunk of {size} tokens attending to the whole prompt, KV cache of the whole "
                "prompt")
    else:
        option, size = "microbatch", mesh["microbatch"]
        what = f"activations for a micro-batch of {size}, KV cache of the whole batch"
    how = "auto, the fastest candidate" if options[option] == "auto" else f"{option}={options[option]}"
    return f" ({what}; {option} {size}: {how})"


def _lowering(lowering, clock: float) -> tuple[list[str], dict]:
    """What the run says about how its prefill layers ran (mesh_lowering.Lowering; None for decode)."""
    if lowering is None:
        return [], {}
    keys = {"prefill_lowering": "meshgemv-passes" if lowering.vector else "meshgemm",
            "pass_tokens": lowering.pass_tokens, "lowering_layer_s": {lowering.name: lowering.cycles / clock}}
    what = (f"MeshGEMV in passes of up to {lowering.pass_tokens} tokens per sequence (each pass the whole layer in "
            "the vector layout, as decode runs a batch)" if lowering.vector else "MeshGEMM blocks (Cannon)")
    if lowering.other is None:
        alt = "MeshGEMV passes do not fit: not even one token's MeshGEMV buffers fit beside the weights and cache"
    else:
        keys["lowering_layer_s"][lowering.other[0]] = lowering.other[1] / clock
        alt = f"{lowering.other[0]}: {_us(lowering.other[1] / clock)}"
    return [f"prefill layers run as {what}, the cheaper that fits (mesh_lowering.py): one layer of the last full "
            f"piece {_us(lowering.cycles / clock)} ({alt})"], keys


def _auto(tried, clock: float) -> tuple[list[str], dict]:
    """What auto compared: every candidate piece and the step's time with it."""
    if len(tried) < 2:
        return [], {}
    option = tried[0].cut.option
    unit = "tokens" if option == "prefill_chunk" else "sequences"
    times = {r.cut.size: r.cycles / clock for r in tried}
    best = min(tried, key=lambda r: r.cycles).cut.size
    shown = ", ".join(f"{size} {unit}: {_s(t)}" for size, t in times.items())
    return [f"{option}=auto: the fastest of {len(tried)} candidates ({shown}; the largest that fits first, "
            f"see docs/wafer.md): {best}"], {"auto_candidates_s": {str(k): v for k, v in times.items()}}


def _ignored(graph, options: dict) -> list[str]:
    """A piece option given for the other phase does nothing; say so rather than drop it silently."""
    out = []
    for option, phase in (("prefill_chunk", "prefill"), ("prefill_layout", "prefill"), ("microbatch", "decode")):
        if options.get(option, "auto") != "auto" and graph.phase != phase:
            out.append(f"{option}={options[option]} applies to {phase} only; this {graph.phase} run ignores it")
    return out
