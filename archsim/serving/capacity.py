"""KV-cache capacity of one replica, in tokens, from the family's memory accounting.

GPUs: every GPU of a tensor-parallel group (and pipeline stage) holds its share of the weights, an
activation workspace and its share of each token's K/V; the capacity is what is left of one GPU's
HBM after weights and the workspace of the largest iteration, divided by the K/V bytes one token
puts on that GPU (archsim.families.gpu.mapper.parallel.memory_parts: the same accounting the GPU mapper
checks a run against). TSP and mesh chips: not yet (their SRAM accounting after placement).
"""
from __future__ import annotations

import math

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.workload.model import Scenario, Transformer, load_transformer


def replica_parallelism(system, model: Transformer, options: dict, replicas: int) -> tuple[int, int]:
    """(tp, pp) of one replica: from -o tp=/pp= (tp auto: the most GPUs of a replica's share that divide
    the heads); the system must hold replicas x tp x pp chips."""
    if replicas < 1:
        raise ArchsimInputError(f"replicas must be at least 1, got {replicas}")
    if system.kind != "gpu":
        raise ArchsimInputError(f"serving on {system.kind} chips ({system.name}) is not yet supported: its KV "
                                "capacity and mixed-iteration timing are still to come; use a GPU system")
    from archsim.families.gpu.mapper.tiled import resolve_tp

    try:
        pp = int(options.get("pp", 1))
    except (TypeError, ValueError):
        raise ArchsimInputError(f"option pp must be an integer, got {options.get('pp')!r}") from None
    share = system.count // replicas
    if share < 1:
        raise ArchsimInputError(f"{replicas} replicas need at least {replicas} chips; {system.name} has "
                                f"{system.count}")
    tp = resolve_tp(str(options.get("tp", "auto")), pp, share, model.heads)
    if tp < 1 or pp < 1:
        raise ArchsimInputError(f"tp and pp must be at least 1, got tp={tp}, pp={pp}")
    if replicas * tp * pp > system.count:
        raise ArchsimInputError(f"{replicas} replicas x tp {tp} x pp {pp} = {replicas * tp * pp} chips, but "
                                f"{system.name} has {system.count}; lower --replicas, tp or pp, or use a larger "
                                "system")
    return tp, pp


def kv_capacity_tokens(system, model, scenario: Scenario, mapping_options: dict, *,
                       max_batched_tokens: int = 8192, max_seqs: int = 256) -> tuple[int, str]:
    """KV tokens one replica holds, and how that number was reached (one sentence with the numbers).

    `mapping_options` carries tp and pp (resolved integers or as for the mapper); the activation
    workspace is that of the largest iteration: a prefill of `max_batched_tokens` (capped at the
    model's context) or a decode of `max_seqs` sequences."""
    model = load_transformer(model) if isinstance(model, str) else model
    if system.kind != "gpu":
        raise ArchsimInputError(f"KV capacity of {system.kind} chips ({system.name}) is not yet modelled; "
                                "serving runs on GPU systems for now")
    from archsim.families.gpu.mapper.parallel import memory_parts
    from archsim.workload.lower import lower

    tp, pp = int(mapping_options.get("tp", 1)), int(mapping_options.get("pp", 1))
    prompt = max(1, min(max_batched_tokens, model.max_context))
    prefill = scenario.with_(phase="prefill", batch=1, prompt_len=prompt)
    decode = scenario.with_(phase="decode", batch=max_seqs, context_len=1)
    parts = [memory_parts(lower(model, s), s, tp, pp) for s in (prefill, decode)]
    weights = parts[0]["weights_bytes"]
    workspace = max(p["activations_bytes"] for p in parts)
    per_token = parts[1]["kv_cache_bytes"] / (max_seqs * 2)  # decode context 1: two tokens per sequence
    hbm = float(system.chip.hbm.capacity)
    free = hbm - weights - workspace
    where = (f"{model.name} with tp={tp}, pp={pp}: {hbm / 1e9:.1f} GB of HBM per GPU - {weights / 1e9:.2f} GB "
             f"weights - {workspace / 1e9:.2f} GB activation workspace (largest iteration: a {prompt:,}-token "
             f"prefill or a {max_seqs}-sequence decode)")
    if free <= per_token:
        raise InfeasibleError(f"no room for a KV cache: {where} leaves {free / 1e9:.2f} GB",
                              dict(hbm_bytes=hbm, weights_bytes=weights, workspace_bytes=workspace, tp=tp, pp=pp))
    tokens = int(math.floor(free / per_token))
    return tokens, (f"{where} = {free / 1e9:.2f} GB for K/V at {per_token / 1024:.1f} KiB per token "
                    f"per GPU = {tokens:,} tokens per replica")


def kv_bytes_per_token_per_gpu(model: Transformer, scenario: Scenario, tp: int, pp: int) -> float:
    """K/V bytes one token puts on one GPU of a replica (for swap times)."""
    from archsim.families.gpu.mapper.parallel import memory_parts
    from archsim.workload.lower import lower

    s = scenario.with_(phase="decode", batch=1, context_len=1)
    return memory_parts(lower(model, s), s, tp, pp)["kv_cache_bytes"] / 2
