"""A sweep's points read back from its database, as one object (`archsim.sweep(...)`, `archsim results --html`).

    result = SweepResult.load("out/sweep.sqlite")
    result.to_pandas()                      # one row per point: axes, status, metrics (dotted names)
    result.pareto("tokens_per_s_per_user", "tokens_per_s")

It formats nothing and runs nothing: rows as the database holds them, and the selections the report
needs (axes, metrics, numeric axis values, the Pareto front of two metrics, by sweep/plot.py's rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from archsim.sweep.table import axes_of, metrics_of, numeric, value

# The default pair for the Pareto plot when none is asked for: interactivity against throughput.
DEFAULT_PARETO = (("tokens_per_s_per_user", "tokens_per_s"), ("latency_s", "tokens_per_s"),
                  ("tpot_p99_s", "tokens_per_s"))  # the last: a serving sweep's (archsim/sweep/serving.py)


@dataclass
class SweepResult:
    db: str  # the database file
    rows: list[dict]  # ResultsDB.rows(): key, sweep, index, params, config, status, error_kind, error, metrics, ...
    sweeps: list[dict] = field(default_factory=list)  # name, file, axes, points
    summary: object = None  # the SweepSummary of the run that produced it, when there was one

    @classmethod
    def load(cls, db: str | Path, sweep: str | None = None, summary=None) -> "SweepResult":
        from archsim.sweep.db import ResultsDB

        with ResultsDB(db, create=False) as conn:
            sweeps = [s for s in conn.sweeps() if sweep is None or s["name"] == sweep]
            rows = conn.rows(sweep)
        return cls(str(db), rows, sweeps, summary)

    @property
    def name(self) -> str:
        return ", ".join(s["name"] for s in self.sweeps) or Path(self.db).stem

    def axes(self) -> list[str]:
        return axes_of(self.rows)

    def metrics(self) -> list[str]:
        """Scalar metric names (dotted paths into each point's result)."""
        return metrics_of(self.rows)

    def ok_rows(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "ok"]

    def value(self, row: dict, column: str):
        """An axis value (as written in the sweep file) or a metric (a dotted path) of one row."""
        return value(row, column)

    def numeric_axis(self, axis: str, rows: list[dict] | None = None) -> list:
        """The axis value of each row as a number (units parsed: '2 TB/s' -> 2e12), or None."""
        return [numeric(r["params"].get(axis)) for r in (self.ok_rows() if rows is None else rows)]

    def default_pareto(self) -> tuple[str, str] | None:
        have = set(self.metrics())
        return next(((x, y) for x, y in DEFAULT_PARETO if x in have and y in have), None)

    def pareto(self, x: str, y: str) -> list[int]:
        """Indices into ok_rows() of the points on the Pareto front of metrics x and y (each minimized if it
        is a time, `_s` not `_per_s`, else maximized; `NAME:min` / `NAME:max` choose), sorted along x."""
        from archsim.sweep.plot import direction, pareto_front

        dx, dy = direction(x), direction(y)
        x, y = x.split(":")[0], y.split(":")[0]
        rows = self.ok_rows()
        keep = [i for i, r in enumerate(rows) if _number(value(r, x)) and _number(value(r, y))]
        front = pareto_front([(value(rows[i], x), value(rows[i], y)) for i in keep], dx, dy)
        return sorted((keep[i] for i in front), key=lambda i: value(rows[i], x))

    def records(self) -> list[dict]:
        """One flat dict per point: key, sweep, each axis, status, error, then every scalar metric."""
        axes, metrics = self.axes(), self.metrics()
        return [{"key": r["key"], "sweep": r["sweep"], **{a: r["params"].get(a) for a in axes},
                 "status": r["status"], "error": r["error"], **{m: value(r, m) for m in metrics}}
                for r in self.rows]

    def to_dict(self) -> dict:
        return {"db": self.db, "sweeps": self.sweeps,
                "points": [dict(key=r["key"], sweep=r["sweep"], params=r["params"], status=r["status"],
                                error_kind=r["error_kind"], error=r["error"], metrics=r["metrics"])
                           for r in self.rows],
                "summary": self.summary.__dict__ if self.summary is not None else None}

    def to_pandas(self):
        """A DataFrame with one row per sweep point (needs pandas)."""
        from archsim.report.tables import frame

        return frame(self.records())

    def _repr_html_(self) -> str:
        from archsim.report.markup.notebook import sweep_fragment

        return sweep_fragment(self)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
