"""The public pipeline: the one module that composes the stages.

    result = archsim.run("h100-sxm", "llama3.1-8b", Scenario(phase="decode"))

    load (hw, workload) -> map (the family's mapper: a task graph per segment)
      -> simulate (the task engine; at cycle fidelity a mapper that supports it has timed its on-chip
         transfers on the flit-level network while mapping, docs/wafer.md)
      -> energy and cost (archsim.energy) -> result (archsim.report assembles and formats; it runs nothing)

Each stage is a function of the one before; nothing here computes a number
itself beyond gluing stages together.
"""
from __future__ import annotations

import weakref

from archsim.errors import ArchsimInputError
from archsim.hw.load import System, load_system
from archsim.hw.peaks import system_peaks
from archsim.mapping.base import resolve_mapper
from archsim.mapping.roofline import roofline
from archsim.energy import add_economics
from archsim.report.analysis import SegmentRun
from archsim.report.result import RunResult, result_from_roofline, result_from_simulation
from archsim.workload.inline import inline_graph, is_inline
from archsim.workload.lower import lower
from archsim.workload.model import Scenario, load_transformer

FIDELITIES = ("roofline", "task", "cycle")


def build_graph(workload: str, scenario: Scenario):
    if is_inline(workload):
        return inline_graph(workload, scenario.weight_dtype)
    model = load_transformer(workload)
    return lower(model, scenario)


def run(chip: str | System, workload: str, scenario: Scenario | None = None, *, mapper: str = "auto",
        options: dict | None = None, overrides: list | None = None, fidelity: str = "task") -> RunResult:
    """Simulate `workload` on `chip` (a name, a path or a loaded System)."""
    if fidelity not in FIDELITIES:
        raise ArchsimInputError(f"fidelity must be one of {', '.join(FIDELITIES)}, got {fidelity!r}")
    scenario = (scenario or Scenario()).check()
    system = chip if isinstance(chip, System) else load_system(chip, overrides)
    graph = build_graph(workload, scenario)
    chosen = resolve_mapper(mapper, system.kind)
    parsed = chosen.parse_options(options or {})
    bounds = roofline(graph, system_peaks(system, scenario.weight_dtype))
    if fidelity == "roofline":
        result = result_from_roofline(system, graph, scenario, bounds, chosen.name, parsed)
        add_economics(result, system, graph, scenario)
    else:
        mapping = chosen.fn(system, graph, scenario, dict(parsed, fidelity=fidelity))
        result = result_of_mapping(system, graph, scenario, bounds, mapping, fidelity)
    if graph.model is not None and not graph.model.source:
        result.notes.append(f"workload {graph.model.name} has no `source:`: its shapes are not tied to a "
                            "published model config")
    return result


def step_cost(chip: str | System, workload: str, scenario: Scenario, *, options: dict | None = None,
              fidelity: str = "task") -> tuple[float, float | None, str]:
    """(latency s, dynamic joules or None, why none) of one step: the same stages as `run` (map -> simulate
    -> energy) without assembling the per-operator result, for callers that time thousands of steps (the
    serving layer's iteration costs). `run(...)` gives the same latency and `energy['dynamic_j']`."""
    from archsim.energy.model import dynamic_joules

    if fidelity not in ("task", "cycle"):
        result = run(chip, workload, scenario, options=options, fidelity=fidelity)
        return result.latency_s, result.energy.get("dynamic_j"), result.energy.get("note", "")
    scenario = scenario.check()
    system = chip if isinstance(chip, System) else load_system(chip)
    graph = build_graph(workload, scenario)
    chosen = resolve_mapper("auto", system.kind)
    mapping = chosen.fn(system, graph, scenario, dict(chosen.parse_options(options or {}), fidelity=fidelity))
    runs = simulate_mapping(mapping, graph.layers, _STEP_SIMS)
    joules, why = dynamic_joules(system, graph, scenario, mapping, runs)
    return sum(r.total_s for r in runs), joules, why


def result_of_mapping(system: System, graph, scenario: Scenario, bounds, mapping, fidelity: str) -> RunResult:
    """The stages after mapping: simulate -> result -> energy and cost."""
    runs = simulate_mapping(mapping, graph.layers)
    result = result_from_simulation(system, graph, scenario, bounds, mapping, runs, fidelity)
    add_economics(result, system, graph, scenario, mapping, runs)
    return result


def simulate_mapping(mapping, layers: int, memo=None) -> list[SegmentRun]:
    """The simulate stage: every segment of a mapping on the task engine, once (repeats are composed).
    `memo`: a weakref.WeakKeyDictionary of SimResults per task graph object, for callers that time many steps
    whose mappings share graphs (step_cost: a wafer's serving steps share their chunk layers); the engine is a
    pure function of the graph, which is immutable, so a kept result is the one a new simulation gives."""
    from archsim.engine import simulate

    runs = []
    for s in mapping.segments:
        sim = memo.get(s.graph) if memo is not None else None
        if sim is None:
            sim = simulate(s.graph)
            if memo is not None:
                memo[s.graph] = sim
        runs.append(SegmentRun(s.label, s.repeat, s.graph, sim, s.repeat == layers))
    return runs


_STEP_SIMS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # step_cost's memo (simulate_mapping)
