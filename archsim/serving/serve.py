"""Serve a request stream on a system: capacity, iteration costs, the loop, metrics, energy and cost.

    result = serve("h100-sxm", "llama3.1-8b", load_serving(flags={"trace": "azure-conv", "duration": "600s"}))

`prepare` resolves everything that does not depend on the arrival rate (parallelism, KV capacity,
the cost function and its table), so a rate search reuses one table across its runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.hw.load import System, load_system
from archsim.serving.arrivals import Requests, generate
from archsim.serving.capacity import family_serving, kv_bytes_per_token, kv_capacity_tokens, replica
from archsim.serving.cost import IterationCost, SpeculativeCost
from archsim.serving.iteration_table import TOKEN_AXIS_STEP, IterationTable
from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.prefix import cached_tokens, reserved_tokens
from archsim.serving.result import ServingResult
from archsim.serving.spec import arrival_process
from archsim.serving.spec import speculation as speculation_of
from archsim.workload.lower import kv_bytes_per_token as model_kv_bytes
from archsim.workload.model import Scenario, load_transformer

# Device <-> host bandwidth for swapping K/V, per GPU, when the serving file does not set one.
# H100 SXM datasheet: PCIe Gen5 128 GB/s (both directions together); ASSUMED fully achieved one way.
DEFAULT_SWAP_BANDWIDTH = 64e9


@dataclass
class ServeSetup:
    """What a serving run needs besides its requests (independent of the arrival rate)."""

    system: System
    workload: str
    model: object  # Transformer
    scenario: Scenario
    options: dict  # mapper options of one replica (placement choices pinned)
    chips_per_replica: int
    mapping: str  # one replica's mapping in words ("tp 8 x pp 1")
    replicas: int
    capacity_tokens: int
    capacity_note: str
    loop: LoopConfig
    cost_fn: object
    table: IterationTable | None
    fidelity: str
    direct: bool = False
    notes: list = field(default_factory=list)
    speculation: object = None  # archsim.speculative.Speculation, or None
    speculative: dict = field(default_factory=dict)  # what the run reports of it (drafter, its mapping, memory)
    token_steps: list | None = None  # token counts after which cost_fn steps up (its family's), for the table


def prepare(system, workload: str, spec, *, scenario: Scenario | None = None, options: dict | None = None,
            overrides: list | None = None, fidelity: str = "task", cost_fn=None, direct: bool = False,
            step_memo: dict | None = None) -> ServeSetup:
    """Resolve parallelism, KV capacity and the iteration cost for `spec` (a serving SpecNode).
    step_memo: step costs kept across setups (IterationCost's `memo`)."""
    system = system if isinstance(system, System) else load_system(system, overrides)
    model = load_transformer(workload)
    scenario = (scenario or Scenario()).check()
    options = dict(options or {})
    sched, kv, reps = spec.scheduler, spec.kv_cache, spec.replicas
    user_options = dict(options)
    options, chips, mapping = replica(system, workload, model, scenario, options, reps.count)
    notes = []
    if kv.capacity_tokens is not None:
        capacity, capacity_note = kv.capacity_tokens, f"{kv.capacity_tokens:,} tokens per replica (given)"
    else:
        capacity, capacity_note = kv_capacity_tokens(system, workload, model, scenario, options,
                                                     max_batched_tokens=_largest_prefill(spec),
                                                     max_seqs=sched.max_seqs)
    speculation = speculation_of(spec)
    spec_info, draft_options = {}, None
    if speculation is not None:
        capacity, capacity_note, spec_info, draft_options = _speculative_replica(
            system, model, scenario, speculation, user_options, reps.count, capacity, capacity_note, sched.max_seqs,
            given=kv.capacity_tokens is not None)
    per_token = kv_bytes_per_token(system, model, scenario, options)
    if kv.swap_space and not per_token:
        raise ArchsimInputError(f"{system.name} has no host memory to swap K/V to ({system.kind} chips hold "
                                "everything in SRAM): use preemption by recompute, without swap_space")
    bandwidth = float(kv.swap_bandwidth) if kv.swap_bandwidth is not None else DEFAULT_SWAP_BANDWIDTH
    host_tokens = int(kv.swap_space // per_token) if kv.swap_space else 0
    loop = LoopConfig(
        kv_capacity_tokens=capacity, max_context=model.max_context, policy=sched.policy, admission=sched.admission,
        preemption=kv.preemption, max_seqs=sched.max_seqs, max_batched_tokens=sched.max_batched_tokens,
        chunk_tokens=sched.chunk_tokens, block_tokens=kv.block_tokens, host_capacity_tokens=host_tokens,
        swap_s_per_token=per_token / bandwidth if host_tokens else 0.0, replicas=reps.count, router=reps.router,
        max_sim_time_s=spec.limits.max_sim_time, max_queue=spec.limits.max_queue,
        points_per_octave=spec.table.points_per_octave, spec_k=speculation.k if speculation else 0,
        reserved_tokens=reserved_tokens(spec, capacity, kv.block_tokens),
        clients=(spec.arrivals.concurrency or 0) if arrival_process(spec) == "concurrency" else 0,
        iteration_overhead_s=float(sched.iteration_overhead)).check()
    if cost_fn is None:
        from archsim.engine.kernel_choice import prefer_compiled

        prefer_compiled()  # hundreds of iteration runs follow: pay numba's start-up once
        cost_fn = IterationCost(system, workload, scenario, options, fidelity=fidelity,
                                family_serving=family_serving(system), memo=step_memo)
        if cost_fn.note:
            notes.append(cost_fn.note)
        if speculation is not None:
            draft = None
            if draft_options is not None:
                draft = IterationCost(system, spec_info["drafter"], scenario, draft_options, fidelity=fidelity,
                                      family_serving=family_serving(system), memo=step_memo)
            cost_fn = SpeculativeCost(cost_fn, draft, speculation.k)
    if speculation is not None:
        notes.append(speculation.describe() + "; every decode is a verify step of k + 1 tokens (fewer drafts near "
                     "a request's end emit fewer tokens but are priced as k + 1), accepted drafts drawn per step")
    return ServeSetup(system, workload, model, scenario, options, chips, mapping, reps.count, capacity, capacity_note,
                      loop, cost_fn, None, fidelity, direct, notes, speculation, spec_info)


def _speculative_replica(system, model, scenario, speculation, user_options, replicas, capacity, capacity_note,
                         max_seqs, given):
    """The drafter beside one replica: its pinned options (its own `auto` choices on the replica's chips), and
    the KV capacity left to the target: the drafter's weights and K/V are taken from the memory that holds the
    target's K/V (spread over the replica's chips in the same proportion), less the verify steps' extra tokens."""
    from archsim.speculative import drafter, drafter_memory, drafter_options

    head = drafter(speculation, model)
    info = {**speculation.to_dict(), "drafter": head.name if head is not None else None}
    draft_options = None
    if head is not None:
        draft_options, draft_chips, draft_mapping = replica(system, head.name, head, scenario,
                                                            drafter_options(user_options), replicas)
        info.update(drafter_mapping=draft_mapping, drafter_chips=draft_chips,
                    drafter_options={k: v for k, v in draft_options.items()})
    if given:
        return capacity, capacity_note, info, draft_options
    weights, draft_kv = drafter_memory(speculation, model, scenario)
    target_kv = model_kv_bytes(model, scenario.kv_dtype)
    share = target_kv / (target_kv + draft_kv)
    left = int((capacity - weights / target_kv) * share) - max_seqs * speculation.k
    if left < 16:
        raise ArchsimInputError(f"no room for a KV cache beside the drafter {info['drafter']}: its "
                                f"{weights / 1e9:.2f} GB of weights take the room of {weights / target_kv:,.0f} "
                                f"of the {capacity:,} tokens of K/V a replica holds")
    info.update(drafter_weight_bytes=weights, drafter_kv_bytes_per_token=draft_kv,
                kv_tokens_without_speculation=capacity)
    note = (f"{capacity_note}; with speculation: less the drafter's {weights / 1e9:.2f} GB of weights "
            f"({weights / target_kv:,.0f} tokens of the target's K/V), the rest shared with its K/V "
            f"({draft_kv / 1024:.1f} KiB per token beside the target's {target_kv / 1024:.1f} KiB) and less "
            f"max_seqs x k = {max_seqs * speculation.k:,} verify tokens = {left:,} tokens")
    return left, note, info, draft_options


def _largest_prefill(spec) -> int:
    s = spec.scheduler
    return s.chunk_tokens if s.policy == "chunked" else s.max_batched_tokens


def serve(system, workload: str, spec, *, scenario: Scenario | None = None, options: dict | None = None,
          overrides: list | None = None, fidelity: str = "task", cost_fn=None, direct: bool = False,
          rate: float | None = None, setup: ServeSetup | None = None, requests: Requests | None = None
          ) -> ServingResult:
    """Simulate the requests `spec` describes (at `rate` if given) on `system`; a ServingResult."""
    setup = setup or prepare(system, workload, spec, scenario=scenario, options=options, overrides=overrides,
                             fidelity=fidelity, cost_fn=cost_fn, direct=direct)
    requests = requests or generate(spec, rate=rate)
    if len(requests) == 0:
        raise ArchsimInputError("no requests to simulate (is the duration shorter than the first arrival?)")
    if getattr(spec, "disaggregated", None) is not None and spec.disaggregated.link.kind is not None:
        raise ArchsimInputError("a disaggregated serving description runs with archsim.serving.disagg (run_serving "
                                "or archsim serve choose it)")
    ready_table(setup, requests.prompt_tokens, requests.output_tokens)
    accepted = accepted_drafts(setup, spec, requests.output_tokens)
    cached, prefix_note = cached_tokens(spec, requests, setup.loop.block_tokens, setup.loop.reserved_tokens)
    run = simulate_requests(requests.arrival_s, requests.prompt_tokens, requests.output_tokens, setup.cost_fn,
                            setup.loop, table=setup.table, direct=setup.direct, accepted=accepted,
                            cached_tokens=cached)
    slo = spec.slo
    result = ServingResult.build(setup, spec, requests, run, slo.ttft, slo.tpot)
    if prefix_note:
        result.notes.append(prefix_note)
    return result


def ready_table(setup: ServeSetup, prompt, output) -> None:
    """Fix the cost function's prompt length (once: a rate search reuses one cost table) and make the setup's
    table cover what these requests can reach."""
    if getattr(setup.cost_fn, "prompt_cap", 0) is None:
        # The table reads an iteration at the token-axis point at or above its T: up to one axis step more
        # prefill than the iteration holds. A cap that this rounding alone could cross would price one prompt as
        # several (a 1,000-token prompt read at 1,024 tokens became three prompts of 341, and the wafer's
        # three-prompt layout took 3.2 s instead of 14 ms), so the cap has one step of room above the mean.
        cap = max(1, round(float(prompt.mean()))) + TOKEN_AXIS_STEP
        if setup.loop.policy == "chunked":
            cap = min(cap, setup.loop.chunk_tokens)
        setup.cost_fn.prompt_cap = min(cap, setup.model.max_context)
    if setup.direct:
        return
    if setup.token_steps is None:  # once: up to the largest T, which the configuration alone sets
        steps = getattr(setup.cost_fn, "token_steps", None)
        setup.token_steps = steps(setup.loop.table_limits(prompt, output)[0]) if steps else []
    if setup.table is None or not setup.loop.table_fits(setup.table, prompt, output, setup.token_steps):
        setup.table = setup.loop.new_table(prompt, output, setup.token_steps)


def accepted_drafts(setup: ServeSetup, spec, output) -> np.ndarray | None:
    """With speculative decoding: the accepted drafts of every possible verify step (one per output token), from
    a stream of its own of the arrivals' seed (arrivals.py uses streams 0..2, prefix.py 4)."""
    if setup.speculation is None:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(spec.arrivals.seed).spawn(4)[3])
    return setup.speculation.sample(rng, int(np.sum(output)))