"""One replica of a system: its mapping, the chips it uses and its KV-cache capacity, from its family.

Each family answers in its serving module (archsim/families/<kind>/serving.py, named by the Family's
`serving`): `replica_options` (the mapper options of one replica, with every `auto` choice that shapes the
placement pinned, so every iteration runs on the same mapping), `kv_capacity` (tokens of K/V one replica
holds beside its weights: HBM per GPU, SRAM per chip on an LPU, SRAM per core of a wafer's layer regions)
and `kv_bytes_per_token` (per chip, for swapping to host memory; 0 where there is none).
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.family import get_family


def family_serving(system):
    """The serving module of `system`'s family; a clear error if the family has none."""
    family = get_family(system.kind)
    if not family.serving:
        raise ArchsimInputError(f"the {system.kind} family ({system.name}) does not support serving: its "
                                "Family names no serving module (docs/plugins.md)")
    return family.resolve(family.serving)


def replica(system, workload: str, model, scenario, options: dict, replicas: int) -> tuple[dict, int, str]:
    """(pinned mapper options, chips per replica, a description); the system must hold every replica."""
    if replicas < 1:
        raise ArchsimInputError(f"replicas must be at least 1, got {replicas}")
    if system.count // replicas < 1:
        raise ArchsimInputError(f"{replicas} replicas need at least {replicas} chips; {system.name} has "
                                f"{system.count}")
    pinned, chips, what = family_serving(system).replica_options(system, workload, model, scenario, dict(options),
                                                                 replicas)
    if replicas * chips > system.count:
        raise ArchsimInputError(f"{replicas} replicas x {chips} chips ({what}) = {replicas * chips} chips, but "
                                f"{system.name} has {system.count}; lower --replicas or the parallel degrees (tp, pp, "
                                "ep), or use a larger system")
    return pinned, chips, what


def kv_capacity_tokens(system, workload: str, model, scenario, options: dict, *, max_batched_tokens: int,
                       max_seqs: int) -> tuple[int, str]:
    """KV tokens one replica holds, and how that number was reached (one sentence with the numbers)."""
    return family_serving(system).kv_capacity(system, workload, model, scenario, options,
                                              max_batched_tokens=max_batched_tokens, max_seqs=max_seqs)


def kv_bytes_per_token(system, model, scenario, options: dict) -> float:
    return family_serving(system).kv_bytes_per_token(system, model, scenario, options)
