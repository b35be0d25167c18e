"""What-if: how much faster the whole run gets if one resource class were
twice as fast, found by re-simulating the same task graphs.

For each resource class present (compute, memory, noc, interconnect) every
resource of that class gets `factor` x its rate, everything else is kept
(fixed latencies too: a faster link still pays its hop latency), and every
segment is simulated again. speedup = base latency / new latency. A roofline
result is re-evaluated analytically the same way (compute or memory peak x2).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsim.engine.ir import RESOURCE_KINDS
from archsim.report.analysis import resource_groups

WHATIF_FACTOR = 2.0
# `auto` skips the what-if when re-simulating would run more tasks than this
# (each class re-runs every segment that uses it); the engine runs ~10-20M
# tasks/s, so the limit keeps `archsim run` within a few extra seconds.
AUTO_MAX_TASKS = 20_000_000
KIND_TITLES = {"compute": "compute", "memory": "memory bandwidth", "noc": "on-chip network",
               "interconnect": "chip-to-chip links"}


@dataclass(frozen=True)
class WhatIf:
    kind: str  # resource class made faster
    resources: tuple[str, ...]  # its resource groups ('hbm', 'sm*', 'nvlink*')
    latency_s: float  # the run's latency with that class `factor` x as fast
    speedup: float  # base latency / latency_s


def whatif_cost_tasks(result) -> int:
    """Tasks the engine would simulate to answer the what-if for `result`."""
    total = 0
    for run in result.segment_runs:
        kinds = np.unique(run.graph.resource_kind)
        total += run.graph.n_tasks * len(kinds)
    return total


def whatif(result, factor: float = WHATIF_FACTOR) -> list[WhatIf]:
    """One WhatIf per resource class present in the run, in RESOURCE_KINDS order."""
    if result.segment_runs:
        return _resimulate(result, factor)
    if result.fidelity == "roofline":
        return _roofline(result, factor)
    return []


def add_whatif(result, mode: str = "auto", factor: float = WHATIF_FACTOR):
    """Fill result.whatif / result.whatif_latency_s (mode: auto, on or off);
    returns the list of WhatIf (empty when skipped) and says why in the notes."""
    if mode == "off":
        return []
    if mode == "auto" and whatif_cost_tasks(result) > AUTO_MAX_TASKS:
        result.notes.append(f"what-if skipped: it would simulate {whatif_cost_tasks(result):,} tasks "
                            f"(auto limit {AUTO_MAX_TASKS:,}); pass --whatif to run it")
        return []
    found = whatif(result, factor)
    result.whatif = {w.kind: w.speedup for w in found}
    result.whatif_latency_s = {w.kind: w.latency_s for w in found}
    how = "re-simulated" if result.segment_runs else "roofline re-evaluated"
    result.notes.append(f"what-if: each resource class in turn at {factor:g}x its rate, {how}; "
                        "fixed latencies (hops, launches) unchanged")
    return found


def _resimulate(result, factor: float) -> list[WhatIf]:
    from archsim.engine import simulate

    out = []
    label = resource_groups(run.graph for run in result.segment_runs)
    for code, kind in enumerate(RESOURCE_KINDS):
        latency = 0.0
        groups: dict[str, None] = {}
        for run in result.segment_runs:
            g = run.graph
            mask = g.resource_kind == code
            if not mask.any():
                latency += run.total_s
                continue
            groups.update(dict.fromkeys(label[str(n)] for n in g.resource_name[mask]))
            faster = replace(g, resource_rate=np.where(mask, g.resource_rate * factor, g.resource_rate))
            latency += simulate(faster).makespan_cycles / g.clock_hz * run.repeat
        if groups:
            out.append(WhatIf(kind, tuple(groups), latency, result.latency_s / latency if latency > 0 else 1.0))
    return out


def _roofline(result, factor: float) -> list[WhatIf]:
    faster_compute = sum(max(o.compute_s / factor, o.memory_s) for o in result.ops)
    faster_memory = sum(max(o.compute_s, o.memory_s / factor) for o in result.ops)
    memory = result.peaks.get("memory", "memory").lower()
    return [WhatIf("compute", ("matrix", "vector"), faster_compute, result.latency_s / faster_compute),
            WhatIf("memory", (memory,), faster_memory, result.latency_s / faster_memory)]
