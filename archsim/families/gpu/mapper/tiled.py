"""`gpu-tiled`: the default mapper for `kind: gpu` chips and systems of them.

Each operator becomes one kernel (docs/gpu.md): GEMMs as CUTLASS-style
thread-block tiles with split-K (gpu_gemm), memory-bound operators as
streaming kernels limited by HBM or by the bytes their warps keep in flight
(gpu_kernels), attention as one fused kernel (FlashAttention-2 in prefill,
split-KV over the KV cache in decode). Kernels run one after another on one
representative GPU (tensor-parallel ranks are symmetric), with launch gaps,
host dispatch (eager) or one CUDA-graph replay, and the tensor-parallel
collectives over NVLink (gpu_parallel, gpu_emit). Identical decoder layers are
simulated once (layer 0) and repeated.
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.calibration import HOST_DISPATCH_S
from archsim.families.gpu.mapper.chip import GpuChip, Kernel, estimate_cycles, gpu_chip
from archsim.families.gpu.mapper.emit import GpuEmitter
from archsim.families.gpu.mapper.gemm import parse_tile, plan_gemm
from archsim.families.gpu.mapper.kernels import decode_attention, prefill_attention, streaming_kernel
from archsim.families.gpu.mapper.parallel import check_capacity, check_parallel, collective_after, geometry, shard_op
from archsim.workload.model import DTYPE_BYTES

FUSED_INTO_ATTENTION = ("softmax", "attn_context")

OPTIONS = (
    Option("tp", str, "auto", "tensor-parallel degree: GPUs sharing each layer (two all-reduces per layer); "
                              "auto: the most GPUs not used by pp that divide the heads",
           check=lambda raw: resolve_tp(raw, 1, 1, None)),
    Option("pp", int, 1, "pipeline-parallel degree: stages of consecutive layers"),
    Option("cuda_graphs", bool, True, "launch the whole step as one CUDA-graph replay (what serving stacks do "
                                      "for decode); false: one eager host dispatch per kernel"),
    Option("host_overhead", bool, True, "charge the host's dispatch time; false: steady-state back-to-back "
                                        "launches as timed with CUDA events"),
    Option("tile", str, "auto", "GEMM thread-block tile BMxBNxBK (e.g. 128x128x32), or auto (fastest)",
           check=parse_tile),
)


@register_mapper("gpu-tiled", family="gpu", default_for=("gpu",), options=OPTIONS,
                 description="SM-level GPU model: tiled GEMMs in waves, Little's-law memory kernels, fused "
                             "attention, launch overhead, tensor/pipeline parallelism over NVLink")
def map_gpu(system, graph, scenario, options) -> Mapping:
    options = dict(options, tp=resolve_tp(options["tp"], options["pp"], system.count,
                                          geometry(graph).get("heads")))
    tp, pp = options["tp"], options["pp"]
    check_parallel(system, tp, pp)
    chip = gpu_chip(system.chip, scenario.weight_dtype)
    attn_chip = gpu_chip(system.chip, attention_dtype(scenario.weight_dtype))
    tile = parse_tile(options["tile"])
    memory = check_capacity(system, graph, scenario, tp, pp, chip.hbm_capacity)
    geo = geometry(graph)
    sizes = (DTYPE_BYTES[scenario.weight_dtype], DTYPE_BYTES[scenario.act_dtype], DTYPE_BYTES[scenario.kv_dtype])
    groups = [("pre", graph.pre_ops, 1), ("layer", graph.layer_ops(0), graph.layers), ("post", graph.post_ops, 1)]
    segments, plan, gaps_s, host_s, kernels = [], [], 0.0, 0.0, 0
    first = True
    for label, ops, repeat in groups:
        if not ops:
            continue
        em = GpuEmitter(chip, system.interconnect, options["cuda_graphs"], options["host_overhead"], replay=first)
        first = False
        for op in ops:
            local = shard_op(op, tp, geo)
            kernel = kernel_for(chip, local, graph.tokens, sizes, tile, attn_chip)
            if kernel is not None:
                em.kernel(kernel)
                plan.append(dict(op=op.name, kernel=kernel.desc, est_us=estimate_cycles(kernel, chip)
                                 / chip.clock_hz * 1e6, covers=list(kernel.covers)))
            coll = collective_after(local, tp, sizes[1])
            if coll is not None:
                suffix, algorithm, size = coll
                name = f"L{op.layer}.{suffix}" if 0 <= op.layer < graph.layers else f"{op.name}_{suffix}"
                em.collective(name, op.layer, algorithm, size, tp)
        segments.append(Segment(em.build(), repeat, label))
        gap, host = em.overhead_s()
        gaps_s, host_s, kernels = gaps_s + gap * repeat, host_s + host * repeat, kernels + em.kernels * repeat
    if pp > 1:
        em = GpuEmitter(chip, system.interconnect, options["cuda_graphs"], options["host_overhead"], replay=False)
        em.collective("pp_send", graph.layers, "p2p", graph.tokens * _hidden(graph) * sizes[1], 2)
        segments.append(Segment(em.build(), pp - 1, "pipeline"))
    notes = _notes(system, chip, options, tp, pp, memory, kernels)
    extra = dict(gpu_kernels_per_step=kernels, launch_gap_s=gaps_s, host_dispatch_s=host_s,
                 hbm_need_gb=round(memory["need_bytes"] / 1e9, 3), gpu_kernel_plan=plan)
    return Mapping("gpu-tiled", {k: v for k, v in options.items()}, segments, chips_used=tp * pp,
                   notes=notes, extra=extra)


def attention_dtype(weight_dtype: str) -> str:
    """The dtype attention's matmuls run in. With 8-bit weights and KV cache, serving
    stacks store K/V in 8 bits but dequantize them and compute attention in 16 bits
    (SGLang issue #10083: "dequantize to BF16/FP16 at the reading time for attention
    calculation"; vLLM's quantized KV cache docs: only its FlashAttention-3 backend
    computes attention in FP8; TensorRT-LLM's FP8 context FMHA is an opt-in build flag)."""
    return "bf16" if weight_dtype in ("fp8", "int8") else weight_dtype


def kernel_for(chip: GpuChip, op, tokens: int, sizes, tile, attn_chip: GpuChip | None = None) -> Kernel | None:
    """The kernel that runs `op` on one GPU (None if another op's kernel does its work).
    `attn_chip`: the chip's rates for attention's dtype (default: `chip`'s)."""
    w, a, c = sizes
    attn_chip = attn_chip or chip
    name = op.short_name
    if op.kind in FUSED_INTO_ATTENTION or name in FUSED_INTO_ATTENTION:
        return None
    if op.kind == "attn_score":
        g = op.attrs
        covers = tuple(op.name.replace("attn_score", s) for s in FUSED_INTO_ATTENTION)
        if g["q_len"] == 1 or g.get("decode"):  # a decode, or a speculative verify step's q = k + 1 queries
            return decode_attention(attn_chip, op.name, op.layer, g["batch"], g["kv_len"], g["heads"], g["kv_heads"],
                                    g["head_dim"], a, c, covers, q_len=g["q_len"])
        return prefill_attention(attn_chip, op.name, op.layer, g["batch"], g["q_len"], g["kv_len"], g["heads"],
                                 g["kv_heads"], g["head_dim"], g["causal"], a, c, covers)
    if op.kind == "gemm" and op.m and op.n and op.k:
        return plan_gemm(chip, op.name, op.layer, op.m, op.n, op.k, op.count, w, a, tile)
    rows = tokens if op.kind == "norm" else 0
    exps = op.flops / 5 if op.kind == "softmax" else 0.0
    return streaming_kernel(chip, op.name, op.layer, op.bytes, op.flops, rows=rows, exps=exps)


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


def _notes(system, chip, options, tp, pp, memory, kernels) -> list[str]:
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
        notes.append(f"parallelism: tp={tp} (column/row-parallel layers, ring all-reduce x2 per layer, "
                     f"vocab-parallel LM head), pp={pp} (stages run one after another at batch 1)")
    if options.get("fidelity") == "cycle":
        notes.append("fidelity cycle: the GPU model has no cycle-level network; it reuses the task-level model")
    return notes
