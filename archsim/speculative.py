"""Speculative decoding: a drafter proposes k tokens, the target verifies them in one (k + 1)-token step.

    spec = parse_speculative("draft=llama3.2-1b,k=4,alpha=0.8")
    result = speculative_run("dgx-h100", "llama3.1-70b", Scenario(phase="decode"), spec)
    result.extra["speculative"]["speedup"]

One speculative step of a sequence: the drafter runs k autoregressive steps (a draft model; an EAGLE/MTP
head, one decoder layer of the target's shape with the target's LM head; or n-gram prompt lookup, which
costs nothing), then the target runs one verify step over the last accepted token and the k drafts
(Scenario.decode_q = k + 1: a decode group of k + 1 queries per sequence with logits at every position,
timed by the family's mapper like any step). `a` drafts are accepted (0..k), so the step emits 1 + a
tokens (the accepted drafts and the target's own next token).

Acceptance (docs/serving.md): a constant rate `alpha` (each draft accepted with probability alpha
given the ones before it were: E[1 + a] = (1 - alpha^(k+1)) / (1 - alpha)), per-position rates
`rates` (rate j for draft j given drafts 1..j-1 accepted), or the distribution `accept` of a itself
(k + 1 probabilities of accepting 0..k drafts). Serving draws a per verify step from it (seeded).

The drafter runs on the same chips as the target, one after the other, timed by the same family's
mapper with its own `auto` choices (docs/serving.md says what that leaves out).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.spec import Field, SpecNode, key_value_pairs, validate

METHODS = ("draft", "ngram", "eagle")
MAX_K = 64
# Mapper options that say how a model is spread over the chips: the drafter, a much smaller model, makes these
# choices itself (its family's `auto`); every other option of the target (CUDA graphs, kernels...) applies to it.
PLACEMENT_OPTIONS = ("tp", "pp", "ep", "ep_imbalance", "microbatches", "region", "microbatch", "prefill_chunk")


def drafter_options(options: dict | None) -> dict:
    return {k: v for k, v in (options or {}).items() if k not in PLACEMENT_OPTIONS}

SPECULATIVE = {
    "method": Field("choice", "draft (a draft model: `draft`), ngram (prompt lookup: no draft cost) or eagle "
                              "(an EAGLE/MTP head: one decoder layer of the target's shape and its LM head); "
                              "default draft when `draft` is set", required=False, choices=METHODS),
    "draft": Field("str", "the draft model: a bundled workload or a YAML path (same vocabulary as the target)",
                   required=False),
    "k": Field("int", "tokens drafted per verify step", required=False, default=4, positive=True),
    "alpha": Field("float", "acceptance rate of each draft token (constant)", required=False, minimum=0.0),
    "rates": Field("list_float", "acceptance rate of draft 1..k, each given the ones before it accepted",
                   required=False),
    "accept": Field("list_float", "probabilities of accepting 0, 1, ..., k drafts (k + 1 numbers, sum 1)",
                    required=False),
}


@dataclass(frozen=True)
class Speculation:
    method: str
    k: int
    draft: str | None = None
    alpha: float | None = None
    rates: tuple | None = None
    accept: tuple | None = None

    @property
    def accept_probs(self) -> np.ndarray:
        """P(a = j) for j = 0..k accepted drafts."""
        if self.accept is not None:
            return np.asarray(self.accept, dtype=np.float64)
        rates = np.full(self.k, self.alpha) if self.rates is None else np.asarray(self.rates, dtype=np.float64)
        at_least = np.concatenate(([1.0], np.cumprod(rates)))  # P(a >= j), j = 0..k
        return at_least - np.concatenate((at_least[1:], [0.0]))

    @property
    def expected_tokens(self) -> float:
        """Tokens one verify step emits on average: 1 + E[a]."""
        return float(np.dot(np.arange(self.k + 1) + 1.0, self.accept_probs))

    def acceptance_text(self) -> str:
        if self.accept is not None:
            return "accepted drafts distributed " + "/".join(f"{p:g}" for p in self.accept)
        if self.rates is not None:
            return "per-position acceptance " + "/".join(f"{r:g}" for r in self.rates)
        return f"alpha {self.alpha:g}"

    def describe(self) -> str:
        who = {"draft": f"draft model {self.draft}", "ngram": "n-gram prompt lookup (no draft cost)",
               "eagle": "an EAGLE/MTP head (one decoder layer + the LM head)"}[self.method]
        return (f"speculative decoding: {who}, k = {self.k}, {self.acceptance_text()}: "
                f"{self.expected_tokens:.3f} tokens per verify step")

    def to_dict(self) -> dict:
        return {"method": self.method, "draft": self.draft, "k": self.k, "alpha": self.alpha,
                "rates": list(self.rates) if self.rates is not None else None,
                "accept": list(self.accept) if self.accept is not None else None,
                "expected_tokens_per_step": self.expected_tokens}

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws of the accepted drafts a (int64), by inverse CDF of one uniform each."""
        cdf = np.cumsum(self.accept_probs)
        cdf[-1] = 1.0
        return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int64)


def expected_tokens(alpha: float, k: int) -> float:
    """(1 - alpha^(k+1)) / (1 - alpha): tokens per verify step at constant acceptance alpha (k + 1 at 1)."""
    return float(k + 1) if alpha == 1.0 else (1.0 - alpha ** (k + 1)) / (1.0 - alpha)


def from_node(node: SpecNode | None, where: str = "speculative", lines: dict | None = None) -> Speculation | None:
    """The Speculation a validated `speculative` section describes (None when it sets nothing); SpecError
    with every problem between its keys (file and line from `lines`)."""
    if node is None or all(node.get(key) is None for key in ("method", "draft", "alpha", "rates", "accept")):
        return None
    lines = lines or {}
    problems = []

    def problem(key, message):
        problems.append(Problem(where, lines.get(("speculative", key)), f"speculative.{key}", message))

    method = node.method or ("draft" if node.draft is not None else None)
    k = node.k
    if method is None:
        problem("method", f"say which drafter: method {', '.join(METHODS)} (or draft=MODEL)")
    elif method == "draft" and node.draft is None:
        problem("draft", "method draft needs a draft model (draft: llama3.2-1b)")
    elif method != "draft" and node.draft is not None:
        problem("draft", f"a draft model is for method draft, not {method}")
    if k > MAX_K:
        problem("k", f"k = {k} drafts per step is more than {MAX_K}")
    given = [key for key in ("alpha", "rates", "accept") if node.get(key) is not None]
    if len(given) != 1:
        problem("alpha", "give exactly one acceptance model: alpha (constant), rates (per position) or accept "
                         f"(the distribution of accepted drafts); got {', '.join(given) or 'none'}")
    if node.alpha is not None and node.alpha > 1.0:
        problem("alpha", f"an acceptance rate is at most 1, got {node.alpha:g}")
    if node.rates is not None and (len(node.rates) != k or any(not 0.0 <= r <= 1.0 for r in node.rates)):
        problem("rates", f"rates needs k = {k} numbers in [0, 1], got {list(node.rates)}")
    if node.accept is not None and (len(node.accept) != k + 1 or any(p < 0.0 for p in node.accept)
                                    or abs(sum(node.accept) - 1.0) > 1e-6):
        problem("accept", f"accept needs k + 1 = {k + 1} non-negative probabilities summing to 1, got "
                          f"{list(node.accept)}")
    if problems:
        raise SpecError(problems)
    return Speculation(method, k, node.draft, node.alpha, node.rates, node.accept)


def parse_speculative(text: str, flag: str = "--speculative") -> dict:
    """'draft=llama3.2-1b,k=4,alpha=0.8' (rates and accept as 0.9/0.8/...) -> the section as a dict."""
    out: dict = {}
    for key, value in key_value_pairs(text, flag, "draft=llama3.2-1b,k=4,alpha=0.8", SPECULATIVE):
        try:
            if key == "k":
                out[key] = int(value)
            elif key == "alpha":
                out[key] = float(value)
            elif key in ("rates", "accept"):
                out[key] = [float(v) for v in value.split("/")]
            else:
                out[key] = value
        except ValueError:
            raise ArchsimInputError(f"{flag}: {key}={value!r} is not a number"
                                    + (" (a list is written 0.9/0.8/0.7)" if key in ("rates", "accept") else "")
                                    ) from None
    return out


def load_speculative(text: str, flag: str = "--speculative") -> Speculation:
    """The Speculation of a command-line value, checked by the serving file's rules."""
    node = validate(parse_speculative(text, flag), SPECULATIVE, flag)
    spec = from_node(node, flag)
    if spec is None:
        raise ArchsimInputError(f"{flag} names no drafter: give draft=MODEL or method=ngram|eagle and an acceptance")
    return spec


# ---------------------------------------------------------------- the drafter
def drafter(spec: Speculation, target):
    """The drafter's model (a Transformer: the draft model, or the EAGLE head built from the target and
    registered by name, archsim.workload.model.register_derived), or None for n-gram lookup. A draft model
    must share the target's vocabulary (its tokens are the target's)."""
    from archsim.workload.model import load_transformer, register_derived

    if spec.method == "ngram":
        return None
    if spec.method == "eagle":
        head = replace(target, name=f"{target.name}-eagle-head", layers=1, dense_layers=0,
                       description=f"EAGLE/MTP draft head of {target.name}: one decoder layer and the LM head")
        register_derived(head)
        return head
    model = load_transformer(spec.draft)
    if model.vocab != target.vocab:
        raise ArchsimInputError(f"draft model {model.name} has a vocabulary of {model.vocab:,} tokens, the target "
                                f"{target.name} {target.vocab:,}: a draft must share the target's tokenizer")
    return model


def drafter_memory(spec: Speculation, target, scenario) -> tuple[float, float]:
    """(weight bytes, K/V bytes per token) the drafter adds to a replica beside the target's. The EAGLE head
    shares the target's embedding and LM head, so only its decoder layer is new."""
    from archsim.workload.lower import kv_bytes_per_token, parameter_count
    from archsim.workload.model import DTYPE_BYTES

    model = drafter(spec, target)
    if model is None:
        return 0.0, 0.0
    w = DTYPE_BYTES[scenario.weight_dtype]
    params = parameter_count(model)
    if spec.method == "eagle":
        params -= model.vocab * model.hidden * (1 if model.tied_embeddings else 2)
    return params * w, kv_bytes_per_token(model, scenario.kv_dtype)


# ---------------------------------------------------------------- a single speculative step
def speculative_run(chip, workload: str, scenario, spec: Speculation, *, mapper: str = "auto",
                    options: dict | None = None, overrides: list | None = None, fidelity: str = "task"):
    """The verify step's RunResult, with the speculative step's figures: `extra['speculative']` (plain decode,
    verify and draft step times, expected tokens, speedup, energy and cost per token) and TPOT and tokens/s
    of the whole speculative step (k draft steps + the verify step) per emitted token."""
    from archsim.energy.cost import cost_of
    from archsim.hw.load import System, load_system
    from archsim.pipeline import run
    from archsim.workload.model import load_transformer

    if scenario.phase != "decode":
        raise ArchsimInputError("--speculative applies to decode steps (--phase decode): the prefill is not "
                                "speculated")
    system = chip if isinstance(chip, System) else load_system(chip, overrides)
    target = load_transformer(workload)
    scenario.with_(decode_q=spec.k + 1).check(target)
    plain = run(system, workload, scenario, mapper=mapper, options=options, fidelity=fidelity)
    verify = run(system, workload, scenario.with_(decode_q=spec.k + 1), mapper=mapper, options=options,
                 fidelity=fidelity)
    model = drafter(spec, target)
    draft = None
    if model is not None:
        draft = run(system, model.name, scenario.with_(decode_q=1), options=drafter_options(options),
                    fidelity=fidelity)
    draft_s = draft.latency_s if draft is not None else 0.0
    step_s = verify.latency_s + spec.k * draft_s
    tokens = spec.expected_tokens
    per_user = tokens / step_s
    energy = None
    if verify.energy_j is not None and (draft is None or draft.energy_j is not None):
        energy = verify.energy_j + spec.k * (draft.energy_j if draft is not None else 0.0)
    emitted = scenario.batch * tokens
    cost = cost_of(system, step_s, energy, emitted)
    info = {
        **spec.to_dict(), "drafter": model.name if model is not None else "n-gram lookup",
        "plain_decode_s": plain.latency_s, "verify_step_s": verify.latency_s, "draft_step_s": draft_s,
        "draft_steps_s": spec.k * draft_s, "speculative_step_s": step_s,
        "verify_over_decode": verify.latency_s / plain.latency_s,
        "tpot_s": step_s / tokens, "tokens_per_s_per_user": per_user,
        "plain_tokens_per_s_per_user": 1.0 / plain.latency_s,
        "speedup": plain.latency_s * tokens / step_s,
        "energy_per_token_j": energy / emitted if energy is not None else None,
        "plain_energy_per_token_j": plain.energy_per_token_j,
        "cost_per_million_tokens_usd": cost.get("cost_per_million_tokens_usd"),
        "plain_cost_per_million_tokens_usd": plain.cost_per_million_tokens,
        "draft_options": dict(draft.provenance["options"]) if draft is not None else None,
    }
    verify.extra["speculative"] = info
    verify.tpot_s = info["tpot_s"]
    verify.tokens_per_s_per_user = per_user
    verify.tokens_per_s = per_user * scenario.batch
    verify.notes.append(spec.describe() + f"; the operator table is the verify step ({spec.k + 1} tokens per "
                        "sequence); TPOT and tokens/s are the whole step's (drafts + verify) per emitted token")
    if draft is not None:
        verify.notes.append(f"drafter {model.name} on the same {system.name} after the target, its own mapping "
                            f"({', '.join(f'{k}={v}' for k, v in draft.provenance['options'].items())})")
    return verify


def render_speculative(info: dict) -> list[str]:
    """The speculative step of a single run, in a few lines (archsim run --speculative)."""
    ms = 1e3
    lines = [f"speculative step: {info['drafter']}, k = {info['k']}, "
             f"{info['expected_tokens_per_step']:.3f} tokens per verify step",
             f"  plain decode {info['plain_decode_s'] * ms:,.3f} ms; verify ({info['k'] + 1} tokens) "
             f"{info['verify_step_s'] * ms:,.3f} ms ({info['verify_over_decode']:.2f}x); drafts {info['k']} x "
             f"{info['draft_step_s'] * ms:,.3f} ms; step {info['speculative_step_s'] * ms:,.3f} ms",
             f"  TPOT {info['tpot_s'] * ms:,.3f} ms, {info['tokens_per_s_per_user']:,.1f} tok/s per user "
             f"(plain {info['plain_tokens_per_s_per_user']:,.1f}): speedup {info['speedup']:.2f}x"]
    if info.get("energy_per_token_j") is not None and info.get("plain_energy_per_token_j") is not None:
        lines.append(f"  energy {info['energy_per_token_j']:.3g} J/token (plain {info['plain_energy_per_token_j']:.3g})"
                     + (f"; ${info['cost_per_million_tokens_usd']:,.2f} per million tokens (plain "
                        f"${info['plain_cost_per_million_tokens_usd']:,.2f})"
                        if info.get("cost_per_million_tokens_usd") is not None
                        and info.get("plain_cost_per_million_tokens_usd") is not None else ""))
    return lines
