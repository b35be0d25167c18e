"""How a search walks its space: every point of a small space, optuna's TPE over a large one.

Why TPE (docs/dependencies.md): a mapping space is categorical (tile shapes, region shapes, degrees) with a
few integer axes, strongly interacting (a tile's best split-K depends on the degree that shards its GEMM);
TPE models such spaces directly (multivariate, so interactions count), supports several objectives and
constraints (a point that does not fit is told as infeasible, and TPE learns to avoid that region), and with
a fixed seed asks the same points for the same history. Points are asked in batches of a fixed size (the
executors run a batch in parallel; `constant_liar` keeps one batch's points apart) and told in the order
asked, so the sequence depends on the seed and the batch size, never on which worker finished first.

The search starts from the default mapping's choices when the space contains them (what a compiler does:
start from its heuristic); the default is also run on its own, as the reference of the report.
"""
from __future__ import annotations

import time
import warnings

from archsim.mapping.file import effective_mapping
from archsim.search.runner import (EXISTENCE_SCAN, Evaluator, SearchResult, best_and_front, no_valid_point,
                                   scan_for_valid)

DEFAULT_BATCH = 8
INFEASIBLE_VALUE = 1e30  # told for a point that cannot run, alongside its constraint violation


def run_search(ev: Evaluator, objectives, budget: int, seed: int = 0, batch: int = DEFAULT_BATCH,
               name: str | None = None) -> SearchResult:
    from archsim.pipeline import run

    start = time.perf_counter()
    space = ev.space
    baseline = run(ev.system, ev.workload, ev.scenario, fidelity=ev.fidelity)
    baseline_mapping = _effective(baseline, ev.system.kind)
    if space.size() <= budget:
        strategy = f"exhaustive: all {space.size():,} points (the space fits the budget of {budget:,})"
        _exhaustive(ev)
    else:
        strategy = (f"optuna TPE (seed {seed}, batches of {batch}): {budget:,} of {space.size():,} points, "
                    "starting from the default's choices" if _params_of(space, baseline_mapping) else
                    f"optuna TPE (seed {seed}, batches of {batch}): {budget:,} of {space.size():,} points")
        _tpe(ev, objectives, budget, seed, batch, _params_of(space, baseline_mapping))
    ev.register(name or f"search:{space.name}")
    best, front, axes, companion = best_and_front(ev.order, objectives)
    best_result = best_mapping = None
    if best is not None:
        best_result = run(ev.system, ev.workload, ev.scenario, mapper=space.mapper, options=best.options,
                          fidelity=ev.fidelity)
        if best_result.latency_s != best.metrics.get("latency_s"):
            raise RuntimeError(f"internal: the best point ran to {best_result.latency_s!r} s in this process and "
                               f"{best.metrics.get('latency_s')!r} s in the store (key {best.key})")
        best_mapping = _effective(best_result, ev.system.kind)
    return SearchResult(space, objectives, strategy, ev.order, front, axes, companion, best, baseline,
                        baseline_mapping, best_result, best_mapping, time.perf_counter() - start, ev.ran,
                        ev.from_store)


def _effective(result, kind: str) -> dict | None:
    try:
        return effective_mapping(result, kind)
    except Exception:  # a plugin family without a mapping schema: the report then compares metrics only
        return None


def _exhaustive(ev: Evaluator) -> None:
    points = [ev.point(values) for values in ev.space.combos()]
    for p in points:
        ev.precheck(p)
    if not any(p.status == "todo" for p in points):
        stored = _stored_ok(ev, points)
        if not stored:
            reasons: dict[str, int] = {}
            for p in points:
                reasons[p.error or p.status] = reasons.get(p.error or p.status, 0) + 1
            raise no_valid_point(ev.space, reasons, len(points))
    if ev.progress is not None:
        ev.progress.total = sum(p.status != "dropped" for p in points)
    for p in points:  # precheck again inside evaluate, after the store; start from a clean point
        p.status, p.error, p.source, p.metrics = "todo", None, "", {}
    ev.evaluate(points)


def _stored_ok(ev: Evaluator, points) -> bool:
    from archsim.sweep.db import ResultsDB

    with ResultsDB(ev.db_path) as db:
        return any(r["status"] == "ok" for r in db.get([p.key for p in points]).values())


def _params_of(space, mapping: dict | None) -> dict | None:
    """The default mapping's choices as axis values, if every axis offers its value (else None)."""
    if not mapping:
        return None
    params = {}
    for axis in space.axes:
        value = mapping
        for k in axis.key.split("."):
            value = value.get(k) if isinstance(value, dict) else None
        if value not in axis.values:
            return None
        params[axis.key] = value
    return params


def _tpe(ev: Evaluator, objectives, budget: int, seed: int, batch: int, start: dict | None) -> None:
    try:
        import optuna
    except ImportError:
        from archsim.errors import ArchsimInputError

        raise ArchsimInputError(f"the space has {ev.space.size():,} points, more than the budget of {budget:,}: "
                                "sampling it needs optuna (pip install 'archsim[search]'), or raise --budget to "
                                "run it whole") from None

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ok, reasons = scan_for_valid(ev)
    if not ok:
        raise no_valid_point(ev.space, reasons, min(EXISTENCE_SCAN, ev.space.size()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                             n_startup_trials=max(10, min(40, budget // 10)))
        study = optuna.create_study(directions=["minimize"] * len(objectives), sampler=sampler)
    if start:
        study.enqueue_trial(start)
    axes = ev.space.axes
    asked, limit, size = 0, 4 * budget + 64, ev.space.size()
    while _counted(ev) < min(budget, size) and asked < limit:
        n = min(batch, budget - _counted(ev))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trials = [study.ask() for _ in range(n)]
            values = [tuple(t.suggest_categorical(a.key, list(a.values)) for a in axes) for t in trials]
        asked += n
        points = [ev.point(v) for v in values]
        ev.evaluate([p for p in points if p.key not in ev.seen])
        for trial, p in zip(trials, points):
            p = ev.seen[p.key]
            scores = [o.value(p.metrics) if p.result else None for o in objectives]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if all(s is not None for s in scores):
                    trial.set_constraint("fits", 0.0)
                    study.tell(trial, [o.minimized(s) for o, s in zip(objectives, scores)])
                else:  # does not fit, fails a constraint or failed: infeasible, so TPE learns to avoid it
                    trial.set_constraint("fits", 1.0)
                    study.tell(trial, [INFEASIBLE_VALUE] * len(objectives))


def _counted(ev: Evaluator) -> int:
    """Points that count against the budget: all but those a constraint over the axes dropped unrun."""
    return sum(1 for p in ev.order if p.status != "dropped")
