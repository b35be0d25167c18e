"""What the serving layer asks of the wafer-scale (mesh) family (archsim/serving; docs/serving.md).

- replica: one replica uses the whole system (the mapper places the layers over every wafer), so
  `--replicas` must be 1. The layer regions are pinned once (the region `auto` picks for one sequence),
  so every iteration runs on the same placement; chunk and micro-batch sizes stay per iteration.
- KV capacity: K/V lives in the SRAM of each layer's region, beside its weights: what a core of a layer
  region has left (after weights, activations of one sequence and the reserved bytes) over the K/V one
  token puts on it, less room for the largest iteration's new tokens.
- No host memory: preemption by swap is not available (recompute only).
- Iteration cost: a mixed iteration runs as its prefill chunk, then its decode micro-batches, through the
  layer pipeline (two pipeline runs of `mesh-dataflow`, summed): the weights stay in SRAM, so the second
  pass re-reads nothing, but it pays the per-layer collective latencies again. Stated in every run.
"""
from __future__ import annotations

import math

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.workload.model import DTYPE_BYTES

NOTE = ("wafer serving: a mixed iteration is timed as its prefill chunk then its decode sequences, two passes "
        "through the layer pipeline on the pinned regions (weights stay in SRAM; per-layer collective latencies "
        "are paid twice)")


def _single(system, workload, scenario, options):
    from archsim.pipeline import run

    return run(system, workload, scenario.with_(phase="decode", batch=1, context_len=1, prefix_len=0),
               options=options)


def replica_options(system, workload: str, model, scenario, options: dict, replicas: int) -> tuple[dict, int, str]:
    if replicas != 1:
        raise ArchsimInputError(f"a wafer system serves as one replica (the mapper places the model over all "
                                f"{system.count} wafers of {system.name}); got --replicas {replicas}")
    pinned = dict(options)
    if str(pinned.get("region", "auto")) == "auto":
        pinned["region"] = _single(system, workload, scenario, options).extra["region"]
    return pinned, system.count, f"regions {pinned['region']} over {system.count} wafer(s)"


def kv_capacity(system, workload: str, model, scenario, options: dict, *, max_batched_tokens: int,
                max_seqs: int) -> tuple[int, str]:
    mesh = _single(system, workload, scenario, options).extra["mesh"]
    cores = mesh["region_w"] * mesh["region_h"]
    free = mesh["sram_bytes"] - mesh["sram_per_core_bytes"]  # per core, with one sequence's 2 tokens held
    per_token = 2 * model.kv_heads * model.head_dim * DTYPE_BYTES[scenario.kv_dtype] * mesh["stack"]
    fit = int(math.floor(free * cores / per_token)) + 2
    capacity = fit - max_seqs - max_batched_tokens
    where = (f"{model.name} on {system.name}: regions of {mesh['region_w']}x{mesh['region_h']} cores, "
             f"{mesh['stack']} layer(s) each; {free / 1024:.1f} KiB per core left after weights and one sequence")
    if capacity < 16:
        raise InfeasibleError(f"no room for a KV cache: {where} (room for {fit:,} tokens)")
    return capacity, (f"{where} = {fit:,} tokens of K/V; less the largest iteration's new tokens = "
                      f"{capacity:,} tokens")


def kv_bytes_per_token(system, model, scenario, options: dict) -> float:
    return 0.0  # no host memory to swap to


def iteration_cost(default_cost):
    """A mixed iteration as two pipeline passes: the default cost of its prefill part plus its decode part,
    each memoized (a prefill pass depends on its tokens and prefix only, so every grid cell with the same P
    reuses it). Prefill passes are mapped with their chunk layers shared across cells (mapper/reuse.py: a
    chunk shape is built and simulated once per run; the same seconds and joules)."""
    from functools import lru_cache

    from archsim.families.mesh.mapper.reuse import shared_chunks
    from archsim.workload.lower import lower
    from archsim.workload.model import Scenario, load_transformer

    def origin(batch: int):  # the step of `batch` one-token prompts: what shared chunk shapes are scaled from
        return lower(load_transformer(default_cost.workload),
                     Scenario(phase="prefill", batch=batch, prompt_len=1, prefix_len=0, **default_cost.dtypes))

    store = shared_chunks(origin)

    def prefill_step(p: int, x: int):
        with store:
            return default_cost.step(p, 0, 0, x)

    prefill = lru_cache(maxsize=None)(prefill_step)
    decode = lru_cache(maxsize=None)(lambda d, c: default_cost.step(0, d, c, 0))

    def cost(p: int, d: int, c: int, x: int = 0) -> tuple[float, float]:
        parts = ([prefill(p, x)] if p else []) + ([decode(d, c)] if d else [])
        return sum(s for s, _ in parts), sum(j for _, j in parts)

    return cost
