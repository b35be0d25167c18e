"""`gpu-tiled`: the default mapper for `kind: gpu` chips and systems of them.

Each operator becomes one kernel (docs/gpu.md): GEMMs as CUTLASS-style
thread-block tiles with split-K (gpu_gemm), memory-bound operators as
streaming kernels limited by HBM or by the bytes their warps keep in flight
(gpu_kernels), attention as one fused kernel (FlashAttention-2 in prefill,
split-KV over the KV cache in decode). Kernels run one after another on one
representative GPU (tensor-parallel ranks are symmetric), with launch gaps,
host dispatch (eager) or one CUDA-graph replay, and the tensor-parallel
collectives over NVLink (gpu_parallel, gpu_emit), across nodes over the NICs;
expert parallelism (experts.py) and micro-batched pipelines (stages.py). Each run
of identical decoder layers is simulated once (its first layer) and repeated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.calibration import HOST_DISPATCH_S
from archsim.families.gpu.mapper.chip import GpuChip, Kernel, estimate_cycles, gpu_chip, sm_share_idle
from archsim.families.gpu.mapper.collectives import ALGORITHMS, alltoall, choose, net_of, p2p
from archsim.families.gpu.mapper.experts import PLANS, check_ep, ep_collectives
from archsim.families.gpu.mapper.stages import multinode_notes, resolve_microbatches, stage_crossings, step_graph
from archsim.families.gpu.mapper.emit import GpuEmitter
from archsim.families.gpu.mapper.gemm import PARTIAL_BYTES, choose_gemm, parse_tile, plan_gemm
from archsim.families.gpu.mapper.kernels import (decode_attention, prefill_attention, sampling_kernels,
                                                 streaming_kernel)
from archsim.families.gpu.schema import math_dtype
from archsim.families.gpu.mapper.parallel import check_capacity, check_parallel, collective_after, geometry, shard_op
from archsim.workload.model import DTYPE_BYTES

FUSED_INTO_ATTENTION = ("softmax", "attn_context")

OPTIONS = (
    Option("tp", str, "auto", "tensor-parallel degree: GPUs sharing each layer (two all-reduces per layer); "
                              "auto: the most GPUs not used by pp that divide the heads",
           check=lambda raw: resolve_tp(raw, 1, 1, None)),
    Option("pp", int, 1, "pipeline-parallel degree: stages of consecutive layers"),
    Option("microbatches", str, "1", "micro-batches the step's sequences are split into through the pp stages "
                                     "(a step takes (m + pp - 1) stage times of a micro-batch); auto: pp",
           check=lambda raw: resolve_microbatches(raw, 1, None)),
    Option("ep", int, 1, "expert-parallel degree (MoE): ep groups of tp GPUs per stage, each holding experts / ep "
                         "experts and attending its 1/ep of the sequences; all-to-all dispatch and combine"),
    Option("ep_imbalance", float, 1.0, "busiest expert group's routed tokens over the mean (1: uniform routing)"),
    Option("cuda_graphs", bool, True, "launch the whole step as one CUDA-graph replay (what serving stacks do "
                                      "for decode); false: one eager host dispatch per kernel"),
    Option("host_overhead", bool, True, "charge the host's dispatch time; false: steady-state back-to-back "
                                        "launches as timed with CUDA events"),
    Option("tile", str, "auto", "GEMM thread-block tile BMxBNxBK (e.g. 128x128x32), or auto (fastest)",
           check=parse_tile),
    Option("allreduce", str, "auto", "all-reduce algorithm: auto (the fastest of NCCL's choice and the one-shot/"
                                     "two-shot kernels serving stacks use), nccl (NCCL's own choice, as "
                                     "torch.distributed and nccl-tests run it), ring, nvls, oneshot or twoshot",
           check=lambda raw: check_algorithm(raw)),
    Option("lm_head", str, "16bit", "the embedding table's and LM head's dtype when the weights are narrower than "
                                   "16 bits: 16bit (quantized checkpoints keep them: ModelOpt's FP8, NVFP4 and "
                                   "INT4-AWQ exports exclude lm_head) or weights (quantized like the layers)",
           check=lambda raw: check_lm_head(raw)),
    Option("gemm", dict, {}, "per-operator GEMM choices, {operator: {tile: BMxBNxBK, split_k: N}} by operator "
                             "name without the layer (qkv, o_proj, ffn_up, ffn_down, lm_head, ...): what a mapping "
                             "file's `operators` says; an operator not listed gets `tile`'s choice",
           check=lambda raw: parse_gemm_choices(raw)),
)


LM_HEAD_CHOICES = ("16bit", "weights")
TABLE_OPS = ("embed", "lm_head")  # the ops whose weights are the vocabulary tables


def check_lm_head(raw: str) -> str:
    if raw not in LM_HEAD_CHOICES:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option 'lm_head' must be one of {', '.join(LM_HEAD_CHOICES)}, "
                                f"got {raw!r}")
    return raw


def table_dtype(scenario, lm_head: str | None = None) -> str:
    """The dtype of the vocabulary tables (token embedding, LM head). Quantized checkpoints leave them 16-bit:
    NVIDIA ModelOpt's unified HF export writes exclude_modules ["lm_head"] for FP8, INT4-AWQ and NVFP4
    (NVIDIA/TensorRT-Model-Optimizer modelopt/torch/export/unified_export_hf.py), and the embedding is a gather,
    not a quantized linear layer; vLLM's FP8 quantizes linear layers only. `lm_head` (the mapper option; None: its
    default, 16bit) "weights": like the layers."""
    w = scenario.weight_dtype
    if lm_head == "weights" or DTYPE_BYTES[w] >= 2:
        return w
    return scenario.act_dtype if DTYPE_BYTES[scenario.act_dtype] == 2 else "bf16"


def check_algorithm(raw: str) -> str:
    if raw not in ALGORITHMS:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option 'allreduce' must be one of {', '.join(ALGORITHMS)}, "
                                f"got {raw!r}")
    return raw


@register_mapper("gpu-tiled", family="gpu", default_for=("gpu",), options=OPTIONS,
                 description="SM-level GPU model: tiled GEMMs in waves, Little's-law memory kernels, fused "
                             "attention, launch overhead, tensor/pipeline/expert parallelism over NVLink and "
                             "InfiniBand")
def map_gpu(system, graph, scenario, options) -> Mapping:
    ep, imbalance = options.get("ep", 1), options.get("ep_imbalance", 1.0)
    options = dict(options, tp=resolve_tp(options["tp"], options["pp"] * max(1, ep), system.count,
                                          geometry(graph).get("heads")))
    tp, pp = options["tp"], options["pp"]
    check_parallel(system, tp, pp, graph.layers, graph.workload)
    check_ep(system, graph.model, tp, pp, ep, imbalance)
    micro = resolve_microbatches(options.get("microbatches", "1"), pp, scenario.batch)
    work = step_graph(graph, scenario, micro, ep, imbalance)  # what one GPU runs for one micro-batch
    if tp < 2 and any(op.kind == "collective" for op in graph.ops):
        raise ArchsimInputError(f"{graph.workload} needs at least 2 GPUs: run it on a multi-GPU system (e.g. "
                                f"dgx-h100) with tp >= 2; {system.name} gives tp={tp}")
    math_key = math_dtype(system.chip, scenario.weight_dtype, scenario.act_dtype)
    chip = gpu_chip(system.chip, math_key)
    attn_chip = gpu_chip(system.chip, attention_dtype(scenario.weight_dtype, scenario.act_dtype))
    tile = parse_tile(options["tile"])
    gemm = parse_gemm_choices(options.get("gemm") or {})
    tables = table_dtype(scenario, options.get("lm_head"))
    memory = check_capacity(system, graph, scenario, tp, pp, chip.hbm_capacity, ep, tables)
    geo = geometry(graph)
    sizes = (DTYPE_BYTES[scenario.weight_dtype], DTYPE_BYTES[scenario.act_dtype], DTYPE_BYTES[scenario.kv_dtype])
    quant = Quant(math_key, DTYPE_BYTES[scenario.weight_dtype] < DTYPE_BYTES[math_key])
    if tables == scenario.weight_dtype:
        table_chip, table_sizes, table_quant = chip, sizes, quant
    else:  # the vocabulary tables at their own (16-bit) dtype and tensor rate
        table_key = math_dtype(system.chip, tables, scenario.act_dtype)
        table_chip, table_sizes = gpu_chip(system.chip, table_key), (DTYPE_BYTES[tables],) + sizes[1:]
        table_quant = Quant(table_key, False)
    last_stage = math.ceil(graph.layers / pp)  # the slowest stage: the last (its layers and the LM head)
    runs = graph.model.layer_runs() if graph.model is not None else [(0, graph.layers)]
    tail = graph.layers - last_stage
    groups = [("pre", work.pre_ops, 1)]
    for first_layer, count in runs:  # each run of identical layers simulated once (its first layer) and repeated
        in_last = max(0, min(first_layer + count, graph.layers) - max(first_layer, tail))
        groups.append(("layer", work.layer_ops(first_layer), count + (micro - 1) * in_last))
    groups.append(("post", work.post_ops, micro))
    net = net_of(system, tp) if tp * pp * ep > 1 else None
    a2a_net = net_of(system, tp * ep) if ep > 1 else None

    def price(kind: str, size: float):
        """(cost, seconds) of one collective of this mapping."""
        if kind == "alltoall":
            cost = alltoall(size, a2a_net, ep, tp)
            return cost, cost.seconds(a2a_net)
        cost = choose(size, net, kind, options["allreduce"])
        return cost, cost.seconds(net)

    def moe_comm(op, ep_plan: str) -> list:
        return ep_collectives(op, work.tokens, _hidden(graph), sizes[1], graph.model, tp, ep, imbalance, ep_plan)
    ep_plan = "replicated"
    segments, plan, gaps_s, host_s, kernels, chosen = [], [], 0.0, 0.0, 0, {}
    share = {"kernels": 0, "idle_cycles": 0.0, "all_cycles": 0.0}  # kernels limited by one SM's share
    fused: dict[str, str] = {}
    first = True
    for label, ops, repeat in groups:
        if not ops:
            continue
        em = GpuEmitter(chip, net, options["cuda_graphs"], options["host_overhead"], replay=first)
        first = False
        for op in ops:
            if op.kind == "collective":  # a single-collective workload (allreduce:SIZE, alltoall:SIZE)
                if op.attrs.get("collective") == "alltoall":  # over all tp GPUs (NVLink and NICs)
                    cost = alltoall(op.attrs["bytes"], net_of(system, tp), tp) if net else None
                else:
                    cost = choose(op.attrs["bytes"], net, "allreduce", options["allreduce"]) if net else None
                if cost is not None:
                    em.collective(op.name, op.layer, cost)
                    chosen[op.name] = cost.algorithm
                continue
            local = shard_op(op, tp, geo)
            choice = None
            table = op.short_name in TABLE_OPS
            op_chip, op_sizes, op_quant = (table_chip, table_sizes, table_quant) if table else (chip, sizes, quant)
            if _is_gemm(local):
                kernel, *choice = gemm_for(op_chip, local, op_sizes, tile, gemm.get(op.short_name), graph.layers,
                                           op_quant)
                found = [kernel]
            else:
                if table and op_sizes[0] != sizes[0]:  # the gather reads 16-bit rows
                    local = replace(local, weight_bytes=local.weight_bytes * op_sizes[0] / sizes[0])
                found = kernels_for(op_chip, local, work.tokens, op_sizes, tile, attn_chip, op_quant)
            for kernel in found:
                em.kernel(kernel)
                est = estimate_cycles(kernel, chip)
                plan.append(dict(op=op.name, kernel=kernel.desc, est_us=est / chip.clock_hz * 1e6,
                                 covers=list(kernel.covers)))
                if choice:  # what a mapping file records for this operator (archsim/families/gpu/mapping.py)
                    plan[-1].update(tile="x".join(map(str, choice[0])), split_k=choice[1])
                fused.update({covered: kernel.label for covered in kernel.covers})
                share["all_cycles"] += est * repeat
                idle = sm_share_idle(kernel, chip)
                if idle > 0:
                    share["kernels"] += repeat
                    share["idle_cycles"] += idle * est * repeat
            if ep > 1 and op.short_name in ("router", "experts_down"):
                if op.short_name == "router":  # the cheaper dispatch-and-combine plan, kept for the layer
                    down = next(o for o in ops if o.short_name == "experts_down")
                    ep_plan = min(PLANS, key=lambda p: sum(price(kind, size)[1] for o in (op, down)
                                                           for _, kind, size in moe_comm(o, p)))
                    chosen[f"L{op.layer}.moe_plan"] = ep_plan
                after = moe_comm(op, ep_plan)
            else:
                after = [c for c in (collective_after(local, tp, sizes[1]),) if c is not None]
            for suffix, kind, size in after:
                name = f"L{op.layer}.{suffix}" if 0 <= op.layer < graph.layers else f"{op.name}_{suffix}"
                cost = price(kind, size)[0]
                em.collective(name, op.layer, cost)
                chosen[name] = f"{cost.algorithm} ({size / 1e3:.1f} KB)"
            if op.short_name == "lm_head":
                for kernel in sampling_kernels(chip, op.name, op.layer, work.batch, op.n):
                    em.kernel(kernel)
        segments.append(Segment(em.build(), repeat, label))
        gap, host = em.overhead_s()
        gaps_s, host_s, kernels = gaps_s + gap * repeat, host_s + host * repeat, kernels + em.kernels * repeat
    crossing = stage_crossings(system, tp * ep, pp)
    for across, repeat in ((False, pp - 1 - crossing), (True, crossing)):
        if repeat > 0:  # the first micro-batch's sends; later ones overlap the stages' compute
            em = GpuEmitter(chip, net, options["cuda_graphs"], options["host_overhead"], replay=False)
            cost = p2p(work.tokens * _hidden(graph) * sizes[1], net, across)
            em.collective("pp_send" + ("_net" if across else ""), graph.layers, cost)
            chosen["pp_send" + ("_net" if across else "")] = f"{cost.algorithm} x{repeat}"
            segments.append(Segment(em.build(), repeat, "pipeline"))
    notes = _notes(system, chip, options, tp, pp, memory, kernels, chosen) + _sm_share_note(chip, share, kernels)
    if tables != scenario.weight_dtype:
        notes.append(f"vocabulary tables (embedding, LM head) in {tables} beside {scenario.weight_dtype} layers, as "
                     "quantized checkpoints keep them (-o lm_head=weights: quantized too); the operator table "
                     "lists their bytes at the weights' dtype")
    notes += multinode_notes(pp, micro, ep, imbalance, crossing, work, graph)
    asked = str(options.get("microbatches", "1"))
    if asked.isdigit() and int(asked) > micro:
        notes.append(f"microbatches={asked} capped at the batch of {scenario.batch} sequences (one per micro-batch)")
    idle = share["idle_cycles"] / share["all_cycles"] if share["all_cycles"] else 0.0
    extra = dict(gpu_kernels_per_step=kernels, sm_share_idle=round(idle, 4), launch_gap_s=gaps_s,
                 host_dispatch_s=host_s, hbm_need_gb=round(memory["need_bytes"] / 1e9, 3), gpu_kernel_plan=plan,
                 gpu_collectives=chosen)
    if micro > 1 or ep > 1:
        extra.update(microbatches=micro, pipeline_bubble=round((pp - 1) / (micro + pp - 1), 4), ep=ep,
                     sequences_per_gpu=work.batch)
    return Mapping("gpu-tiled", {k: v for k, v in options.items()}, segments, chips_used=tp * pp * ep,
                   notes=notes, extra=extra, fused=fused)


@dataclass(frozen=True)
class Quant:
    """How the weight GEMMs run: `math`, the tensor-core rate key (schema.math_dtype); `weight_only`, weights
    stored narrower than the math and dequantized in the main loop (activations stay 16-bit)."""
    math: str
    weight_only: bool


def attention_dtype(weight_dtype: str, act_dtype: str | None = None) -> str:
    """The dtype attention's matmuls run in: the activations' 16-bit dtype, whatever the weights. With 8-bit
    (or 4-bit) weights and an 8-bit KV cache, serving stacks store K/V narrow but dequantize them and compute
    attention in 16 bits (SGLang issue #10083: "dequantize to BF16/FP16 at the reading time for attention
    calculation"; vLLM's quantized KV cache docs: only its FlashAttention-3 backend computes attention in FP8;
    TensorRT-LLM's FP8 context FMHA is an opt-in build flag)."""
    act = act_dtype or (weight_dtype if weight_dtype in ("fp32", "bf16", "fp16") else "bf16")
    if weight_dtype == act == "fp32":
        return "fp32"
    return act if act in ("bf16", "fp16") else "bf16"


def kernels_for(chip: GpuChip, op, tokens: int, sizes, tile, attn_chip: GpuChip | None = None,
                quant: Quant | None = None) -> list[Kernel]:
    """The kernels that run `op` on one GPU (none if another op's kernel does its work).
    `attn_chip`: the chip's rates for attention's dtype (default: `chip`'s); `quant`: how weight GEMMs run
    (default: at the weights' own dtype)."""
    w, a, c = sizes
    attn_chip = attn_chip or chip
    name = op.short_name
    if op.kind in FUSED_INTO_ATTENTION or name in FUSED_INTO_ATTENTION:
        return []
    if op.kind == "attn_score":
        g = op.attrs
        covers = tuple(op.name.replace("attn_score", s) for s in FUSED_INTO_ATTENTION)
        if g["q_len"] == 1 or g.get("decode"):  # a decode, or a speculative verify step's q = k + 1 queries
            return decode_attention(attn_chip, op.name, op.layer, g["batch"], g["kv_len"], g["heads"], g["kv_heads"],
                                    g["head_dim"], a, c, covers, q_len=g["q_len"], latent=bool(g.get("latent")))
        return [prefill_attention(attn_chip, op.name, op.layer, g["batch"], g["q_len"], g["kv_len"], g["heads"],
                                  g["kv_heads"], g["head_dim"], g["causal"], a, c, covers)]
    if op.kind == "gemm" and op.m and op.n and op.k:
        weight_only = quant is not None and quant.weight_only
        b_a = a if weight_only else min(w, a)  # W+A quantization: A is quantized to the weights' dtype
        return [plan_gemm(chip, op.name, op.layer, op.m, op.n, op.k, op.count, w, a, tile, b_a, weight_only)]
    rows = tokens if op.kind == "norm" else 0
    exps = op.flops / 5 if op.kind == "softmax" else 0.0
    return [streaming_kernel(chip, op.name, op.layer, op.bytes, op.flops, rows=rows, exps=exps,
                             l2_resident=l2_resident(chip, op))]


def l2_resident(chip: GpuChip, op) -> bool:
    """An op that touches only activations, few enough to stay in L2 between kernels (L2_RESIDENT_FRACTION)."""
    return (op.weight_bytes == 0 and op.kv_read_bytes == 0 and op.kv_write_bytes == 0
            and op.bytes <= chip.l2_resident_bytes)


def _is_gemm(op) -> bool:
    return op.kind == "gemm" and bool(op.m and op.n and op.k)


def parse_gemm_choices(raw) -> dict:
    """The `gemm` option checked: {operator: {tile: (BM, BN, BK) or None, split_k: int or None}}."""
    if not isinstance(raw, dict):
        raise ArchsimInputError(f"mapper 'gpu-tiled' option 'gemm' must be a mapping of operators, got {raw!r}")
    out = {}
    for name, choice in raw.items():
        if not isinstance(choice, dict) or set(choice) - {"tile", "split_k"}:
            raise ArchsimInputError(f"mapper 'gpu-tiled' option 'gemm': operator {name!r} takes {{tile: BMxBNxBK, "
                                    f"split_k: N}}, got {choice!r}")
        split = choice.get("split_k")
        if split is not None and (isinstance(split, bool) or not isinstance(split, int) or split < 1):
            raise ArchsimInputError(f"mapper 'gpu-tiled' option 'gemm': {name}.split_k must be a positive integer, "
                                    f"got {split!r}")
        tile = choice.get("tile")
        out[str(name)] = {"tile": parse_tile(str(tile)) if tile is not None else None, "split_k": split}
    return out


def gemm_for(chip: GpuChip, op, sizes, tile, choice: dict | None, layers: int, quant: Quant | None = None):
    """(kernel, tile, split-K) of a GEMM: the mapping's choice for its operator if it has one (checked against
    the SM), else the fastest (tile: the `tile` option's, or every candidate); `quant` as in kernels_for."""
    w, a, _ = sizes
    choice = choice or {}
    tile = choice.get("tile") or tile
    split = choice.get("split_k")
    if choice:
        check_gemm_choice(chip, op, tile, split, w, layers)
    weight_only = quant is not None and quant.weight_only
    b_a = a if weight_only else min(w, a)  # W+A quantization: A is quantized to the weights' dtype
    return choose_gemm(chip, op.name, op.layer, op.m, op.n, op.k, op.count, w, a, tile, split, b_a=b_a,
                       dequant=weight_only)


def check_gemm_choice(chip: GpuChip, op, tile, split, b_in: float, layers: int) -> None:
    """A mapping's tile and split-K for `op` must fit one SM and split K into whole BK steps; InfeasibleError
    naming the operator, its layers, the resource and the numbers otherwise."""
    where = (f"{op.short_name} of every decoder layer (L0-L{layers - 1})" if 0 <= op.layer < layers
             else op.name) + f" (GEMM {op.m}x{op.n}x{op.k} on one GPU)"
    if tile is not None:
        bm, bn, bk = tile
        stages = 2 * (bm + bn) * bk * b_in  # the fewest pipeline stages a CTA runs with: two
        if stages > chip.smem_per_sm:
            raise InfeasibleError(f"{where}: tile {bm}x{bn}x{bk} needs {stages / 1024:.0f} KiB of shared memory "
                                  f"for two pipeline stages; an SM of {chip.name} has {chip.smem_per_sm / 1024:.0f} "
                                  "KiB", {"operator": op.name, "shared_memory_bytes": stages,
                                          "capacity_bytes": chip.smem_per_sm})
        accumulators = bm * bn * PARTIAL_BYTES
        if accumulators > chip.registers_per_sm:
            raise InfeasibleError(f"{where}: tile {bm}x{bn}x{bk} keeps {accumulators / 1024:.0f} KiB of fp32 "
                                  f"accumulators in registers; an SM of {chip.name} has "
                                  f"{chip.registers_per_sm / 1024:.0f} KiB of registers",
                                  {"operator": op.name, "register_bytes": accumulators,
                                   "capacity_bytes": chip.registers_per_sm})
    if split is not None:
        bk = tile[2] if tile is not None else 16
        steps = math.ceil(op.k / bk)
        if split > steps:
            raise InfeasibleError(f"{where}: split-K {split} leaves some CTAs no K to reduce: K = {op.k} is "
                                  f"{steps} steps of BK = {bk}", {"operator": op.name, "split_k": split,
                                                                  "k_steps": steps})


def _hidden(graph) -> int:
    for op in graph.ops:
        if op.short_name == "o_proj":
            return op.n
    return max((op.n for op in graph.ops), default=1)


def resolve_tp(raw: str, pp: int, gpus: int, heads: int | None) -> int:
    """`auto`: the most GPUs of the system not used by pp that divide the attention heads
    (what a DGX serving one model does); otherwise an integer."""
    if raw == "auto":
        tp = max(1, gpus // max(1, pp))
        if heads:
            tp = min(tp, heads)  # a divisor of heads is at most heads (and the loop stays short)
        while heads and heads % tp:
            tp -= 1
        return tp
    try:
        return int(raw)
    except ValueError:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option 'tp' must be an integer or auto, got {raw!r}") from None


# Idle SM share (sm_share_idle) worth a note: a tenth of the step's estimated kernel time.
SM_IDLE_NOTE_FRACTION = 0.10


def _sm_share_note(chip: GpuChip, share: dict, kernels: int) -> list[str]:
    """Say when kernels held back by one SM's share of the chip leave much of it idle: the chip file's
    compute and L2 bandwidth are totals that sm.count divides, so more SMs at the same totals make
    these kernels slower (what a user who raises sm.count alone sees)."""
    part = share["idle_cycles"] / share["all_cycles"] if share["all_cycles"] else 0.0
    if part < SM_IDLE_NOTE_FRACTION:
        return []
    clock = chip.clock_hz
    return [f"SM share: {share['kernels']:,} of {kernels:,} kernels keep the chip's {chip.sms:,} SMs unevenly busy "
            f"(fewer thread blocks than SMs, or a partial last wave) while one SM's share limits them: "
            f"{part:.0%} of the step's estimated kernel time is SM share left idle. The chip file's compute "
            f"and L2 bandwidth are totals split over sm.count, so each SM has "
            f"{chip.tensor_per_cycle * clock / 1e12:.3g} TFLOP/s of tensor, {chip.fp32_per_cycle * clock / 1e9:.3g} "
            f"GFLOP/s of FP32 and {chip.l2_per_cycle / chip.sms * clock / 1e9:.3g} GB/s of L2. More SMs at the "
            "same totals make these kernels slower; raise compute.* and l2.bandwidth with sm.count to scale the chip"]


def _notes(system, chip, options, tp, pp, memory, kernels, chosen) -> list[str]:
    launch = ("one CUDA-graph replay per step" if options["cuda_graphs"]
              else f"eager: {HOST_DISPATCH_S * 1e6:.0f} us of host dispatch per kernel, pipelined ahead of the GPU")
    if not options["host_overhead"]:
        launch = "steady-state back-to-back launches (no host dispatch charged)"
    notes = [
        f"gpu-tiled: {kernels} kernels per step on one representative GPU of {chip.name} "
        f"({chip.sms} SMs); GEMMs as thread-block tiles in waves, memory-bound kernels limited by HBM or by "
        "bytes in flight per SM (Little's law), attention fused (FlashAttention-2 prefill, split-KV decode)",
        f"launch: {launch}; launch gaps and host dispatch count as compute time of the op they launch",
        f"HBM per GPU: {memory['need_bytes'] / 1e9:.2f} GB of {memory['capacity_bytes'] / 1e9:.1f} GB",
    ]
    if tp > 1 or pp > 1:
        notes.append(f"parallelism: tp={tp} (column/row-parallel layers, two all-reduces per layer, "
                     f"vocab-parallel LM head), pp={pp} (stages run one after another"
                     f"{' at batch 1' if options.get('microbatches', '1') in ('1', 1) else ', micro-batched'})")
    if chosen:
        shown = dict(list({n.split(".", 1)[-1]: a for n, a in chosen.items()}.items())[:4])
        notes.append(f"collectives (allreduce={options['allreduce']}): "
                     + ", ".join(f"{n}: {a}" for n, a in shown.items()))
    if options.get("fidelity") == "cycle":
        notes.append("fidelity cycle: the GPU model has no cycle-level network; it reuses the task-level model")
    return notes
