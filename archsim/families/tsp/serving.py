"""What the serving layer asks of the TSP family (archsim/serving; docs/serving.md).

- replica: tp and pp of one replica. tp: the user's, or what `tsp-static` picks for one sequence (its
  latency-first choice). pp: the user's, or as many pipeline stages as the replica's chips allow (at most
  one layer per stage): `auto` for a single sequence packs the fewest chips that hold the weights, which
  leaves no SRAM for a serving KV cache, so a serving replica spreads the layers over all its chips.
- KV capacity: every chip holds only SRAM; what a stage's chips have left after their share of the weights
  (and the embedding table or LM head) holds K/V, tokens = the fewest over the stages.
- No host memory: preemption by swap is not available (recompute only).
- Iteration cost: the default mixed step through `tsp-static` with tp and pp pinned. A step's pipeline
  stages run one after another (the mapper does not overlap iterations across stages), stated in the run.
"""
from __future__ import annotations

import math

from archsim.errors import InfeasibleError
from archsim.families.tsp.mapper.chip import TspChip
from archsim.families.tsp.mapper.plan import footprint, stage_layers
from archsim.workload.lower import lower

NOTE = ("tsp serving: an iteration runs its pipeline stages one after another (no overlap of iterations across "
        "stages), so throughput with pp stages is a lower bound")


def replica_options(system, workload: str, model, scenario, options: dict, replicas: int) -> tuple[dict, int, str]:
    share = system.count // replicas
    tp, pp = str(options.get("tp", "auto")), str(options.get("pp", "auto"))
    if tp == "auto":
        from archsim.pipeline import run

        single = scenario.with_(phase="decode", batch=1, context_len=1, prefix_len=0)
        tp = run(system, workload, single, options={"tp": "auto", "pp": pp}).extra["tp"]
    tp = int(tp)
    if pp == "auto":
        pp = max(1, min(model.layers, share // tp))
    pp = int(pp)
    fp = footprint(lower(model, scenario.with_(phase="decode", batch=1, context_len=1, prefix_len=0)))
    if tp * pp > share or stage_layers(fp, tp, pp, TspChip.from_system(system).sram_bytes) is None:
        raise InfeasibleError(f"{model.name} does not fit one replica of {share} chips of {system.name} with "
                              f"tp={tp} x pp={pp}", dict(tp=tp, pp=pp, chips=share))
    return dict(options, tp=str(tp), pp=str(pp)), tp * pp, f"tp {tp} x pp {pp}"


def kv_capacity(system, workload: str, model, scenario, options: dict, *, max_batched_tokens: int,
                max_seqs: int) -> tuple[int, str]:
    tp, pp = int(options["tp"]), int(options["pp"])
    sram = TspChip.from_system(system).sram_bytes
    fp = footprint(lower(model, scenario.with_(phase="decode", batch=1, context_len=1, prefix_len=0)))
    per_token_layer = fp.layer_kv_bytes / 2  # the footprint holds two tokens (context 1 + the new one)
    layers = stage_layers(fp, tp, pp, sram)
    if layers is None:
        raise InfeasibleError(f"{model.name} does not fit tp={tp} x pp={pp} chips of {system.name}")
    tokens = []
    for i, n in enumerate(layers):
        used = n * fp.layer_weight_bytes / tp + (fp.embed_bytes / tp if i == 0 else 0.0) \
            + (fp.head_bytes / tp if i == len(layers) - 1 else 0.0)
        tokens.append((sram - used) * tp / (n * per_token_layer))
    fit = int(math.floor(min(tokens)))
    capacity = fit - max_seqs - max_batched_tokens  # room for the largest iteration's new tokens
    if capacity < 16:
        raise InfeasibleError(f"no room for a KV cache: {model.name} on tp={tp} x pp={pp} chips of {system.name} "
                              f"leaves room for {fit:,} tokens")
    return capacity, (f"{model.name} on tp={tp} x pp={pp} chips of {sram / 2**20:.0f} MiB SRAM: the fullest stage "
                      f"({max(layers)} layers) has room for {fit:,} tokens of K/V after its weights; less the "
                      f"largest iteration's new tokens = {capacity:,} tokens per replica")


def kv_bytes_per_token(system, model, scenario, options: dict) -> float:
    return 0.0  # no host memory to swap to
