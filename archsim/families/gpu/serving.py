"""What the serving layer asks of the GPU family (archsim/serving; docs/serving.md).

- replica: tensor x pipeline parallel degrees of one replica (from -o tp=/pp=; tp auto: the most GPUs of a
  replica's share that divide the heads), and the GPUs it uses;
- KV capacity: every GPU of a replica holds its share of the weights, an activation workspace and its share
  of each token's K/V; the capacity is what one GPU's HBM has left after weights and the workspace of the
  largest iteration, over the K/V bytes one token puts on that GPU (memory_parts: the same accounting the
  mapper checks a run against);
- swap: K/V bytes per token per GPU (host swapping over PCIe);
- iteration cost: the default (one mixed step through the pipeline: archsim/serving/cost.py).
"""
from __future__ import annotations

import math

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.families.gpu.mapper.parallel import memory_parts
from archsim.families.gpu.mapper.tiled import resolve_tp
from archsim.workload.lower import lower


def replica_options(system, workload: str, model, scenario, options: dict, replicas: int) -> tuple[dict, int, str]:
    """(mapper options with tp and pp resolved, chips one replica uses, a sentence saying so)."""
    try:
        pp = int(options.get("pp", 1))
    except (TypeError, ValueError):
        raise ArchsimInputError(f"option pp must be an integer, got {options.get('pp')!r}") from None
    share = system.count // replicas
    tp = resolve_tp(str(options.get("tp", "auto")), pp, share, model.heads)
    if tp < 1 or pp < 1:
        raise ArchsimInputError(f"tp and pp must be at least 1, got tp={tp}, pp={pp}")
    return dict(options, tp=tp, pp=pp), tp * pp, f"tp {tp} x pp {pp}"


def kv_capacity(system, workload: str, model, scenario, options: dict, *, max_batched_tokens: int,
                max_seqs: int) -> tuple[int, str]:
    tp, pp = int(options["tp"]), int(options["pp"])
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
    if free <= per_token * (max_seqs + prompt + 16):
        raise InfeasibleError(f"no room for a KV cache: {where} leaves {free / 1e9:.2f} GB",
                              dict(hbm_bytes=hbm, weights_bytes=weights, workspace_bytes=workspace, tp=tp, pp=pp))
    fit = int(math.floor(free / per_token))
    tokens = fit - max_seqs - prompt  # room for the largest iteration's new tokens (the mapper checks them too)
    return tokens, (f"{where} = {free / 1e9:.2f} GB for K/V at {per_token / 1024:.1f} KiB per token "
                    f"per GPU = {fit:,} tokens, less the largest iteration's new tokens = {tokens:,} tokens per "
                    "replica")


def kv_bytes_per_token(system, model, scenario, options: dict) -> float:
    """K/V bytes one token puts on one GPU of a replica (for swap times)."""
    s = scenario.with_(phase="decode", batch=1, context_len=1)
    return memory_parts(lower(model, s), s, int(options["tp"]), int(options["pp"]))["kv_cache_bytes"] / 2
