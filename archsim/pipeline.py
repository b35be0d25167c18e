"""The public pipeline: chip + workload + scenario -> mapping -> engine -> result.

    result = archsim.run("h100-sxm", "llama3.1-8b", Scenario(phase="decode"))

Each stage is a function of the one before; nothing here computes a number
itself beyond gluing stages together.
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.hw.load import System, load_system
from archsim.hw.peaks import system_peaks
from archsim.mapping.base import resolve_mapper
from archsim.mapping.roofline import roofline
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
    else:
        mapping = chosen.fn(system, graph, scenario, dict(parsed, fidelity=fidelity))
        result = result_from_simulation(system, graph, scenario, bounds, mapping, fidelity)
    if graph.model is not None and not graph.model.source:
        result.notes.append(f"workload {graph.model.name} has no `source:`: its shapes are not tied to a "
                            "published model config")
    return result
