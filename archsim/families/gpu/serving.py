"""What the serving layer asks of the GPU family (archsim/serving; docs/serving.md).

- replica: tensor x pipeline (x expert) parallel degrees of one replica (from -o tp=/pp=/ep=; tp auto: the
  most GPUs of a replica's share not used by pp and ep that divide the heads), and the GPUs it uses
  (tp x ep x pp; a replica may span nodes: its collectives then use the NICs, mapper/collectives.py);
- KV capacity: every GPU of a replica holds its share of the weights, an activation workspace and its share
  of each token's K/V; the capacity is what one GPU's HBM has left after weights and the workspace of the
  largest iteration, over the K/V bytes one token puts on that GPU (memory_parts: the same accounting the
  mapper checks a run against);
- swap: K/V bytes per token per GPU (host swapping over PCIe);
- iteration cost: the default (one mixed step through the pipeline: archsim/serving/cost.py);
- token steps: the token counts past which an activation-only kernel leaves L2 (its cost steps up), so the
  serving layer's cost table puts grid points there (token_steps).
"""
from __future__ import annotations

import math

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.families.gpu.mapper.parallel import memory_parts
from archsim.families.gpu.mapper.tiled import resolve_tp, table_dtype
from archsim.workload.lower import lower


def replica_options(system, workload: str, model, scenario, options: dict, replicas: int) -> tuple[dict, int, str]:
    """(mapper options with tp and pp resolved, chips one replica uses, a sentence saying so)."""
    try:
        pp = int(options.get("pp", 1))
    except (TypeError, ValueError):
        raise ArchsimInputError(f"option pp must be an integer, got {options.get('pp')!r}") from None
    try:
        ep = int(options.get("ep", 1))
    except (TypeError, ValueError):
        raise ArchsimInputError(f"option ep must be an integer, got {options.get('ep')!r}") from None
    share = system.count // replicas
    tp = resolve_tp(str(options.get("tp", "auto")), pp * max(1, ep), share, model.heads)
    if tp < 1 or pp < 1 or ep < 1:
        raise ArchsimInputError(f"tp, pp and ep must be at least 1, got tp={tp}, pp={pp}, ep={ep}")
    if ep == 1:
        return dict(options, tp=tp, pp=pp), tp * pp, f"tp {tp} x pp {pp}"
    from archsim.families.gpu.mapper.experts import check_ep

    check_ep(system, model, tp, pp, ep, float(options.get("ep_imbalance", 1.0)))
    return dict(options, tp=tp, pp=pp, ep=ep), tp * ep * pp, f"tp {tp} x ep {ep} x pp {pp}"


def kv_capacity(system, workload: str, model, scenario, options: dict, *, max_batched_tokens: int,
                max_seqs: int) -> tuple[int, str]:
    tp, pp, ep = int(options["tp"]), int(options["pp"]), int(options.get("ep", 1))
    # The largest iteration's prompt tokens: max_batched_tokens of them, in prompts of at most the model's context
    # (an iteration can hold several prompts, and in-flight batching puts them beside max_seqs decodes).
    prompt = max(1, max_batched_tokens)
    prompts = math.ceil(prompt / max(1, min(prompt, model.max_context)))
    prefill = scenario.with_(phase="prefill", batch=prompts, prompt_len=math.ceil(prompt / prompts))
    decode = scenario.with_(phase="decode", batch=max_seqs, context_len=1)
    tables = table_dtype(scenario, options.get("lm_head"))
    parts = [memory_parts(lower(model, s), s, tp, pp, ep, tables) for s in (prefill, decode)]
    weights = parts[0]["weights_bytes"]
    workspace = max(p["activations_bytes"] for p in parts)
    per_token = parts[1]["kv_cache_bytes"] / (max_seqs * 2)  # decode context 1: two tokens per sequence
    hbm = float(system.chip.hbm.capacity)
    free = hbm - weights - workspace
    degrees = f"tp={tp}, pp={pp}" + (f", ep={ep}" if ep > 1 else "")
    where = (f"{model.name} with {degrees}: {hbm / 1e9:.1f} GB of HBM per GPU - {weights / 1e9:.2f} GB "
             f"weights - {workspace / 1e9:.2f} GB activation workspace (largest iteration: {prompt:,} prefill "
             f"tokens or a {max_seqs}-sequence decode)")
    if free <= per_token * (max_seqs + prompt + 16):
        raise InfeasibleError(f"no room for a KV cache: {where} leaves {free / 1e9:.2f} GB",
                              dict(hbm_bytes=hbm, weights_bytes=weights, workspace_bytes=workspace, tp=tp, pp=pp,
                                   ep=ep))
    fit = int(math.floor(free / per_token))
    tokens = fit - max_seqs - prompt  # room for the largest iteration's new tokens (the mapper checks them too)
    spread = f" (each token's K/V on one of the {ep} attention groups)" if ep > 1 else ""
    return tokens, (f"{where} = {free / 1e9:.2f} GB for K/V at {per_token / 1024:.1f} KiB per token "
                    f"per GPU{spread} = {fit:,} tokens, less the largest iteration's new tokens = {tokens:,} "
                    "tokens per replica")


def kv_bytes_per_token(system, model, scenario, options: dict) -> float:
    """K/V bytes one token puts on one GPU of a replica (for swap times)."""
    s = scenario.with_(phase="decode", batch=1, context_len=1)
    return memory_parts(lower(model, s), s, int(options["tp"]), int(options["pp"]),
                        int(options.get("ep", 1)))["kv_cache_bytes"] / 2


# The reference prompt the token steps are read from: every activation-only kernel's bytes are linear in the tokens.
_REFERENCE_TOKENS = 1024


def token_steps(system, workload: str, model, scenario, options: dict, max_tokens: int) -> list[int]:
    """Token counts T (1..max_tokens) after which a step costs a step more, besides the GEMM tile multiples the
    table's token axis already has: an activation-only kernel (a residual add, the FFN activation, RoPE) is read
    from L2 while its bytes fit in L2_RESIDENT_FRACTION of it (mapper/tiled.l2_resident) and from HBM beyond,
    and its bytes grow with T, so the step from T to T + 1 can cost several microseconds per layer (2-5% of a
    Llama-3.1-8B or -70B step). Each T is the last token count whose kernel still fits."""
    from archsim.families.gpu.mapper.chip import gpu_chip
    from archsim.families.gpu.mapper.parallel import geometry, shard_op
    from archsim.families.gpu.schema import math_dtype
    from archsim.workload.model import Scenario

    tokens = min(_REFERENCE_TOKENS, model.max_context)
    reference = Scenario(phase="prefill", batch=1, prompt_len=tokens, weight_dtype=scenario.weight_dtype,
                         act_dtype=scenario.act_dtype, kv_dtype=scenario.kv_dtype)
    graph = lower(model, reference)
    chip = gpu_chip(system.chip, math_dtype(system.chip, scenario.weight_dtype, scenario.act_dtype))
    limit = chip.l2_resident_bytes
    tp, geo = int(options.get("tp", 1)), geometry(graph)
    # Under expert parallelism each attention group runs about 1/ep of the step's tokens (mapper/experts.py), so
    # its kernels cross L2 residency at about ep times the token count (approximate: groups take whole sequences).
    ep = int(options.get("ep", 1))
    steps = set()
    for op in graph.pre_ops + graph.layer_ops(0) + graph.post_ops:
        local = shard_op(op, tp, geo)
        if (op.kind in ("attn_score", "softmax", "attn_context", "gemm", "embedding") or local.weight_bytes
                or local.kv_read_bytes or local.kv_write_bytes or local.bytes <= 0):
            continue
        per_token = local.bytes / tokens
        last = int(limit // per_token)
        while last > 0 and last * per_token > limit:
            last -= 1
        while (last + 1) * per_token <= limit:
            last += 1
        last *= ep
        if 1 <= last < max_tokens:
            steps.add(last)
    return sorted(steps)
