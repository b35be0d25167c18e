"""What the report derives from the engine's arrays: utilization per resource
class, the critical path by resource, per-layer splits and operator spans.

Everything here reads a mapping's segments as the engine ran them
(`SegmentRun`: graph, SimResult, repeat) and the labels the mapper attached;
nothing re-simulates (that is whatif.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.engine.ir import CATEGORIES, RESOURCE_KINDS

# How each resource class is named in reports (what-if rows, plots, explanations).
KIND_TITLES = {"compute": "compute", "memory": "memory bandwidth", "noc": "on-chip network",
               "interconnect": "chip-to-chip links"}

# A task with no resource (a pure delay: kernel launch, synchronization) sits
# on the critical path as this pseudo resource class.
LATENCY_KIND = "latency"
# The resource classes of the what-if columns of a comparison, in column order.
WHATIF_COLUMNS = ("compute", "memory", "noc", "interconnect")
PATH_KINDS = RESOURCE_KINDS + (LATENCY_KIND,)
TOP_N = 5
_LAYER_PREFIX = re.compile(r"^L\d+\.")
_INDEX = re.compile(r"(?<![A-Za-z])\d+|\d+$")


@dataclass(frozen=True, eq=False)
class SegmentRun:
    """One segment of a mapping as simulated: the graph, what the engine
    computed for it, and how many times it repeats back to back."""

    label: str
    repeat: int
    graph: Any  # archsim.engine.TaskGraph
    sim: Any  # archsim.engine.SimResult
    represents_layers: bool  # labels 'L0.x' stand for every layer (repeat == layers)

    @property
    def seconds_per_cycle(self) -> float:
        return 1.0 / self.graph.clock_hz

    @property
    def total_s(self) -> float:
        return self.sim.makespan_cycles * self.seconds_per_cycle * self.repeat


def group_name(resource: str) -> str:
    """Resources that differ only by index ('sm0'..'sm131', 'core[3,4]') form one
    group: numbers at the end or after a non-letter become '*' ('c2c0' -> 'c2c*')."""
    return _INDEX.sub("*", resource)


def resource_groups(graphs) -> dict[str, str]:
    """Resource name -> its group's label over all `graphs`; a group of one
    keeps the resource's own name ('l2', not 'l*')."""
    members: dict[str, set] = {}
    for g in graphs:
        for name in g.resource_name:
            members.setdefault(group_name(str(name)), set()).add(str(name))
    return {name: (key if len(names) > 1 else name) for key, names in members.items() for name in names}


def critical_path_parts(graph, sim):
    """(task, wait cycles, own cycles) along the critical path in time order.

    The gap before a task is waiting; its time after the previous entry ended
    is its own (a cut-through transfer may start before its predecessor on
    the path ends; the overlap is counted once). The parts sum to the makespan.
    """
    previous_end = 0
    for k in sim.critical_path:
        start, end = int(sim.start_cycle[k]), int(sim.end_cycle[k])
        yield int(k), max(0, start - previous_end), max(0, end - max(start, previous_end))
        previous_end = max(previous_end, end)


def utilization(runs: list[SegmentRun], latency_s: float) -> tuple[dict, list[dict]]:
    """Busy server-time over capacity x run time, per resource class and per group.

    A resource's busy time sums, over segments and repeats, the cycles its
    servers held tasks; the denominator is its capacity times the whole run,
    so a resource idle in one segment is idle for that part of the run.
    """
    groups: dict[str, dict] = {}
    seen: dict[str, int] = {}  # resource name -> capacity (the same name in two segments is one resource)
    label = resource_groups(run.graph for run in runs)
    for run in runs:
        g = run.graph
        for r in range(g.n_resources):
            name = str(g.resource_name[r])
            key = label[name]
            entry = groups.setdefault(key, {"group": key, "kind": RESOURCE_KINDS[int(g.resource_kind[r])],
                                            "count": 0, "capacity": 0, "busy_s": 0.0, "_max": {}})
            if name not in seen:
                seen[name] = int(g.resource_capacity[r])
                entry["count"] += 1
                entry["capacity"] += seen[name]
            busy = float(run.sim.busy_cycles[r]) * run.seconds_per_cycle * run.repeat
            entry["busy_s"] += busy
            entry["_max"][name] = entry["_max"].get(name, 0.0) + busy / seen[name]
    by_kind: dict[str, list[float]] = {}
    out = []
    for entry in groups.values():
        per_resource = entry.pop("_max")
        denom = entry["capacity"] * latency_s
        entry["utilization"] = entry["busy_s"] / denom if denom > 0 else 0.0
        entry["max_utilization"] = max(per_resource.values()) / latency_s if latency_s > 0 else 0.0
        acc = by_kind.setdefault(entry["kind"], [0.0, 0.0])
        acc[0] += entry["busy_s"]
        acc[1] += denom
        out.append(entry)
    kinds = {k: (v[0] / v[1] if v[1] > 0 else 0.0) for k, v in by_kind.items()}
    ordered = {k: kinds[k] for k in RESOURCE_KINDS if k in kinds}
    out.sort(key=lambda e: (RESOURCE_KINDS.index(e["kind"]), -e["utilization"]))
    return ordered, out


def fixed_cycles(graph) -> np.ndarray:
    """Per task, the cycles of its duration that do not shrink with a faster
    rate: its own latency plus the latency of every resource on its route."""
    owner = np.repeat(np.arange(graph.n_tasks), np.diff(graph.route_ptr))
    hops = np.bincount(owner, weights=graph.resource_latency[graph.route_res], minlength=graph.n_tasks)
    return graph.task_latency + hops.astype(np.int64)


def critical_path_summary(runs: list[SegmentRun], latency_s: float) -> dict:
    """The critical path's time by task category, by resource class and by
    resource group, with the class that dominates it (the bottleneck).
    `fixed_latency_s[class]` is the part of that class's time that is fixed
    latency (per task or per hop), which a faster rate would not shorten."""
    by_category = {c: 0.0 for c in CATEGORIES}
    by_category["wait"] = 0.0
    by_kind = {k: 0.0 for k in PATH_KINDS}
    by_kind["wait"] = 0.0
    by_group: dict[tuple[str, str], float] = {}
    by_op: dict[str, float] = {}
    fixed_by_kind: dict[str, float] = {}
    segments = []
    tasks = 0
    label_of = resource_groups(run.graph for run in runs)
    for run in runs:
        g, scale = run.graph, run.seconds_per_cycle * run.repeat
        first = g.task_resource
        fixed = fixed_cycles(g)
        for k, wait, own in critical_path_parts(g, run.sim):
            r = int(first[k])
            kind = RESOURCE_KINDS[int(g.resource_kind[r])] if r >= 0 else LATENCY_KIND
            if r >= 0 and fixed[k] > 0:
                fixed_by_kind[kind] = fixed_by_kind.get(kind, 0.0) + min(own, int(fixed[k])) * scale
            group = label_of[str(g.resource_name[r])] if r >= 0 else "(fixed latency)"
            by_category["wait"] += wait * scale
            by_kind["wait"] += wait * scale
            by_category[CATEGORIES[int(g.task_category[k])]] += own * scale
            by_kind[kind] += own * scale
            by_group[(group, kind)] = by_group.get((group, kind), 0.0) + own * scale
            label = str(g.op_labels[g.task_op[k]])
            short = _LAYER_PREFIX.sub("", label)  # folded over layers, as the terminal table
            by_op[short] = by_op.get(short, 0.0) + (own + wait) * scale
        tasks += len(run.sim.critical_path) * run.repeat
        segments.append({"label": run.label, "repeat": run.repeat, "makespan_s": run.sim.makespan_s,
                         "makespan_cycles": int(run.sim.makespan_cycles), "clock_hz": g.clock_hz,
                         "tasks_on_path": int(len(run.sim.critical_path)), "tasks": int(g.n_tasks)})
    active = {k: v for k, v in by_kind.items() if k != "wait"}
    bottleneck = max(active, key=active.get) if any(active.values()) else "wait"

    def share(seconds: float) -> float:
        return seconds / latency_s if latency_s > 0 else 0.0

    top_groups = sorted(by_group.items(), key=lambda kv: -kv[1])[:TOP_N]
    top_ops = sorted(by_op.items(), key=lambda kv: -kv[1])[:TOP_N]
    return {
        "time_s": latency_s,
        "tasks": tasks,
        "by_category_s": by_category,
        "by_resource_kind_s": {k: v for k, v in by_kind.items() if v > 0 or k in ("compute", "memory")},
        "bottleneck_kind": bottleneck,
        "bottleneck_share": share(by_kind.get(bottleneck, 0.0)),
        "fixed_latency_s": {k: fixed_by_kind[k] for k in RESOURCE_KINDS if k in fixed_by_kind},
        "top_resources": [{"resource": grp, "kind": kind, "time_s": s, "share": share(s)}
                          for (grp, kind), s in top_groups],
        "top_ops": [{"op": op, "time_s": s, "share": share(s)} for op, s in top_ops],
        "segments": segments,
    }


def op_spans(runs: list[SegmentRun], layers: int) -> dict[str, float]:
    """Seconds each operator was executing: first task start to last task end
    per segment instance (overlap with other operators included)."""
    spans: dict[str, float] = {}
    for run in runs:
        g, sim = run.graph, run.sim
        if g.n_tasks == 0:
            continue
        n_labels = len(g.op_labels)
        first = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n_labels, -1, dtype=np.int64)
        np.minimum.at(first, g.task_op, sim.start_cycle)
        np.maximum.at(last, g.task_op, sim.end_cycle)
        for i in np.flatnonzero(last >= 0):
            label = str(g.op_labels[i])
            seconds = float(last[i] - first[i]) * run.seconds_per_cycle
            if run.represents_layers and label.startswith("L0."):
                for layer in range(layers):
                    name = f"L{layer}.{label[3:]}"
                    spans[name] = spans.get(name, 0.0) + seconds
            else:
                spans[label] = spans.get(label, 0.0) + seconds * run.repeat
    return spans


def layer_breakdown(ops, layers: int) -> list[dict]:
    """Per layer (and the operators before and after the layers), the time
    split into compute, memory, communication and waiting."""
    rows: dict[int, dict] = {}
    for o in ops:
        layer = o.layer if -1 <= o.layer <= layers else layers
        row = rows.setdefault(layer, {"layer": layer, "label": layer_label(layer, layers), "compute_s": 0.0,
                                      "memory_s": 0.0, "comm_s": 0.0, "wait_s": 0.0, "time_s": 0.0})
        for key in ("compute_s", "memory_s", "comm_s", "wait_s", "time_s"):
            row[key] += getattr(o, key)
    return [rows[k] for k in sorted(rows)]


def layer_label(layer: int, layers: int) -> str:
    if layer < 0:
        return "pre"
    if layer >= layers:
        return "post"
    return f"L{layer}"
