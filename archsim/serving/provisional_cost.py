"""PROVISIONAL iteration cost from today's pipeline, until each family's mapper times mixed iterations.

    cost = ProvisionalCost(system, "llama3.1-8b", scenario, {"tp": 1, "pp": 1})
    seconds, dynamic_joules = cost(P, D, C)

An iteration with P prefill tokens, D decode sequences and C cached context tokens is priced as
the SUM of two separate pipeline runs (archsim.pipeline.run at the chosen fidelity):
- a prefill step of one sequence of P tokens (batch 1, prompt_len = P; P above the model's context
  is split into ceil(P / max_context) equal sequences), and
- a decode step of D sequences with context_len = max(1, C // D) each (capped at the model's context
  and so that D x (context + 1) tokens fit the replica's KV capacity).
What this gets wrong, knowingly: a mixed iteration reads the weights once, not twice (the sum
overstates mixed iterations); prefill chunks with a cached prefix are priced as if the prefix were
absent (their C goes to the decode context); many short prompts are priced as one long one
(attention is quadratic in it). The other side of the interface (docs/serving.md) replaces this
with mixed-iteration timing by each family's mapper.

Energy: the dynamic part of each run's energy (RunResult.energy['dynamic_j']); static power is
charged by the serving layer over the whole simulated time. A chip file without energy
coefficients gives 0 J and `energy_note` says so.
"""
from __future__ import annotations

import math

from archsim.errors import InfeasibleError
from archsim.workload.model import Scenario


class ProvisionalCost:
    def __init__(self, system, workload: str, scenario: Scenario, options: dict, *, fidelity: str = "task",
                 max_context: int, kv_capacity_tokens: int | None = None):
        self.system, self.workload, self.scenario = system, workload, scenario
        self.options, self.fidelity = dict(options), fidelity
        self.max_context, self.kv_capacity_tokens = max_context, kv_capacity_tokens
        self._prefill: dict[int, tuple[float, float]] = {}
        self._decode: dict[tuple[int, int], tuple[float, float]] = {}
        self.pipeline_runs = 0
        self.energy_note: str | None = None

    def __call__(self, p: int, d: int, c: int) -> tuple[float, float]:
        seconds = joules = 0.0
        if p > 0:
            s, j = self.prefill(int(p))
            seconds, joules = seconds + s, joules + j
        if d > 0:
            s, j = self.decode(int(d), self.decode_context(int(d), int(c)))
            seconds, joules = seconds + s, joules + j
        return seconds, joules

    def decode_context(self, d: int, c: int) -> int:
        context = max(1, c // d)
        context = min(context, self.max_context - 1)
        if self.kv_capacity_tokens is not None:
            context = min(context, max(1, self.kv_capacity_tokens // d - 1))
        return context

    def prefill(self, p: int) -> tuple[float, float]:
        if p not in self._prefill:
            batch = math.ceil(p / self.max_context)
            self._prefill[p] = self._run(self.scenario.with_(phase="prefill", batch=batch,
                                                             prompt_len=math.ceil(p / batch)))
        return self._prefill[p]

    def decode(self, d: int, context: int) -> tuple[float, float]:
        key = (d, context)
        if key not in self._decode:
            self._decode[key] = self._run(self.scenario.with_(phase="decode", batch=d, context_len=context))
        return self._decode[key]

    def _run(self, scenario: Scenario) -> tuple[float, float]:
        from archsim.pipeline import run

        self.pipeline_runs += 1
        try:
            result = run(self.system, self.workload, scenario, options=self.options, fidelity=self.fidelity)
        except InfeasibleError as exc:
            raise InfeasibleError(f"provisional iteration cost ({scenario.phase}, batch {scenario.batch}): "
                                  f"{exc.reason}", exc.details) from None
        dynamic = result.energy.get("dynamic_j")
        if dynamic is None:
            self.energy_note = (f"no dynamic energy per iteration: {result.energy.get('note', 'unknown')}; "
                                "iterations count 0 J")
            dynamic = 0.0
        return float(result.latency_s), float(dynamic)
