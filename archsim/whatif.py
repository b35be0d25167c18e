"""What-if: how much faster the whole run gets if one resource class were
twice as fast, found by re-simulating the same task graphs (an analysis above
the pipeline: it runs the engine again, so it does not live in report/, which
only formats).

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
# At most this many single-group what-ifs per run (a class with several groups).
MAX_GROUP_WHATIFS = 8


@dataclass(frozen=True)
class WhatIf:
    kind: str  # resource class made faster
    resources: tuple[str, ...]  # the resource groups made faster ('hbm', 'sm*', 'nvlink*')
    latency_s: float  # the run's latency with them `factor` x as fast
    speedup: float  # base latency / latency_s
    group: str | None = None  # set when only this group of the class was made faster

    @property
    def key(self) -> str:
        """'memory' for a whole class, 'memory:hbm' for one group of it."""
        return self.kind if self.group is None else f"{self.kind}:{self.group}"


def _groups_by_kind(result) -> dict[str, list[str]]:
    label = resource_groups(run.graph for run in result.segment_runs)
    out: dict[str, dict[str, None]] = {}
    for run in result.segment_runs:
        g = run.graph
        for name, code in zip(g.resource_name, g.resource_kind):
            out.setdefault(RESOURCE_KINDS[int(code)], {})[label[str(name)]] = None
    return {k: list(out[k]) for k in RESOURCE_KINDS if k in out}


def whatif_cost_tasks(result) -> int:
    """Tasks the engine would simulate to answer the what-if for `result`."""
    groups = _groups_by_kind(result)
    sims = len(groups) + min(MAX_GROUP_WHATIFS, sum(len(v) for v in groups.values() if len(v) > 1))
    return sims * sum(run.graph.n_tasks for run in result.segment_runs)


def whatif(result, factor: float = WHATIF_FACTOR) -> list[WhatIf]:
    """One WhatIf per resource class present in the run (RESOURCE_KINDS order),
    then, for a class made of several resource groups (GPU: 'sm*' and 'host';
    HBM and L2), one per group, so a class's speedup can be traced to its part."""
    if result.segment_runs:
        return _resimulate(result, factor)
    if result.fidelity == "roofline":
        return _roofline(result, factor)
    return []


def add_whatif(result, mode: str = "auto", factor: float = WHATIF_FACTOR):
    """Fill result.whatif, whatif_latency_s and whatif_groups (mode: auto, on
    or off); returns the list of WhatIf (empty when skipped) and says why in
    the notes."""
    if mode == "off":
        return []
    if mode == "auto" and whatif_cost_tasks(result) > AUTO_MAX_TASKS:
        result.notes.append(f"what-if skipped: it would simulate {whatif_cost_tasks(result):,} tasks "
                            f"(auto limit {AUTO_MAX_TASKS:,}); pass --whatif to run it")
        return []
    found = whatif(result, factor)
    result.whatif = {w.kind: w.speedup for w in found if w.group is None}
    result.whatif_latency_s = {w.kind: w.latency_s for w in found if w.group is None}
    result.whatif_groups = {w.key: w.speedup for w in found if w.group is not None}
    how = "re-simulated" if result.segment_runs else "roofline re-evaluated"
    result.notes.append(f"what-if: each resource class in turn at {factor:g}x its rate, {how}; "
                        "fixed latencies (hops, launches) unchanged")
    return found


def _latency_with(result, faster, factor: float) -> float:
    """Latency of the run with the resources `faster(graph)` (a mask) `factor` x as fast."""
    from archsim.engine import simulate

    latency = 0.0
    for run in result.segment_runs:
        g = run.graph
        mask = faster(g)
        if not mask.any():
            latency += run.total_s
            continue
        quicker = replace(g, resource_rate=np.where(mask, g.resource_rate * factor, g.resource_rate))
        latency += simulate(quicker).makespan_cycles / g.clock_hz * run.repeat
    return latency


def _resimulate(result, factor: float) -> list[WhatIf]:
    label = resource_groups(run.graph for run in result.segment_runs)
    groups = _groups_by_kind(result)

    def speedup(latency: float) -> float:
        return result.latency_s / latency if latency > 0 else 1.0

    out = []
    for kind, names in groups.items():
        code = RESOURCE_KINDS.index(kind)
        latency = _latency_with(result, lambda g: g.resource_kind == code, factor)
        out.append(WhatIf(kind, tuple(names), latency, speedup(latency)))
    budget = MAX_GROUP_WHATIFS
    for kind, names in groups.items():
        if len(names) < 2:
            continue
        for group in names[:budget]:
            latency = _latency_with(result, lambda g: np.array([label[str(n)] == group for n in g.resource_name],
                                                               dtype=bool), factor)
            out.append(WhatIf(kind, (group,), latency, speedup(latency), group))
        budget -= min(budget, len(names))
    return out


def _roofline(result, factor: float) -> list[WhatIf]:
    faster_compute = sum(max(o.compute_s / factor, o.memory_s) for o in result.ops)
    faster_memory = sum(max(o.compute_s, o.memory_s / factor) for o in result.ops)
    memory = result.peaks.get("memory", "memory").lower()
    return [WhatIf("compute", ("matrix", "vector"), faster_compute, result.latency_s / faster_compute),
            WhatIf("memory", (memory,), faster_memory, result.latency_s / faster_memory)]
