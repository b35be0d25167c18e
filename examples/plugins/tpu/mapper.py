"""`tpu-torus`: the default mapper of the `tpu` family.

- Tensor parallelism over a tp-chip block of the torus (Megatron-style): QKV,
  FFN up and the LM head split their output columns, O projection and FFN
  down their input rows (then an all-reduce of the activations, torus.py),
  attention splits over heads (K/V heads replicated when tp exceeds them);
  norms, residuals and the embedding gather run replicated. No pipeline
  parallelism: the model must fit the HBM of the tp chips.
- Each operator runs on one representative chip: its matrix work on the MXUs
  (weight-stationary tiles, archsim.models.systolic.mxm_cycles), other work on
  the vector unit, and every byte it reads or writes streamed from HBM
  (unfused: no operator keeps its output in on-chip memory for the next),
  compute and HBM side by side; the next operator starts when both finish.
- `auto` tries every tp that fits (powers of two up to the chip count that
  divide the heads) and keeps the fastest.
"""
from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

from archsim.engine import TaskGraphBuilder, simulate
from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.workload.model import DTYPE_BYTES
from archsim.workload.ops import MATRIX_KINDS

from .chip import TpuChip
from .torus import emit_allreduce, torus_of

COLUMN = {"qkv", "ffn_up", "experts_up", "lm_head"}
ROW = {"o_proj", "ffn_down", "experts_down"}
ALLREDUCE_AFTER = {"o_proj": "allreduce_attn", "ffn_down": "allreduce_ffn", "experts_down": "allreduce_ffn"}
HEAD_SPLIT = {"attn_score", "softmax", "attn_context"}
SAMPLE_BYTES = 8  # per sequence: the best logit and its index, combined over the vocabulary shards


def parse_tp(raw) -> int | None:
    if str(raw) == "auto":
        return None
    try:
        tp = int(raw)
    except ValueError:
        tp = 0
    if tp < 1:
        raise ArchsimInputError(f"mapper 'tpu-torus' option 'tp' must be a positive integer or auto, got {raw!r}")
    return tp


@register_mapper(
    "tpu-torus", family="tpu", default_for=("tpu",),
    description="TPU-like: weight-stationary MXU tiles fed from HBM, tensor parallelism with ring all-reduce "
                "per torus dimension",
    options=(Option("tp", str, "auto", "tensor-parallel chips (a block of the torus, X first), or auto: the "
                    "fastest that fits", check=parse_tp),))
def map_tpu(system, graph, scenario, options) -> Mapping:
    chip = TpuChip.from_system(system)
    torus = torus_of(system)
    heads = _geometry(graph).get("heads")
    chosen = parse_tp(options["tp"])
    if chosen is not None and chosen > 1 and torus is None:
        raise ArchsimInputError(f"tp={chosen} needs a system of several chips; {system.name} is one chip")
    candidates = [chosen] if chosen else [t for t in _powers(system.count) if not heads or heads % t == 0]
    best, why_not = None, []
    for tp in candidates:
        need = _hbm_need(graph, scenario, tp)
        if need["need_bytes"] > chip.hbm_capacity:
            why_not.append((tp, need))
            continue
        segments = _segments(chip, torus, graph, scenario, tp)
        cycles = sum(simulate(s.graph).makespan_cycles * s.repeat for s in segments)
        if best is None or cycles < best[0]:
            best = (cycles, tp, segments, need)
    if best is None:
        tp, need = why_not[-1]
        raise InfeasibleError(
            f"{graph.workload} needs {need['need_bytes'] / 1e9:.1f} GB of HBM per chip with tp={tp} "
            f"(weights {need['weights_bytes'] / 1e9:.1f} GB, KV cache {need['kv_cache_bytes'] / 1e9:.1f} GB); "
            f"{system.chip.name} has {chip.hbm_capacity / 1e9:.1f} GB"
            + ("" if chosen else f" and {system.name} offers at most tp={tp}"), dict(need, tp=tp))
    _, tp, segments, need = best
    extra = dict(tp=tp, hbm_need_gb=round(need["need_bytes"] / 1e9, 3))
    if torus is not None:
        extra["tp_block"] = "x".join(map(str, torus.group(tp)))
    return Mapping("tpu-torus", dict(options, tp=str(tp)), segments, chips_used=tp,
                   notes=_notes(chip, graph, tp, len(candidates), options.get("fidelity")), extra=extra)


def _powers(count: int) -> list[int]:
    return [1 << i for i in range(count.bit_length()) if 1 << i <= count]


def _geometry(graph) -> dict:
    return next((dict(op.attrs) for op in graph.ops if op.kind == "attn_score"), {})


def _hbm_need(graph, scenario, tp: int) -> dict:
    """Bytes one chip holds: its share of the weights and of the KV cache (K/V heads split while tp does
    not exceed them), twice the largest operator's activations."""
    from archsim.workload.inline import is_inline

    geo = _geometry(graph)
    if is_inline(graph.workload) or not geo:
        weights, kv = sum(op.weight_bytes for op in graph.ops) / tp, 0.0
    else:
        from archsim.workload.lower import kv_cache_bytes, parameter_count
        from archsim.workload.model import load_transformer

        model = load_transformer(graph.workload)
        weights = parameter_count(model) * DTYPE_BYTES[scenario.weight_dtype] / tp
        kv = kv_cache_bytes(model, scenario) * _kv_share(tp, geo)
    acts = 2 * max(op.act_read_bytes + op.act_write_bytes for op in graph.ops)
    return dict(weights_bytes=weights, kv_cache_bytes=kv, activations_bytes=acts, need_bytes=weights + kv + acts)


def _kv_share(tp: int, geo: dict) -> float:
    kv = geo["kv_heads"]
    return math.ceil(kv / tp) / kv if kv >= tp else 1.0 / kv


def shard(op, tp: int, geo: dict):
    """The part of `op` one chip of the tp group runs."""
    if tp == 1:
        return op
    name = op.short_name
    if op.kind in HEAD_SPLIT or name == "rope":
        if geo["heads"] % tp:
            raise ArchsimInputError(f"tp={tp} must divide the model's {geo['heads']} attention heads")
        fq, fkv = 1.0 / tp, _kv_share(tp, geo)
        attrs = dict(op.attrs, heads=geo["heads"] // tp, kv_heads=max(1, round(geo["kv_heads"] * fkv))) \
            if op.attrs else op.attrs
        return replace(op, flops=op.flops * fq, kv_read_bytes=op.kv_read_bytes * fkv,
                       kv_write_bytes=op.kv_write_bytes * fkv, act_read_bytes=op.act_read_bytes * fq,
                       act_write_bytes=op.act_write_bytes * fq, attrs=attrs)
    if name in COLUMN or (op.kind == "gemm" and not geo):
        n = math.ceil(op.n / tp)
        f = n / op.n
        return replace(op, n=n, flops=op.flops * f, weight_bytes=op.weight_bytes * f,
                       act_write_bytes=op.act_write_bytes * f)
    if name in ROW:
        k = math.ceil(op.k / tp)
        f = k / op.k
        return replace(op, k=k, flops=op.flops * f, weight_bytes=op.weight_bytes * f,
                       act_read_bytes=op.act_read_bytes * f)
    if name in ("ffn_act", "experts_act"):
        return replace(op, flops=op.flops / tp, act_read_bytes=op.act_read_bytes / tp,
                       act_write_bytes=op.act_write_bytes / tp)
    return op  # norms, residuals, the embedding gather, the MoE router: replicated


def _segments(chip, torus, graph, scenario, tp) -> list[Segment]:
    if graph.phase not in ("prefill", "decode"):  # a bare GEMM or GEMV
        return [_segment(chip, torus, graph.ops, scenario, tp, {}, graph.ops[0].name, 1)]
    geo = _geometry(graph)
    out = [_segment(chip, torus, graph.layer_ops(0), scenario, tp, geo,
                    f"decoder layer, one chip of the tp group (x{graph.layers})", graph.layers)]
    if graph.pre_ops:
        out.append(_segment(chip, torus, graph.pre_ops, scenario, tp, geo, "embedding", 1))
    out.append(_segment(chip, torus, graph.post_ops, scenario, tp, geo, "final norm, LM head, sampling", 1))
    return out


def _segment(chip, torus, ops, scenario, tp, geo, label, repeat) -> Segment:
    b = TaskGraphBuilder(clock_hz=chip.clock_hz)
    r = SimpleNamespace(mxu=b.add_resource("mxu", "compute", 1.0),  # work: MXU cycles from the systolic model
                        vpu=b.add_resource("vpu", "compute", float(chip.alus)),
                        hbm=b.add_resource("hbm", "memory", chip.hbm_bytes_per_cycle, latency=chip.hbm_latency_cycles))
    if torus is not None and tp > 1:
        rate, hop = torus.link_bytes_per_s / chip.clock_hz, chip.cycles(torus.hop_s)
        r.ici_x = b.add_resource("ici_x", "interconnect", rate, latency=hop, capacity=2)
        r.ici_y = b.add_resource("ici_y", "interconnect", rate, latency=hop, capacity=2)
    act = DTYPE_BYTES[scenario.act_dtype]
    prev: list[int] = []
    for op in ops:
        local = shard(op, tp, geo)
        prev = _emit_op(b, r, chip, local, scenario, prev)
        if tp > 1 and op.short_name in ALLREDUCE_AFTER:
            name = op.name[: -len(op.short_name)] + ALLREDUCE_AFTER[op.short_name]
            prev = emit_allreduce(b, r, torus, tp, op.act_write_bytes, act, prev, name, op.layer, chip.clock_hz)
        if tp > 1 and op.short_name == "lm_head":
            prev = emit_allreduce(b, r, torus, tp, SAMPLE_BYTES * max(1, op.m), 4.0, prev, "sample_allreduce",
                                  op.layer, chip.clock_hz)
    return Segment(b.build(), repeat, label)


def _emit_op(b, r, chip, op, scenario, prev) -> list[int]:
    tasks = []
    if op.kind in MATRIX_KINDS:
        tasks.append(b.add_task(r.mxu, _mxu_cycles(chip, op, scenario), deps=prev, op=op.name, layer=op.layer,
                                category="compute"))
    elif op.flops > 0:
        tasks.append(b.add_task(r.vpu, op.flops, deps=prev, op=op.name, layer=op.layer, category="compute"))
    if op.bytes > 0:
        tasks.append(b.add_task(r.hbm, op.bytes, deps=prev, op=op.name, layer=op.layer, category="memory"))
    return tasks or prev


def _mxu_cycles(chip, op, scenario) -> int:
    if op.kind == "gemm":
        return chip.matmul_cycles(scenario.weight_dtype, op.m, op.n, op.k, op.count)
    a = op.attrs  # attention: K (scores) or V (context) of one KV head of one sequence is the stationary tile
    streamed = a["q_len"] * max(1, a["heads"] // a["kv_heads"])
    n, k = (a["kv_len"], a["head_dim"]) if op.kind == "attn_score" else (a["head_dim"], a["kv_len"])
    return chip.matmul_cycles(scenario.kv_dtype, streamed, n, k, a["batch"] * a["kv_heads"])


def _notes(chip, graph, tp, searched, fidelity) -> list[str]:
    notes = [
        f"tpu-torus: tp={tp}" + (f" (auto: the fastest of {searched} tensor-parallel degrees that fit)"
                                 if searched > 1 else "")
        + "; one chip of the tp group is simulated (its peers work in lockstep); no pipeline parallelism",
        f"MXUs: {chip.mxus} weight-stationary {chip.rows}x{chip.cols} arrays, {chip.install_cycles}-cycle tile "
        f"install{', double buffered' if chip.double_buffered else ''}; every operator streams its bytes from "
        "HBM (no fusion: an upper bound for small memory-bound operators)",
    ]
    if tp > 1:
        notes.append("all-reduce: ring per torus dimension (both directions on a full wrapped dimension), the two "
                     "dimensions' halves side by side; no latency-optimised small-message algorithm")
    if graph.phase == "prefill":
        notes.append("prefill: causal attention runs full (unmasked) tiles")
    if fidelity == "cycle":
        notes.append("fidelity cycle = task for tpu: no cycle-level model of the ICI or HBM")
    return notes
