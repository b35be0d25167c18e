"""The search as one call (what `archsim search` runs): load, check, resolve, search, write the best mapping."""
from __future__ import annotations

from pathlib import Path

from archsim.errors import ArchsimInputError
from archsim.search.objectives import parse_objectives
from archsim.search.runner import Evaluator, SearchResult
from archsim.search.space import load_space
from archsim.search.strategy import DEFAULT_BATCH, run_search
from archsim.progress import Progress


def search(chip, workload: str, scenario, space_file: str | Path, *, objective: str = "latency",
           budget: int = 100, db: str | Path, constraints: tuple[str, ...] = (), overrides: list | None = None,
           fidelity: str = "task", jobs: int = 1, scheduler: str | None = None, client=None, seed: int = 0,
           batch: int = DEFAULT_BATCH, slo_ttft_s: float | None = None, slo_tpot_s: float | None = None,
           progress: bool = False) -> SearchResult:
    """Search the mappings of `space_file` for `workload` on `chip` (a name, path or loaded System)."""
    from archsim.hw.load import System, load_system
    from archsim.mapping.file import operator_graph

    if budget < 1:
        raise ArchsimInputError(f"--budget must be at least 1, got {budget}")
    if batch < 1:
        raise ArchsimInputError(f"--batch must be at least 1, got {batch}")
    if fidelity == "roofline":
        raise ArchsimInputError("a search compares mappings, and roofline fidelity never calls the mapper: use "
                                "--fidelity task (default) or cycle")
    overrides = list(overrides or [])
    system = chip if isinstance(chip, System) else load_system(chip, overrides)
    chip_ref = chip if isinstance(chip, str) else system.source
    scenario = scenario.check()
    objectives = parse_objectives(objective, slo_ttft_s, slo_tpot_s)
    space = load_space(space_file, system.kind, tuple(constraints))
    space = space.resolve(system, operator_graph(workload, scenario), scenario)
    owned = None
    if scheduler and client is None:
        from archsim.sweep.executors import dask_client

        client = owned = dask_client(scheduler)
    bar = Progress(min(budget, space.size()), enabled=progress, what=f"search {space.name}")
    ev = Evaluator(system, chip_ref, overrides, workload, scenario, fidelity, space, db, jobs, client, bar)
    try:
        return run_search(ev, objectives, budget, seed, batch)
    finally:
        bar.close()
        if owned is not None:
            owned.close()


search_mappings = search  # the name archsim's public API exports (`archsim.search` is this package)
