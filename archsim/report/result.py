"""The result of one run: latency, throughput, per-operator split, provenance.

Field names carry units (`_s`, `_bytes`, `_flops`). `to_dict()` is the JSON
written by `--json`; the keys listed in issue 2 never change meaning.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from archsim import __version__
from archsim.hw.load import System
from archsim.hw.peaks import Peaks, system_peaks
from archsim.mapping.roofline import OpBound
from archsim.report.analysis import (SegmentRun, critical_path_parts, critical_path_summary, layer_breakdown,
                                     op_spans, utilization)
from archsim.workload.model import Scenario
from archsim.workload.ops import OpGraph


@dataclass
class OpTime:
    name: str
    layer: int
    kind: str
    flops: float
    bytes: float
    compute_s: float
    memory_s: float
    comm_s: float
    wait_s: float
    time_s: float
    bound: str  # which of compute / memory / communication dominates its time
    roofline_s: float  # the analytic lower bound of this operator
    span_s: float = 0.0  # first task start to last task end, summed over instances (overlap included)
    fused_into: str = ""  # bound "fused": the op whose kernel does this op's work (its time is there)


@dataclass
class RunResult:
    chip: str
    workload: str
    phase: str
    fidelity: str
    batch: int
    prompt_len: int | None
    context_len: int | None
    dtype: str
    latency_s: float
    ttft_s: float | None
    tpot_s: float | None
    tokens_per_s: float
    tokens_per_s_per_user: float
    bottleneck: str
    chips_used: int
    ops: list[OpTime]
    layers: int
    roofline_latency_s: float
    provenance: dict
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    # Added by the report stage (issue 8); see docs/report.md.
    utilization: dict = field(default_factory=dict)  # resource class -> busy time / (capacity x latency)
    resource_groups: list = field(default_factory=list)  # per resource group: kind, count, busy_s, utilization
    critical_path: dict = field(default_factory=dict)  # time by category / resource class / group, bottleneck
    per_layer: list = field(default_factory=list)  # per layer: compute_s, memory_s, comm_s, wait_s, time_s
    peaks: dict = field(default_factory=dict)  # the chip's roofline: peak FLOP/s, bandwidth, ridge point
    whatif: dict = field(default_factory=dict)  # resource class -> speedup of the run if it were 2x as fast
    whatif_latency_s: dict = field(default_factory=dict)  # resource class -> latency with it 2x as fast
    whatif_groups: dict = field(default_factory=dict)  # 'class:group' -> speedup with only that group 2x
    # Added by archsim/energy (issue 10); see docs/economics.md. None when the chip file lacks a value.
    energy_j: float | None = None  # the whole system over the run: static (all chips) + dynamic
    energy_per_token_j: float | None = None
    avg_power_w: float | None = None
    energy: dict = field(default_factory=dict)  # breakdowns by component and operator class, TDP check
    cost_per_million_tokens: float | None = None  # US dollars: amortized capital + electricity
    cost: dict = field(default_factory=dict)  # the price inputs and the split
    # What the engine ran (graphs and SimResults), for what-if, traces and plots; never serialized.
    segment_runs: list = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict:
        d = asdict(replace(self, segment_runs=[], extra={}))
        d.pop("segment_runs")
        d.pop("extra")
        d.update({k: _summarize(v) for k, v in self.extra.items()})
        return d

    def totals(self) -> dict[str, float]:
        keys = ("compute_s", "memory_s", "comm_s", "wait_s")
        return {k: sum(getattr(o, k) for o in self.ops) for k in keys}

    TABLES = ("ops", "layers", "resources")

    def records(self, table: str = "ops") -> list[dict]:
        """Rows as plain dicts: 'ops' (one per operator and layer), 'layers' or 'resources' (resource groups)."""
        if table == "ops":
            return [asdict(o) for o in self.ops]
        if table == "layers":
            return [dict(row) for row in self.per_layer]
        if table == "resources":
            return [dict(g) for g in self.resource_groups]
        raise ValueError(f"table must be one of {', '.join(self.TABLES)}, got {table!r}")

    def to_pandas(self, table: str = "ops"):
        """A pandas DataFrame of `records(table)`: per operator (default), per layer or per resource group."""
        from archsim.report.tables import frame

        return frame(self.records(table))

    def _repr_html_(self) -> str:
        from archsim.report.markup.notebook import run_fragment

        return run_fragment(self)


# Arrays in Mapping.extra larger than this (per-core heatmaps of a wafer) go to
# JSON as a summary; the plots read the arrays themselves.
MAX_JSON_ARRAY = 4096


def _summarize(value):
    if isinstance(value, np.ndarray) and value.size > MAX_JSON_ARRAY:
        return {"shape": list(value.shape), "min": float(value.min()), "max": float(value.max()),
                "mean": float(value.mean()), "sum": float(value.sum()),
                "note": f"array of {value.size} values summarized; the plots use it in full"}
    return value


def peaks_dict(peaks: Peaks, chips: int) -> dict:
    """The system's roofline numbers (all `chips` together), for the report and plots."""
    return {"chips": chips, "matrix_flops_per_s": peaks.matrix_flops, "vector_flops_per_s": peaks.vector_flops,
            "memory_bytes_per_s": peaks.memory_bw, "memory_capacity_bytes": peaks.memory_capacity,
            "memory": peaks.memory_name, "ridge_flops_per_byte": peaks.ridge_point,
            "vector_ridge_flops_per_byte": peaks.vector_flops / peaks.memory_bw}


def _throughput(graph: OpGraph, scenario: Scenario, latency_s: float) -> dict:
    if graph.phase == "prefill":
        total = scenario.batch * scenario.prompt_len / latency_s
        return dict(ttft_s=latency_s, tpot_s=None, tokens_per_s=total,
                    tokens_per_s_per_user=total / scenario.batch)
    if graph.phase == "decode":
        total = scenario.batch / latency_s
        return dict(ttft_s=None, tpot_s=latency_s, tokens_per_s=total,
                    tokens_per_s_per_user=total / scenario.batch)
    # single-operator kernel study: "tokens" are the GEMM's rows
    return dict(ttft_s=None, tpot_s=None, tokens_per_s=graph.tokens / latency_s,
                tokens_per_s_per_user=graph.tokens / latency_s)


def provenance(system: System, fidelity: str, mapper: str, options: dict) -> dict:
    return dict(archsim_version=__version__, config_hash=system.config_hash, chip_source=system.source,
                fidelity=fidelity, mapper=mapper, options=dict(options))


def base_fields(system: System, graph: OpGraph, scenario: Scenario, fidelity: str) -> dict:
    is_model = graph.phase in ("prefill", "decode")
    return dict(chip=system.name, workload=graph.workload, phase=graph.phase, fidelity=fidelity,
                batch=scenario.batch if is_model else 1,
                prompt_len=scenario.prompt_len if graph.phase == "prefill" else None,
                context_len=scenario.context_len if graph.phase == "decode" else None,
                dtype=scenario.weight_dtype, layers=graph.layers)


def result_from_roofline(system: System, graph: OpGraph, scenario: Scenario, bounds: list[OpBound],
                         mapper: str, options: dict) -> RunResult:
    ops = [OpTime(b.op.name, b.op.layer, b.op.kind, b.op.flops, b.op.bytes, b.compute_s, b.memory_s,
                  0.0, 0.0, b.time_s, b.bound, b.time_s, b.time_s) for b in bounds]
    latency = sum(o.time_s for o in ops)
    by_bound = {"compute": 0.0, "memory": 0.0}
    for o in ops:
        by_bound[o.bound] += o.time_s
    notes = [f"roofline: each operator takes max(FLOPs / peak, bytes / {system.count} x memory bandwidth); "
             "operators run one after another, unfused; no communication is modelled"]
    busy = {"compute": sum(o.compute_s for o in ops), "memory": sum(o.memory_s for o in ops)}
    share = {k: v / latency if latency > 0 else 0.0 for k, v in by_bound.items()}
    bottleneck = max(by_bound, key=by_bound.get)
    critical = {"time_s": latency, "tasks": len(ops),
                "by_category_s": dict(by_bound, communication=0.0, wait=0.0),
                "by_resource_kind_s": dict(by_bound), "bottleneck_kind": bottleneck,
                "bottleneck_share": share[bottleneck], "top_resources": [], "top_ops": [], "segments": [],
                "note": "roofline: operators in sequence, each on the resource that bounds it"}
    result = RunResult(**base_fields(system, graph, scenario, "roofline"), latency_s=latency,
                     **_throughput(graph, scenario, latency), bottleneck=bottleneck,
                     chips_used=system.count, ops=ops, roofline_latency_s=latency,
                     provenance=provenance(system, "roofline", mapper, options), notes=notes,
                     utilization={k: v / latency if latency > 0 else 0.0 for k, v in busy.items()},
                     critical_path=critical, per_layer=layer_breakdown(ops, graph.layers),
                     peaks=peaks_dict(system_peaks(system, scenario.weight_dtype), system.count))
    return result


def attribute_critical_path(graph, sim) -> dict[str, dict[str, float]]:
    """Split the makespan over operators along the critical path, in cycles.

    Walking the critical path in order, the gap before each task (it waited for
    a busy resource or a fixed latency) is `wait`, its own duration goes to its
    category. The parts add up to the makespan exactly.
    """
    from archsim.engine.ir import CATEGORIES

    out: dict[str, dict[str, float]] = {}
    for k, wait, own in critical_path_parts(graph, sim):
        label = str(graph.op_labels[graph.task_op[k]])
        entry = out.setdefault(label, {"compute": 0.0, "memory": 0.0, "communication": 0.0, "wait": 0.0})
        entry["wait"] += wait
        entry[CATEGORIES[int(graph.task_category[k])]] += own
    return out


def _expand_label(label: str, segment, layers: int) -> list[str]:
    """A representative layer's label ('L0.qkv') stands for every layer it repeats: a whole model's, or a
    "layer" segment's run of identical layers from its first ('L3.x' x 58: L3 to L60)."""
    if segment.repeat == layers and label.startswith("L0."):
        return [f"L{i}.{label[3:]}" for i in range(layers)]
    head, _, rest = label.partition(".")
    if segment.label == "layer" and rest and head[1:].isdigit() and head[0] == "L" and segment.repeat > 1:
        first = int(head[1:])
        if first < layers:
            return [f"L{i}.{rest}" for i in range(first, min(first + segment.repeat, layers))]
    return [label]


def result_from_simulation(system: System, graph: OpGraph, scenario: Scenario, bounds: list[OpBound],
                           mapping, runs: list[SegmentRun], fidelity: str) -> RunResult:
    """Assemble the result of a simulated run from the engine's output (`runs`, one per segment of
    `mapping`); computes nothing but sums and attributions of what the engine produced."""
    by_name = {b.op.name: b for b in bounds}
    times: dict[str, dict[str, float]] = {}
    latency = sum(run.total_s for run in runs)
    for segment, run in zip(mapping.segments, runs):
        per_op = attribute_critical_path(segment.graph, run.sim)
        for label, parts in per_op.items():
            names = _expand_label(label, segment, graph.layers)
            # 'L0.x' in a per-layer segment becomes one row per layer; any other label
            # (a hand-off between layer regions) gets all of the segment's repeats.
            repeat_each = segment.repeat // len(names) if len(names) == 1 or segment.repeat % len(names) == 0 \
                else segment.repeat / len(names)  # a micro-batched pipeline's extra stage passes, spread
            for name in names:
                entry = times.setdefault(name, {k: 0.0 for k in parts})
                for key, cycles in parts.items():
                    entry[key] += cycles * run.seconds_per_cycle * repeat_each
    for op in graph.ops:  # operators hidden behind others still get a (zero-time) row
        times.setdefault(op.name, {"compute": 0.0, "memory": 0.0, "communication": 0.0, "wait": 0.0})
    spans = op_spans(runs, graph.layers)
    ops = []
    for name, parts in times.items():
        b = by_name.get(name)
        op_time = sum(parts.values())
        active = {"compute": parts["compute"], "memory": parts["memory"], "communication": parts["communication"]}
        host = _fused_into(name, getattr(mapping, "fused", {}), graph.layers)
        bound = max(active, key=active.get) if op_time > 0 else ("fused" if host else "hidden")
        ops.append(OpTime(name, b.op.layer if b else _layer_of(name, graph.layers), b.op.kind if b else "collective",
                          b.op.flops if b else 0.0, b.op.bytes if b else 0.0, parts["compute"], parts["memory"],
                          parts["communication"], parts["wait"], op_time, bound,
                          b.time_s if b else 0.0, spans.get(name, 0.0), host if op_time == 0 else ""))
    order = {op.name: i for i, op in enumerate(graph.ops)}
    ops.sort(key=lambda o: (o.layer if o.layer >= 0 else -1, order.get(o.name, len(order))))
    totals = {"compute": sum(o.compute_s for o in ops), "memory": sum(o.memory_s for o in ops),
              "communication": sum(o.comm_s for o in ops)}
    by_kind, groups = utilization(runs, latency)
    result = RunResult(**base_fields(system, graph, scenario, fidelity), latency_s=latency,
                     **_throughput(graph, scenario, latency), bottleneck=max(totals, key=totals.get),
                     chips_used=mapping.chips_used, ops=ops, roofline_latency_s=sum(b.time_s for b in bounds),
                     provenance=provenance(system, fidelity, mapping.mapper, mapping.options),
                     notes=list(mapping.notes) + composition_notes(mapping), extra=dict(mapping.extra),
                     utilization=by_kind,
                     resource_groups=groups, critical_path=critical_path_summary(runs, latency),
                     per_layer=layer_breakdown(ops, graph.layers),
                     peaks=peaks_dict(system_peaks(system, scenario.weight_dtype), system.count),
                     segment_runs=runs)
    return result


def composition_notes(mapping) -> list[str]:
    """Say how the run was composed from simulated pieces (DESIGN: large systems simulate one
    representative instance of identical work and compose)."""
    repeated = [f"{s.label or 'segment'} x{s.repeat}" for s in mapping.segments if s.repeat > 1]
    if not repeated:
        return []
    return ["composition: each repeated segment is simulated once and its time multiplied "
            f"({', '.join(repeated)}); the segments run back to back"]


def _fused_into(name: str, fused: dict, layers: int) -> str:
    """The op whose kernel does `name`'s work, if a mapper fused it: the mapper names layer 0's
    ops ("L0.softmax"); every layer of a repeated segment is fused the same way."""
    if name in fused:
        return fused[name]
    layer = _layer_of(name, layers)
    if 0 <= layer < layers and "." in name:
        host = fused.get(f"L0.{name.split('.', 1)[1]}")
        if host and host.startswith("L0."):
            return f"L{layer}.{host[3:]}"
    return ""


def _layer_of(name: str, layers: int) -> int:
    if name.startswith("L") and "." in name and name[1:name.index(".")].isdigit():
        return int(name[1:name.index(".")])
    return layers
