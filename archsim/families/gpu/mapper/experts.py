"""Expert parallelism (`-o ep=N`) for MoE models, and the sequences one GPU sees under it.

The scheme (vLLM's and SGLang's data-parallel attention with expert-parallel MoE, with tensor parallelism
kept inside each group; docs/gpu.md, "Multi-node"):
- a pipeline stage uses tp x ep GPUs: ep groups of tp GPUs (a group's GPUs consecutive, so a group of up to
  8 stays inside one NVLink node);
- attention, the dense layers, the shared experts, norms, the router and the LM head: every group runs them
  tensor-parallel over its tp GPUs on its own 1/ep of the step's sequences (attention data parallelism
  across the groups; the representative GPU's group takes ceil(batch / ep) of them, and the prefill chunks
  of a mixed step ceil(chunks / ep));
- routed experts: split over the groups, experts / ep per group, each expert tensor-parallel over the
  group's tp GPUs (up/gate column-parallel, down row-parallel), so one GPU holds experts / (ep x tp)
  experts' worth of weights;
- dispatch and combine, one of two plans, whichever the collectives model prices cheaper for the layer
  (as `allreduce=auto` picks the cheaper all-reduce); they differ only when tp > 1:
  * replicated: every GPU of a group sends each of its group's tokens once to every group that holds one
    of the token's top-k experts (an all-to-all between the ep GPUs of one tensor-parallel rank, peers tp
    GPUs apart), so each GPU of the receiving group gets all the tokens its column slice needs; the
    combine all-to-all returns the row-parallel partial sums (the same bytes), the top-k weighted sum is
    local, and one all-reduce over the origin group's tp GPUs sums the partials (routed and shared);
  * sliced (Megatron-Core's all-to-all token dispatcher with expert tensor parallelism): each GPU sends
    only 1/tp of its group's tokens, and an all-gather over the receiving group restores them; a
    reduce-scatter over that group sums the down projections' partials before the combine all-to-all
    returns each slice, then the same all-reduce; 1/tp of the all-to-all bytes (what crosses the NICs)
    for two collectives inside the group (on NVLink);
- load: uniform routing, so a group receives tokens x top_k / ep pairs over the experts it holds that the
  step touches (lower.expected_experts_touched, per group); `ep_imbalance` (>= 1) is the busiest group's
  load over the mean (pairs received, and bytes received), and the step waits for that group.
With ep = 1 nothing here runs: the mapper is exactly the tensor-parallel one.
"""
from __future__ import annotations

import math
from dataclasses import replace

from archsim.errors import ArchsimInputError
from archsim.workload.ops import Op, OpGraph

EXPERT_OPS = ("experts_up", "experts_act", "experts_down")


def check_ep(system, model, tp: int, pp: int, ep: int, imbalance: float) -> None:
    """One clear error for an expert-parallel degree the model or system cannot take."""
    if isinstance(ep, bool) or ep < 1:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option ep must be a positive integer, got {ep!r}")
    if not imbalance >= 1.0:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option ep_imbalance is the busiest expert group's load over "
                                f"the mean, at least 1, got {imbalance!r}")
    if ep == 1:
        return
    if model is None or not model.is_moe:
        name = model.name if model is not None else "this workload"
        raise ArchsimInputError(f"mapper 'gpu-tiled' option ep={ep} splits the experts of an MoE model; {name} is "
                                "dense (experts: 1): use tp/pp")
    if model.experts % ep:
        raise ArchsimInputError(f"mapper 'gpu-tiled' option ep={ep} must divide {model.name}'s {model.experts} "
                                "experts (each group holds experts / ep of them)")
    if tp * ep * pp > system.count:
        raise ArchsimInputError(f"tp x ep x pp = {tp} x {ep} x {pp} = {tp * ep * pp} GPUs, but {system.name} has "
                                f"{system.count}: an expert-parallel stage uses tp x ep GPUs (docs/gpu.md)")


def split_scenario(scenario, parts: int):
    """The sequences one of `parts` equal shares of the step holds (rounded up: the busiest share)."""
    if parts == 1:
        return scenario
    changes = dict(batch=-(-scenario.batch // parts))
    if scenario.phase == "mixed":
        changes["prefill_batch"] = -(-scenario.prefill_batch // parts)
    return scenario.with_(**changes)


def groups_hit(experts: int, top_k: int, ep: int) -> float:
    """Expected distinct expert groups (of experts / ep each) that one token's top-k experts fall in, under
    uniform routing (k distinct experts drawn without replacement): ep x (1 - C(E - E/ep, k) / C(E, k))."""
    per = experts // ep
    miss = 1.0
    for i in range(top_k):
        miss *= max(0.0, (experts - per - i) / (experts - i))
    return ep * (1.0 - miss)


def ep_experts(full: OpGraph, local: OpGraph, ep: int, imbalance: float) -> OpGraph:
    """`local` (the group's share of the step) with its routed-expert ops replaced by what one group runs:
    the experts it holds, on the pairs routed to them from every group (from `full`, the whole step)."""
    model = full.model
    E, k, T = model.experts, model.top_k, full.tokens
    per_group = E // ep
    touched = min(per_group, max(1, math.ceil(per_group * (1.0 - (1.0 - k / E) ** T) - 1e-9)))
    by_name = {op.name: op for op in full.ops if op.short_name in EXPERT_OPS}
    ops = []
    for op in local.ops:
        whole = by_name.get(op.name)
        if whole is None:
            ops.append(op)
            continue
        routed = whole.attrs.get("routed_tokens", T * k) if whole.attrs else T * k
        pairs = routed * imbalance / ep
        f = pairs / routed
        if whole.short_name == "experts_act":
            ops.append(replace(whole, flops=whole.flops * f, act_read_bytes=whole.act_read_bytes * f,
                               act_write_bytes=whole.act_write_bytes * f))
            continue
        fw = touched / whole.count
        ops.append(replace(whole, flops=whole.flops * f, weight_bytes=whole.weight_bytes * fw,
                           act_read_bytes=whole.act_read_bytes * f, act_write_bytes=whole.act_write_bytes * f,
                           m=max(1, math.ceil(pairs / touched)), count=touched,
                           attrs=dict(whole.attrs, routed_tokens=pairs, experts_touched=touched, ep=ep)))
    return replace(local, ops=tuple(ops))


PLANS = ("replicated", "sliced")


def ep_collectives(op: Op, local_tokens: int, hidden: int, act_bytes: float, model, tp: int, ep: int,
                   imbalance: float, plan: str = "replicated") -> list[tuple[str, str, float]]:
    """(label suffix, kind, bytes) of the collectives after `op` under expert parallelism with dispatch plan
    `plan` (bytes per GPU for an all-to-all, the whole output for an all-gather, as collectives.choose
    takes them; the reduce-scatter is priced as the all-gather: a ring moves the same bytes)."""
    name = op.short_name
    if name not in ("router", "experts_down"):
        return []
    received = local_tokens * groups_hit(model.experts, model.top_k, ep) * hidden * act_bytes * imbalance
    reduce = [("allreduce_ffn", "allreduce", local_tokens * hidden * act_bytes)] if tp > 1 else []
    if plan == "replicated" or tp == 1:
        return [("moe_dispatch", "alltoall", received)] if name == "router" else \
            [("moe_combine", "alltoall", received)] + reduce
    if name == "router":
        return [("moe_dispatch", "alltoall", received / tp), ("moe_gather", "allgather", received)]
    return [("moe_scatter", "allgather", received), ("moe_combine", "alltoall", received / tp)] + reduce
