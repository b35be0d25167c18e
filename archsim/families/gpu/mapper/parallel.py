"""Tensor and pipeline parallelism over the GPUs of a system, and the HBM check.

Tensor parallelism (Megatron-LM style, what gpt-fast, vLLM and TensorRT-LLM do):
- QKV, FFN up (and gate), MoE expert up: column-parallel, each GPU computes
  1/tp of the output columns; attention heads split the same way. With fewer
  K/V heads than GPUs, each K/V head is replicated on tp / kv_heads GPUs;
- O projection, FFN down, MoE expert down: row-parallel (1/tp of K), each GPU
  holds a partial sum: one all-reduce of the layer's activations after each,
  so two per layer;
- LM head: vocabulary-parallel, then an all-gather of the logits;
- norms, residual adds, the embedding gather and the MoE router: replicated;
- MLA (DeepSeek): the fused query/latent down-projection replicated, the query and K/V up-projections
  column-parallel (heads split), the absorbed per-head GEMMs split by heads; the latent K/V cache is
  replicated on every GPU of the group (one K/V head); shared experts as a dense FFN.
Pipeline parallelism: layers split into `pp` consecutive stages; one token
crosses pp - 1 stage boundaries (a point-to-point send of its activations).
At batch 1 the stages run one after another (no microbatch overlap).
"""
from __future__ import annotations

import math
from dataclasses import replace

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.workload.ops import Op, OpGraph

COLUMN = {"qkv", "ffn_up", "experts_up", "lm_head", "q_b", "kv_b", "shared_up"}
ROW = {"o_proj", "ffn_down", "experts_down", "shared_down"}
PER_HEAD = {"q_absorb", "v_absorb", "dec_q_absorb", "dec_v_absorb"}  # MLA's per-head batched GEMMs: heads / tp each
ALLREDUCE_AFTER = {"o_proj": "allreduce_attn", "ffn_down": "allreduce_ffn", "experts_down": "allreduce_ffn"}


def check_parallel(system, tp: int, pp: int, layers: int | None = None, workload: str = "the model") -> None:
    if tp < 1 or pp < 1:
        raise ArchsimInputError(f"mapper 'gpu-tiled' options tp and pp must be at least 1, got tp={tp}, pp={pp}")
    if layers is not None and pp > layers:  # every pipeline stage holds at least one layer
        raise ArchsimInputError(f"mapper 'gpu-tiled' option pp={pp} needs at least {pp} layers (one per stage); "
                                f"{workload} has {layers}")
    if tp * pp > system.count:
        raise ArchsimInputError(f"tp x pp = {tp} x {pp} = {tp * pp} GPUs, but {system.name} has {system.count}; "
                                "use a system file (e.g. dgx-h100) or smaller degrees")
    if tp * pp > 1 and system.interconnect is None:
        raise ArchsimInputError(f"{system.name} has no interconnect; tp and pp need a multi-GPU system")


def geometry(graph: OpGraph) -> dict:
    """Attention heads of the model (from its attention ops), or {} for a bare GEMM."""
    for op in graph.ops:
        if op.kind == "attn_score":
            return dict(op.attrs)
    return {}


def shard_op(op: Op, tp: int, geo: dict) -> Op:
    """The part of `op` one GPU runs under tensor parallelism of degree `tp`."""
    if tp == 1:
        return op
    name = op.short_name
    if op.kind in ("attn_score", "softmax", "attn_context") or name == "rope":
        return _shard_heads(op, tp, geo)
    if name in COLUMN or (not geo and op.kind == "gemm"):
        n = math.ceil(op.n / tp) if name != "qkv" else _qkv_columns(op, tp, geo)
        f = n / op.n
        return replace(op, n=n, flops=op.flops * f, weight_bytes=op.weight_bytes * f,
                       act_write_bytes=op.act_write_bytes * f)
    if name in ROW:
        k = math.ceil(op.k / tp)
        f = k / op.k
        return replace(op, k=k, flops=op.flops * f, weight_bytes=op.weight_bytes * f,
                       act_read_bytes=op.act_read_bytes * f)
    if name in PER_HEAD:
        count = math.ceil(op.count / tp)
        f = count / op.count
        return replace(op, count=count, flops=op.flops * f, weight_bytes=op.weight_bytes * f,
                       act_read_bytes=op.act_read_bytes * f, act_write_bytes=op.act_write_bytes * f)
    if name in ("ffn_act", "experts_act", "shared_act"):
        f = 1.0 / tp
        return replace(op, flops=op.flops * f, act_read_bytes=op.act_read_bytes * f,
                       act_write_bytes=op.act_write_bytes * f)
    return op


def _local_heads(tp: int, geo: dict) -> tuple[int, int]:
    heads, kv = geo["heads"], geo["kv_heads"]
    if heads % tp:
        raise ArchsimInputError(f"tp={tp} must divide the model's {heads} attention heads")
    return heads // tp, math.ceil(kv / tp) if kv >= tp else 1


def _qkv_columns(op: Op, tp: int, geo: dict) -> int:
    h, kv = _local_heads(tp, geo)
    return (h + 2 * kv) * geo["head_dim"]


def _shard_heads(op: Op, tp: int, geo: dict) -> Op:
    if op.attrs and "heads" in op.attrs:  # an attention op's own geometry (MLA: prefill and decode differ)
        geo = op.attrs
    h, kv = _local_heads(tp, geo)
    fq, fkv = h / geo["heads"], kv / geo["kv_heads"]
    attrs = dict(op.attrs, heads=h, kv_heads=kv) if op.attrs else op.attrs
    if op.short_name == "rope":
        f = (h + kv) / (geo["heads"] + geo["kv_heads"])
        return replace(op, flops=op.flops * f, act_read_bytes=op.act_read_bytes * f,
                       act_write_bytes=op.act_write_bytes * f)
    return replace(op, flops=op.flops * fq, count=max(1, round(op.count * fq)),
                   kv_read_bytes=op.kv_read_bytes * fkv, kv_write_bytes=op.kv_write_bytes * fkv,
                   act_read_bytes=op.act_read_bytes * fq, act_write_bytes=op.act_write_bytes * fq, attrs=attrs)


def collective_after(op: Op, tp: int, act_bytes: float) -> tuple[str, str, float] | None:
    """(label suffix, algorithm, bytes) of the collective that follows `op`, if any."""
    if tp == 1:
        return None
    name = op.short_name
    if name in ALLREDUCE_AFTER:
        return ALLREDUCE_AFTER[name], "allreduce", op.m * op.n * op.count * act_bytes
    if name == "lm_head":
        return "gather", "allgather", op.m * op.n * tp * act_bytes
    return None


def memory_parts(graph: OpGraph, scenario, tp: int, pp: int, ep: int = 1, tables: str | None = None) -> dict:
    """Bytes one GPU of a tp x pp group (tp x ep x pp with expert parallelism) holds for `graph` (weights,
    KV cache, activation workspace), by part; a bare GEMM holds its operands. Shared by check_capacity and
    the serving layer's KV capacity. With ep > 1 (mapper/experts.py) the routed experts' weights are split
    over tp x ep GPUs, the rest over tp, and the K/V of the step's sequences over the ep groups (each
    group holds its own sequences': 1/ep of them under an even spread). `tables`: the dtype of the embedding
    table and LM head (tiled.table_dtype; default the weights')."""
    if not geometry(graph) or graph.model is None:  # a bare GEMM (or a graph built by hand): its operands
        return {"operands_bytes": sum(op.bytes for op in graph.ops) / tp}
    from archsim.workload.lower import expert_parameter_count, kv_cache_bytes, parameter_count
    from archsim.workload.model import DTYPE_BYTES

    model = graph.model  # the model the graph was lowered from (a file's, not the bundled one of its name)
    w = DTYPE_BYTES[scenario.weight_dtype]
    table_params = model.vocab * model.hidden
    vocab_tables = 1 if model.tied_embeddings else 2
    layers = (parameter_count(model) - table_params * vocab_tables) * w
    table = table_params * DTYPE_BYTES[tables or scenario.weight_dtype]
    stage_layers = math.ceil(model.layers / pp) / model.layers
    _, kv_local = _local_heads(tp, geometry(graph)) if tp > 1 else (0, model.kv_heads)
    if model.is_mla:  # MLA's latent: one K/V head, held by every GPU of the group
        kv = kv_cache_bytes(model, scenario) * stage_layers
    else:
        kv = kv_cache_bytes(model, scenario) * kv_local / model.kv_heads * stage_layers
    weights = layers * stage_layers / tp + table + (0 if model.tied_embeddings else table / tp)
    if ep > 1:
        kv /= ep
        experts = expert_parameter_count(model) * w
        weights -= experts * stage_layers / tp * (1.0 - 1.0 / ep)
    # the live activations at the largest operator: its inputs and outputs on one GPU (column/row-parallel
    # ops hold 1/tp), plus the residual stream; the fused attention kernel never stores its scores and
    # probabilities (FlashAttention)
    geo = geometry(graph)
    acts = max(local.act_read_bytes + local.act_write_bytes
               for local in (shard_op(op, tp, geo) for op in graph.ops)
               if local.kind not in ("attn_score", "softmax", "attn_context"))
    acts += graph.tokens * model.hidden * DTYPE_BYTES[scenario.act_dtype]
    return {"weights_bytes": weights, "kv_cache_bytes": kv, "activations_bytes": acts}


def check_capacity(system, graph: OpGraph, scenario, tp: int, pp: int, hbm_capacity: float, ep: int = 1,
                   tables: str | None = None) -> dict:
    """Bytes one GPU holds (weights, KV cache, activations); InfeasibleError if over its HBM."""
    parts = memory_parts(graph, scenario, tp, pp, ep, tables)
    need = sum(parts.values())
    if need > hbm_capacity:
        detail = ", ".join(f"{k[:-6].replace('_', ' ')} {v / 1e9:.2f} GB" for k, v in parts.items())
        raise InfeasibleError(
            f"{graph.workload} needs {need / 1e9:.1f} GB per GPU ({detail}) with tp={tp}, pp={pp}"
            f"{f', ep={ep}' if ep > 1 else ''}, "
            f"batch {scenario.batch}; {system.chip.name} has {hbm_capacity / 1e9:.1f} GB of HBM. "
            "Raise tp/pp (on a multi-GPU system) or lower the batch or context.",
            dict(parts, need_bytes=need, capacity_bytes=hbm_capacity, tp=tp, pp=pp, ep=ep))
    return dict(parts, need_bytes=need, capacity_bytes=hbm_capacity)
