"""What one step's mapping asks for again and again, kept while a caller that maps many steps has it active
(mesh_reuse.ChunkStore holds one and makes it active inside `with store:`): lowering.pass_tokens of each pass
size search and the step's representative graph (lowering.pass_demand). Both are pure functions of their
arguments; the entries are for one step's graph, kept alive and compared by identity, and dropped when the
next step's graph comes. A module of its own, below lowering.py and reuse.py, so neither imports the other
for it."""
from __future__ import annotations


class StepMemo:
    def __init__(self):
        self.graph = None
        self.passes: dict = {}
        self.rep = None

    def _for(self, graph) -> None:
        if self.graph is not graph:
            self.graph, self.passes, self.rep = graph, {}, None

    def pass_tokens(self, graph, plan, costs, size: int, total: int, compute) -> int:
        """compute(graph, plan, costs, size, total), once per step and arguments: it reads `plan` only through
        its region's sides and stack (place.demand)."""
        self._for(graph)
        key = (plan.region_w, plan.region_h, plan.stack, costs, size, total)
        if key not in self.passes:
            self.passes[key] = compute(graph, plan, costs, size, total)
        return self.passes[key]

    def representative(self, graph, compute):
        """compute(graph) (chunk.representative) of the step being mapped, once."""
        self._for(graph)
        if self.rep is None:
            self.rep = compute(graph)
        return self.rep


_ACTIVE: list[StepMemo] = []


def active() -> StepMemo | None:
    return _ACTIVE[-1] if _ACTIVE else None
