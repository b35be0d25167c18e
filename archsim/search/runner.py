"""Run a search: points of a space -> checked mappings -> the sweep store and executors -> a Pareto front.

    result = run_search(system, "llama3.1-8b", scenario, space, objectives, budget=200, db="s.sqlite")

Every point is a mapping file's content (space.SearchSpace.body), turned into mapper options the way
`--mapping` turns a file, and checked against the chip without simulating (the family schema's `check`);
a point that does not fit is recorded with the mapper's reason and never simulated. The rest run as sweep
points do (archsim.sweep: the same worker, local processes or Dask, one SQLite row per point keyed by the
point's configuration), so an interrupted search resumes: a point already in the store is read back, not
run. Small spaces (no more points than the budget) run whole; larger ones are sampled by optuna's TPE with
a fixed seed, in batches of a fixed size, so the same command asks for the same points (strategy.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.choose import first_best
from archsim.mapping.file import operator_graph
from archsim.search.objectives import Objective, front_objectives, pareto
from archsim.search.space import SearchSpace
from archsim.sweep.db import ResultsDB
from archsim.sweep.executors import points_iter
from archsim.progress import Progress
from archsim.sweep.spec import point_key, workload_digest

EXISTENCE_SCAN = 2000  # combinations looked at, before sampling, for one that fits


@dataclass
class SearchPoint:
    index: int  # order of evaluation
    values: tuple  # axis values
    params: dict  # axis key -> value
    key: str
    options: dict
    status: str = "todo"  # ok | infeasible | input | internal | dropped (a constraint over the axes)
    error: str | None = None
    metrics: dict = field(default_factory=dict)
    source: str = ""  # ran | store | checked (not simulated: it does not fit) | constraint
    run_s: float = 0.0  # seconds a worker spent simulating it (ran in this search)
    excluded: str = ""  # a constraint over metrics it fails (ran, but not a result)

    @property
    def result(self) -> bool:
        return self.status == "ok" and not self.excluded


@dataclass
class SearchResult:
    space: SearchSpace
    objectives: list[Objective]
    strategy: str
    points: list[SearchPoint]
    front: list[SearchPoint]
    front_objectives: list[Objective]
    companion: bool
    best: SearchPoint | None
    baseline: object | None  # RunResult of the default mapping (auto)
    baseline_mapping: dict | None
    best_result: object | None
    best_mapping: dict | None
    wall_s: float = 0.0
    ran: int = 0
    from_store: int = 0

    def value(self, p: SearchPoint, o: Objective):
        return o.value(p.metrics)

    def to_dict(self) -> dict:
        """The search as JSON (for `archsim search --html`): the objectives, the best point, the front and
        every point with its axis values, status and metrics."""
        def point(p: SearchPoint) -> dict:
            return {"index": p.index, "key": p.key, "params": p.params, "status": p.status, "error": p.error,
                    "source": p.source, "excluded": p.excluded or None,
                    **{o.name: self.value(p, o) for o in self.objectives}}

        return {"space": self.space.name, "strategy": self.strategy, "wall_s": self.wall_s, "ran": self.ran,
                "from_store": self.from_store, "objectives": [o.name for o in self.objectives],
                "best": point(self.best) if self.best is not None else None,
                "front": [point(p) for p in self.front], "points": [point(p) for p in self.points]}


class Evaluator:
    """Runs points through the family's check, the store and the executors; keeps every point seen."""

    def __init__(self, system, chip_ref: str, overrides: list, workload: str, scenario, fidelity: str,
                 space: SearchSpace, db_path, jobs: int, client, progress: Progress | None):
        self.system, self.chip_ref, self.overrides = system, chip_ref, [list(o) for o in overrides]
        self.workload, self.scenario, self.fidelity, self.space = workload, scenario, fidelity, space
        self.db_path, self.jobs, self.client, self.progress = db_path, jobs, client, progress
        self.schema = space.schema
        self.graph = operator_graph(workload, scenario)
        self.scenario_dict = asdict(scenario)
        base = system
        if self.overrides:  # keyed as a sweep keys it: the chip file's configuration, then the overrides
            from archsim.hw.load import load_system

            base = load_system(chip_ref)
        self.digests = (base.config_hash, workload_digest(workload))
        self.seen: dict[str, SearchPoint] = {}
        self.order: list[SearchPoint] = []
        self.ran = self.from_store = 0

    def point(self, values: tuple) -> SearchPoint:
        """The point of these axis values (the one already seen, if any)."""
        from archsim.mapping.file import check_body

        plain, problems = check_body(self.schema, self.space.body(values), self.space.file, {})
        if problems:  # the file check passed each value alone; a combination can still clash
            raise ArchsimInputError("; ".join(str(p) for p in problems))
        options = self.schema.to_options(plain)
        key = point_key(*self.digests, self.overrides, self.scenario_dict, self.space.mapper, options, self.fidelity)
        if key in self.seen:
            return self.seen[key]
        return SearchPoint(len(self.order), tuple(values), self.space.params(values), key, options)

    def config(self, p: SearchPoint) -> dict:
        return dict(chip=self.chip_ref, overrides=self.overrides, workload=self.workload,
                    scenario=dict(self.scenario_dict), mapper=self.space.mapper, options=dict(p.options),
                    fidelity=self.fidelity)

    def precheck(self, p: SearchPoint) -> None:
        """Constraints over the axes, then the family's check; sets the status of a point that cannot run."""
        ok, why = self.space.holds(p.values)
        if not ok:
            p.status, p.error, p.source = "dropped", f"dropped by {why}", "constraint"
            return
        if self.schema.check is None:
            return
        try:
            self.schema.check(self.system, self.graph, self.scenario, dict(p.options, fidelity=self.fidelity))
        except InfeasibleError as exc:
            p.status, p.error, p.source = "infeasible", exc.reason, "checked"
            p.metrics = {"details": exc.details} if exc.details else {}
        except ArchsimInputError as exc:
            p.status, p.error, p.source = "input", str(exc), "checked"

    def evaluate(self, points: list[SearchPoint]) -> None:
        """Bring every new point to a result: from the store, from the check, or by running it."""
        new = [p for p in points if p.key not in self.seen]
        unique = {p.key: p for p in new}
        for p in unique.values():
            self.seen[p.key] = p
            p.index = len(self.order)
            self.order.append(p)
        with ResultsDB(self.db_path) as db:
            stored = db.get(unique)
        todo = []
        for key, p in unique.items():
            row = stored.get(key)
            if row is not None and row["error_kind"] != "internal":
                self._take(p, row, "store")
                self.from_store += 1
                self._tick(p)
                continue
            self.precheck(p)
            if p.status == "todo":
                todo.append(p)
            else:
                self._tick(p)
        checked = [p for p in unique.values() if p.source == "checked"]
        if checked:
            with ResultsDB(self.db_path) as db:
                for p in checked:
                    db.record(self.config(p), {"key": p.key, "status": "error", "error_kind": p.status,
                                               "error": p.error, "metrics": p.metrics or None})
        if todo:
            self._run(todo)
        for p in unique.values():
            self._post(p)

    def _run(self, todo: list[SearchPoint]) -> None:
        configs = {p.key: self.config(p) for p in todo}
        rows = points_iter(configs.items(), self.jobs, self.client)  # workers fork before the store opens
        db = ResultsDB(self.db_path)
        try:
            for row in rows:
                db.record(configs[row["key"]], row)
                p = self.seen[row["key"]]
                self._take(p, row, "ran")
                self.ran += 1
                self._tick(p)
        finally:
            if hasattr(rows, "close"):
                rows.close()
            db.close()

    def _take(self, p: SearchPoint, row: dict, source: str) -> None:
        p.status = "ok" if row["status"] == "ok" else (row.get("error_kind") or "internal")
        p.error, p.metrics, p.source = row.get("error"), row.get("metrics") or {}, source
        p.run_s = row.get("run_s") or 0.0 if source == "ran" else 0.0

    def _post(self, p: SearchPoint) -> None:
        if p.status != "ok":
            return
        for c, where in self.space.post:
            env = {k: v for k, v in p.metrics.items() if isinstance(v, (int, float)) or v is None}
            try:
                holds = c.holds(env)
            except Exception as exc:  # a metric the run lacks (energy on a chip without coefficients)
                p.excluded = f"constraint {c.text!r} ({where}) cannot be evaluated: {exc}"
                return
            if not holds:
                p.excluded = f"fails {c.text!r} ({where})"
                return

    def _tick(self, p: SearchPoint) -> None:
        if self.progress is not None and p.status != "dropped":  # dropped points cost nothing, count for nothing
            self.progress.update(p.status == "ok")

    def register(self, name: str) -> None:
        """Record which points make up the search in the store (`archsim results DB --sweep NAME`)."""
        points = [SimpleNamespace(key=p.key, index=p.index, params=p.params) for p in self.order]
        with ResultsDB(self.db_path) as db:
            db.register_sweep(name, self.space.file, [a.key for a in self.space.axes], points)


def scan_for_valid(ev: Evaluator, limit: int = EXISTENCE_SCAN) -> tuple[bool, dict]:
    """Whether some combination (in order, up to `limit`) passes the constraints and the family's check,
    without simulating; the reasons of those that do not, counted."""
    reasons: dict[str, int] = {}
    for i, values in enumerate(ev.space.combos()):
        if i >= limit:
            break
        p = ev.point(values)
        if p.key in ev.seen:
            if ev.seen[p.key].status in ("ok", "todo"):
                return True, reasons
            continue
        ev.precheck(p)
        if p.status == "todo":
            return True, reasons
        reasons[p.error or p.status] = reasons.get(p.error or p.status, 0) + 1
    return False, reasons


def no_valid_point(space: SearchSpace, reasons: dict, looked: int) -> ArchsimInputError:
    top = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
    listing = "; ".join(f"{n} point{'s' if n != 1 else ''}: {why}" for why, n in top)
    scope = f"the first {looked:,} of its {space.size():,} points" if looked < space.size() else \
        f"its {space.size():,} point{'s' if space.size() != 1 else ''}"
    return ArchsimInputError(f"{space.file}: no valid point in {scope} (nothing was run): {listing}")


def best_and_front(points: list[SearchPoint], objectives: list[Objective]):
    """(the best point by the first objective, the Pareto front, the front's objectives, whether a companion
    objective was added); among points equal on the first objective, the front's other objectives decide, then
    the first evaluated (mapping/choose.first_best, the rule the mappers' auto uses)."""
    axes, companion = front_objectives(objectives)
    results = [p for p in points if p.result and objectives[0].value(p.metrics) is not None]
    if not results:
        return None, [], axes, companion
    ranked = [objectives[0]] + [o for o in axes if o.name != objectives[0].name]

    def key(p):  # the first objective, then the front's others on a tie (so the best is on the front)
        return tuple(o.minimized(v) if (v := o.value(p.metrics)) is not None else float("inf") for o in ranked)

    best = first_best(results, key)
    front = pareto(results, axes, lambda p: [o.value(p.metrics) for o in axes])
    return best, front, axes, companion
