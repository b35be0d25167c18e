"""Energy of a run = static power x chips x run time + dynamic energy of its activity.

- Static: every chip of the system draws `power.idle` for the whole run, used
  or not (a 576-chip system whose mapping uses 288 pays for 576: the unused
  ones are a line of their own), plus the system's `power.overhead` (host,
  switches, fans) where its file sets one.
- Dynamic: each family's resolver (archsim/families/<kind>/energy.py) turns
  the run's activity (FLOPs per operator from the operator graph, bytes per
  resource from the engine's task graphs) into joules with the chip file's
  `energy` coefficients, as (component, operator label, joules) terms.

The breakdowns add up to the total exactly: by component (static lines and
each dynamic component) and by operator class (each class's dynamic energy
plus the static power over the share of the run's critical path it holds).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from archsim.energy.activity import op_class, resource_work
from archsim.family import get_family

STATIC_USED = "static (chips used)"
STATIC_UNUSED = "static (chips unused)"
OVERHEAD = "system overhead"


class MissingCoefficient(Exception):
    """A chip file lacks an energy value the run needs (the run then reports no energy, and says why)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class Term:
    """Dynamic energy of one component for one operator label."""

    component: str  # 'tensor', 'hbm', 'sram', 'noc', ...
    label: str  # operator label as the mapper gave it ('L0.qkv', 'L0.allreduce_ffn', 'lm_head')
    joules: float


@dataclass(frozen=True)
class Activity:
    """What a resolver sees of a run."""

    system: Any
    graph: Any  # OpGraph
    scenario: Any
    mapping: Any | None  # None at roofline fidelity (no task graphs)
    runs: tuple  # SegmentRun per segment, as simulated
    work: dict  # (resource, op label) -> work, from activity.resource_work

    def coeff(self, path: str) -> float:
        """A value of the chip's energy section by dotted path ('energy.hbm'); raises MissingCoefficient."""
        node = self.system.chip
        for key in path.split("."):
            node = node.get(key) if node is not None else None
        if node is None:
            raise MissingCoefficient(path)
        return float(node)


Resolver = Callable[[Activity], list[Term]]


def resolver(kind: str) -> Resolver:
    """Family `kind`'s activity -> joules resolver (archsim/families/<kind>/energy.py)."""
    family = get_family(kind)
    return family.resolve(family.energy)


def run_tokens(result) -> float:
    """Tokens the run produced: prompt tokens of a prefill, one per sequence in a decode step."""
    if result.phase == "prefill":
        return float(result.batch * (result.prompt_len or 1))
    if result.phase == "decode":
        return float(result.batch)
    return result.tokens_per_s * result.latency_s


def dynamic_joules(system, graph, scenario, mapping=None, runs=()) -> tuple[float | None, str]:
    """The dynamic energy of a run's activity alone (no result needed): (joules, "") or (None, why not).
    What a serving iteration's cost needs; `energy_of` gives the whole report."""
    activity = Activity(system, graph, scenario, mapping, tuple(runs), resource_work(runs))
    try:
        return sum(t.joules for t in resolver(system.kind)(activity)), ""
    except MissingCoefficient as exc:
        return None, _missing(system, exc.path)["note"]


def energy_of(system, graph, scenario, result, mapping=None, runs=()) -> dict:
    """The energy report of `result`: totals, breakdowns, power and the TDP check.

    Returns {"missing": path, "note": ...} instead when the chip file lacks a value the run needs.
    """
    chip = system.chip
    power = chip.get("power")  # a family's schema may have no power section (a plugin's): no energy then
    idle = power.get("idle") if power is not None else None
    if idle is None:
        return _missing(system, "power.idle")
    activity = Activity(system, graph, scenario, mapping, tuple(runs), resource_work(runs))
    try:
        terms = resolver(system.kind)(activity)
    except MissingCoefficient as exc:
        return _missing(system, exc.path)
    latency = float(result.latency_s)
    used = min(int(result.chips_used), int(system.count))
    active = float(chip.power.get("active") or idle)  # the chips that run the work are clocked up
    overhead_w = float(system.power.overhead) if system.power is not None else 0.0
    by_component = {STATIC_USED: active * used * latency, STATIC_UNUSED: idle * (system.count - used) * latency,
                    OVERHEAD: overhead_w * latency}
    dynamic_by_label: dict[str, float] = {}
    for t in terms:
        by_component[t.component] = by_component.get(t.component, 0.0) + t.joules
        dynamic_by_label[t.label] = dynamic_by_label.get(t.label, 0.0) + t.joules
    total = sum(by_component.values())
    dynamic = sum(t.joules for t in terms)
    static_w = active * used + idle * (system.count - used) + overhead_w
    chip_w = (active * used * latency + dynamic) / used / latency if used and latency > 0 else 0.0
    tdp = float(chip.power.tdp)
    tokens = run_tokens(result)
    return {
        "energy_j": total,
        "energy_per_token_j": total / tokens if tokens else None,
        "avg_power_w": total / latency if latency > 0 else 0.0,
        "static_power_w": static_w,
        "dynamic_j": dynamic,
        "by_component_j": {k: v for k, v in by_component.items() if v > 0 or k == STATIC_USED},
        "by_op_class_j": _by_op_class(result, graph, dynamic_by_label, static_w * latency),
        "chips_charged": int(system.count),
        "chips_used": used,
        "power_per_used_chip_w": chip_w,
        "tdp_w": tdp,
        "over_tdp": chip_w > tdp,
        "tokens": tokens,
        "note": _note(system, used, idle, overhead_w, active),
    }


def _by_op_class(result, graph, dynamic_by_label: dict[str, float], static_j: float) -> dict[str, float]:
    """Dynamic energy per operator class, plus the static energy over each class's share of the run's time."""
    kinds = {op.name: op.kind for op in graph.ops}
    out: dict[str, float] = {}
    for label, joules in dynamic_by_label.items():
        cls = op_class(label, kinds)
        out[cls] = out.get(cls, 0.0) + joules
    times: dict[str, float] = {}
    for op in result.ops:
        times[op.kind] = times.get(op.kind, 0.0) + max(op.time_s, 0.0)
    total_time = sum(times.values())
    if total_time > 0:
        for cls, seconds in times.items():
            out[cls] = out.get(cls, 0.0) + static_j * seconds / total_time
    elif static_j > 0:
        out["(idle)"] = out.get("(idle)", 0.0) + static_j
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _note(system, used: int, idle: float, overhead_w: float, active: float | None = None) -> str:
    unused = system.count - used
    if active is not None and active != idle:
        text = (f"static: {active:,.0f} W per chip running the work x {used}"
                + (f", {idle:,.0f} W idle x {unused} unused" if unused else "") + " for the whole run")
    else:
        text = (f"static: {idle:,.0f} W per chip x {system.count} chip{'s' if system.count != 1 else ''} for the "
                "whole run" + (f" ({unused} unused by this mapping still draw it)" if unused else ""))
    if overhead_w:
        text += f", plus {overhead_w:,.0f} W of system overhead"
    return text


def _missing(system, path: str) -> dict:
    prefix = "chip." if system.power is not None else ""  # a system file reaches its chip's keys as chip.*
    return {"missing": path,
            "note": f"energy not computed: {system.chip.name} has no {path} in its chip file (add it, or "
                    f"--set {prefix}{path}=...; docs/economics.md lists the keys)"}
