"""What the mesh mapper tells the user: placement, SRAM use, constants, per-layer split."""
from __future__ import annotations

from archsim.mapping.mesh_costs import MeshCosts, colors_needed
from archsim.mapping.mesh_place import Placement

_WHY = {"compute": "the cores' vector instructions", "memory": "the cores' SRAM ports",
        "communication": "on-wafer reductions and broadcasts", "wait": "waiting"}


def _kib(nbytes: float) -> str:
    return f"{nbytes / 1024:.1f} KiB"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} us"


def _file_sram(system) -> int | None:
    """The per-core SRAM of the chip file itself, before --set overrides."""
    from archsim.hw.load import load_system

    try:
        return int(load_system(system.source).chip.core.sram)
    except Exception:  # a chip given as a System object without a readable source
        return None


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


def describe(system, graph, plan: Placement, costs: MeshCosts, options: dict, split: dict[str, float],
             net=None, task_split: dict[str, float] | None = None):
    strategy, levels = options["strategy"], options["tree_levels"]
    notes = [f"mesh placement: {plan.summary()}"
             + (" (region=auto: the fewest, largest regions that give every layer its own region and fit)"
                if plan.auto else "")]
    used = plan.layer_demand
    notes.append(f"per-core SRAM in a layer region: {used.describe(plan.stack)} of {_kib(costs.sram_bytes)}"
                 + (f"; LM head region {_kib(plan.head_demand.total)}" if plan.head_demand else ""))
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
    if options["layers_only"]:
        notes.append(f"layers only (WaferLLM's method): one decoder layer timed on its region and scaled by "
                     f"{graph.layers}; embedding, LM head, hand-offs and wafer crossings are not included")
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
        "per_layer": (f"{_us(total)}: compute {_us(split['compute'])}, memory {_us(split['memory'])}, "
                      f"communication {_us(split['communication'])}, waiting {_us(split['wait'])} "
                      "(critical path of one decoder layer)"),
        "per_layer_bottleneck": f"{worst}: {_WHY[worst]}",
        "mesh": {"region_w": plan.region_w, "region_h": plan.region_h, "stack": plan.stack,
                 "layer_regions": plan.layer_regions, "wafers_used": plan.wafers_used,
                 "handoffs": plan.handoffs, "crossings": plan.crossings,
                 "sram_per_core_bytes": used.total, "sram_bytes": costs.sram_bytes,
                 "alpha_cycles": costs.alpha, "beta_cycles": costs.beta, "sigma_cycles": costs.sigma,
                 "per_layer_s": total, **{f"per_layer_{k}_s": v for k, v in split.items()}},
        **fidelity_extra,
    }
    return notes, extra
