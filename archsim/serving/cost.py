"""The cost of one serving iteration, timed by the family's mapper through the pipeline.

    cost = IterationCost(system, "llama3.1-8b", scenario, options)   # options: the replica's, pinned
    seconds, dynamic_joules = cost(P, D, C)

An iteration is summarized by P (prefill tokens), D (decode sequences) and C (cached context tokens its
sequences attend to): the serving loop's grid axes (iteration_table.py). The step that is simulated for
(P, D, C) is one mixed step (archsim.workload.model.iteration): P prefill tokens as equal prompts of at
most the stream's mean prompt length plus one token-axis step (`prompt_cap`, serve.ready_table), and D
decode sequences with C / D cached tokens each (C goes to the prompts' cached prefix when D = 0). The linear
layers run once over the P + D tokens, attention as the chunk's and the decodes' kernels (lower.py).
Exactly what the iteration holds (several chunks, prefixes beside decodes, contexts that differ) is
summarized away; tools/serving_error.py measures what that and the interpolation cost against simulating
each iteration as it is.

A family may wrap the step (`iteration_cost` in its serving module: the wafer times a mixed iteration as
two passes). Energy: each run's dynamic joules; static power is charged by the serving layer over the
whole simulated time.
"""
from __future__ import annotations

from archsim.errors import InfeasibleError
from archsim.workload.model import Scenario, iteration

MAX_MEMO_STEPS = 100_000  # a shared memo is emptied when it reaches this many steps (bounded memory)


class IterationCost:
    def __init__(self, system, workload: str, scenario: Scenario, options: dict, *, fidelity: str = "task",
                 family_serving=None, memo: dict | None = None):
        self.system, self.workload, self.options, self.fidelity = system, workload, dict(options), fidelity
        # memo: step results shared by the cost functions of several runs (a sweep's points in one worker),
        # keyed by everything a step depends on; a step is a pure function of them, so sharing changes no number.
        self.memo = memo
        self._memo_key = (system.name, system.config_hash, str(workload), repr(sorted(self.options.items())),
                          fidelity)
        self.dtypes = dict(weight_dtype=scenario.weight_dtype, act_dtype=scenario.act_dtype,
                           kv_dtype=scenario.kv_dtype)
        self.pipeline_runs = 0
        self.decode_q = 1  # tokens per decode: k + 1 when the decodes are speculative verify steps
        # Prefill tokens of an iteration are priced as equal prompts of at most this many tokens (attention is
        # quadratic in a prompt's length): the request stream's mean prompt, set by serve() from the first
        # requests it simulates, capped at the model's context; None: one chunk.
        self.prompt_cap: int | None = None
        self.energy_note: str | None = None
        wrap = getattr(family_serving, "iteration_cost", None)
        self._cost = wrap(self) if wrap else self.step
        self.note = getattr(family_serving, "NOTE", None)
        self._token_steps = getattr(family_serving, "token_steps", None)

    def __call__(self, p: int, d: int, c: int) -> tuple[float, float]:
        p, d, c = int(p), int(d), int(c)
        return self._cost(p, d, c if d else 0, 0 if d else c)

    def token_steps(self, max_tokens: int) -> list[int]:
        """Token counts T after which the family's step costs a step more (besides GEMM tile multiples), from
        its serving module's `token_steps` (none if it has none): the cost table puts grid points there."""
        if self._token_steps is None:
            return []
        from archsim.workload.model import Scenario, load_transformer

        return list(self._token_steps(self.system, self.workload, load_transformer(self.workload),
                                      Scenario(**self.dtypes), self.options, max_tokens))

    def step(self, p: int, d: int, c: int, x: int = 0) -> tuple[float, float]:
        """One step: a chunk of p tokens after x cached ones, and d decodes sharing c cached tokens."""
        scenario = iteration(p, d, -(-c // d) if d else 0, x, self.prompt_cap, decode_q=self.decode_q, **self.dtypes)
        return self.run(scenario)

    def run(self, scenario: Scenario) -> tuple[float, float]:
        from archsim.pipeline import step_cost

        self.pipeline_runs += 1  # steps this run priced (a shared memo may have priced them before)
        key = (self._memo_key, repr(scenario)) if self.memo is not None else None
        if key is not None and key in self.memo:
            seconds, dynamic, why = self.memo[key]
        else:
            try:
                seconds, dynamic, why = step_cost(self.system, self.workload, scenario, options=self.options,
                                                  fidelity=self.fidelity)
            except InfeasibleError as exc:
                raise InfeasibleError(f"iteration ({scenario.phase}, {scenario.tokens} tokens): {exc.reason}",
                                      exc.details) from None
            if key is not None:
                if len(self.memo) >= MAX_MEMO_STEPS:
                    self.memo.clear()
                self.memo[key] = (seconds, dynamic, why)
        if dynamic is None:
            self.energy_note = f"no dynamic energy per iteration ({why}); iterations count 0 J"
            dynamic = 0.0
        return float(seconds), float(dynamic)


class SpeculativeCost:
    """One serving iteration with speculative decoding (archsim/speculative.py): the target's step with every
    decode a verify step of k + 1 tokens, then the drafter's work for the same sequences, on the same chips one
    after the other. A draft model (or EAGLE head) keeps its own K/V: it prefills the iteration's P prompt tokens
    too (after the same cached prefix), and drafts k tokens for each of the D decoding sequences: k decode steps
    with the same cached context C. Its prefill and its decode steps are priced apart (a draft model's weights
    read once more than a fused step would: small beside the target's), each memoized, so grid cells that share
    P or (D, C) reuse them. n-gram lookup costs nothing."""

    def __init__(self, target: IterationCost, draft: IterationCost | None, k: int):
        self.target, self.draft, self.k = target, draft, k
        target.decode_q = k + 1
        self.note = target.note
        self._prefill: dict = {}
        self._decode: dict = {}

    @property
    def prompt_cap(self):
        return self.target.prompt_cap

    @prompt_cap.setter
    def prompt_cap(self, value):
        self.target.prompt_cap = value
        if self.draft is not None:
            self.draft.prompt_cap = value

    def token_steps(self, max_tokens: int) -> list[int]:
        return self.target.token_steps(max_tokens)

    @property
    def pipeline_runs(self) -> int:
        return self.target.pipeline_runs + (self.draft.pipeline_runs if self.draft is not None else 0)

    @property
    def energy_note(self):
        return self.target.energy_note or (self.draft.energy_note if self.draft is not None else None)

    def __call__(self, p: int, d: int, c: int) -> tuple[float, float]:
        seconds, joules = self.target(p, d, c)
        if self.draft is None:
            return seconds, joules
        p, d, c = int(p), int(d), int(c)
        parts = []
        if p:
            key = (p, 0 if d else c)  # a prefill attends to the cached context when no decode shares it
            if key not in self._prefill:
                self._prefill[key] = self.draft(p, 0, key[1])
            parts.append(self._prefill[key])
        if d:
            if (d, c) not in self._decode:
                self._decode[(d, c)] = self.draft(0, d, c)
            parts += [self._decode[(d, c)]] * self.k
        return seconds + sum(s for s, _ in parts), joules + sum(j for _, j in parts)
