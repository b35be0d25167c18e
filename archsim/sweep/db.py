"""The results database: SQLite, one row per point, written as each point finishes.

Rows are keyed by the point's key (a hash of its effective configuration), so
running a sweep again skips what is there and can never duplicate a point.
Only the parent process writes (workers send rows back), each row in its own
transaction. The journal is WAL with synchronous=NORMAL: a killed process
loses at most the row being written, never the database (SQLite's guarantee;
only a power cut can lose the last few commits, and still not corrupt).
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from archsim.errors import ArchsimInputError

SCHEMA_VERSION = 1

# Metrics copied out of the JSON into real columns, for SQL users; every
# metric is in the `metrics` JSON as well.
METRIC_COLUMNS = ("latency_s", "ttft_s", "tpot_s", "tokens_per_s", "tokens_per_s_per_user",
                  "roofline_latency_s", "bottleneck", "chips_used", "compute_s", "memory_s", "comm_s", "wait_s")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY, file TEXT NOT NULL, axes TEXT NOT NULL, points INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sweep_points (
    sweep TEXT NOT NULL, key TEXT NOT NULL, point_index INTEGER NOT NULL, params TEXT NOT NULL,
    PRIMARY KEY (sweep, key));
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error_kind TEXT,
    error TEXT,
    {", ".join(f"{c} {'TEXT' if c == 'bottleneck' else 'REAL'}" for c in METRIC_COLUMNS)},
    metrics TEXT,
    run_s REAL,
    worker TEXT
);
"""


class ResultsDB:
    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise ArchsimInputError(f"no results database at {self.path}")
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            if create:
                self.conn.executescript(_SCHEMA)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = self.conn.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ArchsimInputError(f"{self.path} is not an archsim results database ({exc})") from None
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise ArchsimInputError(f"{self.path} has results schema {version and version[0]}, "
                                    f"this archsim reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ writing
    def register_sweep(self, name: str, file: str, axes: list[str], points: list) -> None:
        """Record which points (keys, with their axis values) make up sweep `name`. A point's result
        is shared by every sweep that contains it; results stay when a sweep file changes."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT OR REPLACE INTO sweeps VALUES (?, ?, ?, ?)",
                              (name, file, json.dumps(axes), len(points)))
            self.conn.execute("DELETE FROM sweep_points WHERE sweep = ?", (name,))
            self.conn.executemany("INSERT INTO sweep_points VALUES (?, ?, ?, ?)",
                                  [(name, p.key, p.index, json.dumps(p.params)) for p in points])

    def done_keys(self, retry_errors: bool = False) -> set[str]:
        """Keys that need no rerun: ok rows, and error rows unless asked to retry them.
        Internal errors (bugs, not results) are always rerun."""
        where = "status = 'ok'" if retry_errors else "status = 'ok' OR error_kind != 'internal'"
        return {k for (k,) in self.conn.execute(f"SELECT key FROM points WHERE {where}")}

    def record(self, config: dict, row: dict) -> None:
        """Write one point's row (its own transaction)."""
        metrics = row.get("metrics") or {}
        values = [row["key"], json.dumps(config, sort_keys=True),
                  row["status"], row.get("error_kind"), row.get("error"),
                  *(_scalar(metrics.get(c)) for c in METRIC_COLUMNS),
                  json.dumps(metrics, default=_jsonable) if metrics else None, row.get("run_s"), row.get("worker")]
        marks = ", ".join("?" * len(values))
        self.conn.execute(f"INSERT OR REPLACE INTO points VALUES ({marks})", values)

    # ------------------------------------------------------------ reading
    def get(self, keys) -> dict[str, dict]:
        """The rows stored for `keys` (those present), by key: status, error_kind, error, metrics."""
        out, keys = {}, list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            for key, status, kind, error, metrics in self.conn.execute(
                    f"SELECT key, status, error_kind, error, metrics FROM points WHERE key IN ({marks})", chunk):
                out[key] = dict(key=key, status=status, error_kind=kind, error=error,
                                metrics=json.loads(metrics) if metrics else {})
        return out

    def count(self) -> int:
        """Rows in the points table (every sweep's results)."""
        return self.conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def sweeps(self) -> list[dict]:
        out = []
        for name, file, axes, points in self.conn.execute("SELECT name, file, axes, points FROM sweeps ORDER BY name"):
            out.append(dict(name=name, file=file, axes=json.loads(axes), points=points))
        return out

    def rows(self, sweep: str | None = None) -> list[dict]:
        """The finished points of one sweep (or of every sweep), in sweep order."""
        query = ("SELECT p.key, s.sweep, s.point_index, s.params, p.config, p.status, p.error_kind, p.error, "
                 "p.metrics, p.run_s, p.worker FROM sweep_points s JOIN points p ON p.key = s.key")
        args: tuple = ()
        if sweep is not None:
            query += " WHERE s.sweep = ?"
            args = (sweep,)
        out = []
        for key, name, index, params, config, status, kind, error, metrics, run_s, worker in self.conn.execute(
                query + " ORDER BY s.sweep, s.point_index", args):
            out.append(dict(key=key, sweep=name, index=index, params=json.loads(params), config=json.loads(config),
                            status=status, error_kind=kind, error=error,
                            metrics=json.loads(metrics) if metrics else {}, run_s=run_s, worker=worker))
        return out


def _scalar(value):
    return value if isinstance(value, (int, float, str)) or value is None else None


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)
