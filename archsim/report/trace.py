"""Chrome/Perfetto trace of the simulated timeline (`archsim run --trace FILE`).

One track per resource (or per resource group on chips with many
resources), a track for the critical path and one for the segments; every
event is one task holding one resource, named by its operator ('L3.qkv') with
its layer, category and work in `args`. Overlapping tasks on one track go to
lanes ('sm #0', 'sm #1', ...), at most MAX_LANES; a group or a many-server
resource also gets a '<track> busy' counter of how many units hold a task. Open the file in ui.perfetto.dev or
chrome://tracing. Format: the JSON object form of the Trace Event Format
(complete 'X' events, times in microseconds).

Size is bounded: a segment that repeats (identical layers) is drawn once per
repeat only while the whole trace stays under `max_events`; otherwise it is
drawn once and the remaining repeats appear as one marked span on the
segments track, so the timeline still has the run's full length. The file
says so in `otherData.folded`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from archsim.engine.ir import CATEGORIES
from archsim.report.analysis import resource_groups

MAX_EVENTS = 100_000  # ~20 MB of JSON; Perfetto opens it in seconds
MAX_RESOURCE_TRACKS = 64  # more resources than this are drawn per group ('core[*,*]')
MAX_LANES = 8  # overlapping events on one grouped track beyond this are counted, not drawn
CRITICAL_TRACK = "critical path"
SEGMENT_TRACK = "segments"
LATENCY_TRACK = "fixed latency (no resource)"
_US = 1e6


@dataclass
class _Track:
    name: str
    order: tuple
    cap: int
    counter: bool = False  # also count busy units over time (tracks that may hold more than `cap`)
    lanes: list = field(default_factory=list)  # end time of the last event on each lane
    tids: list = field(default_factory=list)
    changes: list = field(default_factory=list)  # (time, +1 / -1) for the counter


class _TraceBuilder:
    def __init__(self, max_lanes: int):
        self.events: list[dict] = []
        self.tracks: dict[str, _Track] = {}
        self.dropped = 0
        self.max_lanes = max_lanes
        self._next_tid = 1

    def track(self, name: str, order: tuple, cap: int | None = None, counter: bool = False) -> _Track:
        if name not in self.tracks:
            self.tracks[name] = _Track(name, order, min(cap or self.max_lanes, self.max_lanes), counter)
        return self.tracks[name]

    def add(self, track: _Track, name: str, ts_s: float, dur_s: float, cat: str, args: dict) -> None:
        end = ts_s + dur_s
        eps = 1e-15
        if track.counter:
            track.changes += [(ts_s, 1), (end, -1)]
        lane = next((i for i, last in enumerate(track.lanes) if last <= ts_s + eps), None)
        if lane is None:
            if len(track.lanes) >= track.cap:
                self.dropped += 1
                return
            track.lanes.append(end)
            track.tids.append(self._next_tid)
            self._next_tid += 1
            lane = len(track.lanes) - 1
        track.lanes[lane] = end
        self.events.append({"name": name, "cat": cat, "ph": "X", "ts": round(ts_s * _US, 6),
                            "dur": round(dur_s * _US, 6), "pid": 1, "tid": track.tids[lane], "args": args})

    def counters(self) -> list[dict]:
        """'<track> busy' counter events: how many of a group's units (or a
        many-server resource's servers) hold a task, over time."""
        out = []
        for track in self.tracks.values():
            busy = 0
            points: dict[float, int] = {}
            for t, delta in sorted(track.changes, key=lambda c: (c[0], c[1])):
                busy += delta
                points[round(t * _US, 6)] = busy
            out += [{"name": f"{track.name} busy", "ph": "C", "pid": 1, "ts": ts, "args": {"busy": n}}
                    for ts, n in points.items()]
        return out

    def metadata(self, process: str) -> list[dict]:
        meta = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": process}}]
        ordered = sorted(self.tracks.values(), key=lambda t: t.order)
        for rank, track in enumerate(ordered):
            for lane, tid in enumerate(track.tids):
                label = track.name if len(track.tids) == 1 else f"{track.name} #{lane}"
                meta.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": label}})
                meta.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid,
                             "args": {"sort_index": rank * 1000 + lane}})
        return meta


def _events_per_copy(run) -> int:
    g = run.graph
    delays = int(np.count_nonzero(g.route_ptr[1:] == g.route_ptr[:-1]))
    return 3 * int(g.route_res.shape[0]) + delays + len(run.sim.critical_path) + 1  # slices + counter points


def _track_names(runs) -> tuple[dict[str, str], dict[str, tuple]]:
    """Resource name -> track name, and track name -> sort key."""
    names: dict[str, int] = {}
    for run in runs:
        for r in range(run.graph.n_resources):
            names.setdefault(str(run.graph.resource_name[r]), int(run.graph.resource_kind[r]))
    grouped = len(names) > MAX_RESOURCE_TRACKS
    label = resource_groups(run.graph for run in runs)
    to_track = {n: label[n] if grouped else n for n in names}
    order = {to_track[n]: (2, kind, to_track[n]) for n, kind in names.items()}
    return to_track, order


def build_trace(result, max_events: int = MAX_EVENTS, max_lanes: int = MAX_LANES) -> dict:
    """The trace as a JSON-ready dict (see the module docstring)."""
    b = _TraceBuilder(max_lanes)
    runs = result.segment_runs
    folded: list[str] = []
    if runs:
        full = sum(_events_per_copy(run) * run.repeat for run in runs)
        expand = full <= max_events
        to_track, order = _track_names(runs)
        offset = 0.0
        for run in runs:
            copies = run.repeat if expand else 1
            span = run.sim.makespan_cycles * run.seconds_per_cycle
            for i in range(copies):
                _add_copy(b, run, i, offset + i * span, to_track, order, result.layers)
            if copies < run.repeat:
                rest = run.repeat - copies
                b.add(b.track(SEGMENT_TRACK, (1,), cap=1), f"{run.label or 'segment'}: {rest} more identical "
                      "repeats (not drawn)", offset + copies * span, rest * span, "folded",
                      {"repeats": rest, "each_s": span})
                folded.append(f"segment {run.label!r} x{run.repeat} drawn once")
            offset += run.repeat * span
    else:
        _add_roofline(b, result)
    b.events += b.counters()
    b.events.sort(key=lambda e: (e["ts"], e.get("tid", 0)))
    meta = b.metadata(f"{result.workload} {result.phase} on {result.chip} ({result.fidelity})")
    other = {"archsim_version": result.provenance.get("archsim_version"), "chip": result.chip,
             "workload": result.workload, "phase": result.phase, "fidelity": result.fidelity,
             "mapper": result.provenance.get("mapper"), "config_hash": result.provenance.get("config_hash"),
             "latency_s": result.latency_s,
             "folded": "; ".join(folded) + (f" (full expansion would exceed {max_events:,} events)"
                                            if folded else ""),
             "events_not_drawn": b.dropped,
             "tracks": "one per resource" if runs and len(_track_names(runs)[0]) <= MAX_RESOURCE_TRACKS
             else "one per resource group (indices folded into '*')"}
    if b.dropped:
        other["events_not_drawn_reason"] = (f"more than {max_lanes} overlapping tasks on one track; the "
                                            "'<track> busy' counters count them all")
    return {"traceEvents": meta + b.events, "displayTimeUnit": "ns", "otherData": other}


def _add_copy(b: _TraceBuilder, run, copy: int, offset: float, to_track, order, layers: int) -> None:
    from archsim.engine import task_durations

    g, sim, spc = run.graph, run.sim, run.seconds_per_cycle
    _, hold = task_durations(g)
    relabel = run.represents_layers
    seg_label = f"L{copy}" if relabel else (run.label or "segment") + (f" #{copy}" if run.repeat > 1 else "")
    b.add(b.track(SEGMENT_TRACK, (1,), cap=1), seg_label, offset, sim.makespan_cycles * spc, "segment",
          {"segment": run.label, "repeat": run.repeat, "copy": copy})
    on_path = np.zeros(g.n_tasks, dtype=bool)
    on_path[sim.critical_path] = True
    for k in np.argsort(sim.start_cycle, kind="stable"):
        k = int(k)
        label = str(g.op_labels[g.task_op[k]])
        layer = int(g.task_layer[k])
        if relabel and label.startswith("L0."):
            label, layer = f"L{copy}.{label[3:]}", copy
        cat = CATEGORIES[int(g.task_category[k])]
        args = {"op": label, "layer": layer, "category": cat, "work": float(g.task_work[k]), "task": k,
                "segment": run.label}
        start = offset + int(sim.start_cycle[k]) * spc
        a, z = int(g.route_ptr[k]), int(g.route_ptr[k + 1])
        if a == z:
            b.add(b.track(LATENCY_TRACK, (3,)), label, start, int(sim.end_cycle[k] - sim.start_cycle[k]) * spc,
                  cat, args)
        for e in range(a, z):
            name = str(g.resource_name[g.route_res[e]])
            grouped = to_track[name] != name
            capacity = int(g.resource_capacity[g.route_res[e]])
            track = b.track(to_track[name], order[to_track[name]], cap=None if grouped else max(1, capacity),
                            counter=grouped or capacity > b.max_lanes)
            b.add(track, label, start, int(hold[e]) * spc, cat, dict(args, resource=name))
        if on_path[k]:
            b.add(b.track(CRITICAL_TRACK, (0,)), label, start, int(sim.end_cycle[k] - sim.start_cycle[k]) * spc,
                  cat, args)


def _add_roofline(b: _TraceBuilder, result) -> None:
    """Roofline fidelity: operators back to back, compute and memory side by side."""
    t = 0.0
    compute = b.track("compute (roofline)", (2, 0), cap=1)
    memory = b.track(f"{result.peaks.get('memory', 'memory')} (roofline)", (2, 1), cap=1)
    for o in result.ops:
        args = {"op": o.name, "layer": o.layer, "flops": o.flops, "bytes": o.bytes, "bound": o.bound}
        if o.compute_s > 0:
            b.add(compute, o.name, t, o.compute_s, "compute", args)
        if o.memory_s > 0:
            b.add(memory, o.name, t, o.memory_s, "memory", args)
        t += o.time_s


def write_trace(result, path: str, max_events: int = MAX_EVENTS) -> dict:
    """Write the trace; returns {'events', 'tracks', 'folded', 'path'}."""
    from archsim.errors import ArchsimInputError

    trace = build_trace(result, max_events)
    try:
        with open(path, "w") as fh:
            json.dump(trace, fh, separators=(",", ":"))
    except OSError as exc:
        raise ArchsimInputError(f"cannot write trace {path}: {exc.strerror}") from None
    n_events = sum(1 for e in trace["traceEvents"] if e["ph"] == "X")
    n_tracks = sum(1 for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name")
    return {"events": n_events, "tracks": n_tracks, "folded": trace["otherData"]["folded"], "path": path}

