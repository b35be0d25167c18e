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

# 2: the serving columns. A schema-1 file is upgraded in place when a sweep writes to it (columns added, rows
# kept); an older archsim then refuses the file by its version rather than failing on the new columns.
SCHEMA_VERSION = 2

# Metrics copied out of the JSON into real columns, for SQL users; every
# metric is in the `metrics` JSON as well.
STEP_COLUMNS = ("latency_s", "ttft_s", "tpot_s", "tokens_per_s", "tokens_per_s_per_user",
                "roofline_latency_s", "bottleneck", "chips_used", "compute_s", "memory_s", "comm_s", "wait_s")
# A serving point's headline numbers (archsim/sweep/serving.py; tokens_per_s and chips_used above too).
SERVING_COLUMNS = ("ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "requests_per_s", "goodput_tokens_per_s",
                   "goodput_requests_per_s", "max_rate_requests_per_s", "cost_per_million_tokens",
                   "energy_per_token_j", "preemptions", "rejected", "stable")
METRIC_COLUMNS = STEP_COLUMNS + SERVING_COLUMNS
_TEXT_COLUMNS = ("bottleneck",)
_INT_COLUMNS = ("preemptions", "rejected", "stable")

def _column_type(name: str) -> str:
    return "TEXT" if name in _TEXT_COLUMNS else "INTEGER" if name in _INT_COLUMNS else "REAL"


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
    {", ".join(f"{c} {_column_type(c)}" for c in METRIC_COLUMNS)},
    metrics TEXT,
    run_s REAL,
    worker TEXT
);
"""


# A row is damaged when its JSON no longer parses (the file was edited, or a page was lost):
# it is shown as an error row and run again, never read as a result.
_DAMAGED = "NOT (json_valid(config) AND json_valid(coalesce(metrics, '{}')))"


class ResultsDB:
    """An archsim results database. Every SQLite failure (a damaged page, a file that is not a
    database, an unrelated database) is an ArchsimInputError naming the file, never a traceback."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise ArchsimInputError(f"no results database at {self.path}")
        if self.path.exists() and not self.path.is_file():
            raise ArchsimInputError(f"{self.path} is not a file; --db takes an SQLite file (created if missing)")
        if create:
            try:  # `--db out/results.sqlite` on a fresh clone: make out/ as --plot does
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ArchsimInputError(f"cannot create the folder of {self.path}: {exc.strerror}") from None
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            tables = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if existed and "meta" not in tables:
                other = f"its tables: {', '.join(sorted(tables))}" if tables else "it has no archsim tables"
                raise ArchsimInputError(f"{self.path} is an SQLite database but not an archsim results database "
                                        f"({other}); give --db a new file")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            if create:
                self.conn.executescript(_SCHEMA)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = self.conn.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        try:
            number = int(version[0]) if version is not None else None
        except (TypeError, ValueError):
            number = None
        if number not in (1, SCHEMA_VERSION):
            raise ArchsimInputError(f"{self.path} has results schema {version and version[0]!r}, "
                                    f"this archsim reads {SCHEMA_VERSION} (and upgrades 1)")
        if number == 1 and create:
            self._upgrade()

    def _upgrade(self) -> None:
        """Schema 1 -> 2: add the serving columns (rows and keys unchanged)."""
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                have = {row[1] for row in self.conn.execute("PRAGMA table_info(points)")}
                for c in METRIC_COLUMNS:
                    if c not in have:
                        self.conn.execute(f"ALTER TABLE points ADD COLUMN {c} {_column_type(c)}")
                self.conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> ArchsimInputError:
        if "not a database" in str(exc) or "unable to open" in str(exc):
            return ArchsimInputError(f"{self.path} is not an archsim results database ({exc})")
        return ArchsimInputError(f"{self.path} is damaged ({exc}); the points it still holds can be saved with "
                                 f"`sqlite3 {self.path} .recover`, or give --db a new file")

    def _query(self, sql: str, args: tuple = ()) -> list:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def check_integrity(self) -> None:
        """Refuse to write into a damaged file (a sweep would add rows to it): SQLite's quick check."""
        problems = self._query("PRAGMA quick_check")
        if problems != [("ok",)]:
            raise self._error(sqlite3.DatabaseError("; ".join(str(p[0]) for p in problems[:3])))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ writing
    def check_sweep_name(self, name: str, file: str) -> None:
        """Refuse a sweep file whose `name:` another file's sweep already has here: registering it
        would replace that sweep's point list (its rows would stop showing in `archsim results`)."""
        file = str(Path(file).resolve())
        row = self._query("SELECT file FROM sweeps WHERE name = ?", (name,))
        if row and not _same_file(row[0][0], file):
            raise ArchsimInputError(
                f"{self.path} already holds a sweep named {name!r}, from {row[0][0]}; {file} uses the same "
                f"name and would replace its points: give it another `name:`, or another --db")

    def register_sweep(self, name: str, file: str, axes: list[str], points: list) -> None:
        """Record which points (keys, with their axis values) make up sweep `name`. A point's result
        is shared by every sweep that contains it; results stay when a sweep file changes. Another
        file that uses the same name is refused: it would replace this sweep's point list."""
        file = str(Path(file).resolve())
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                self.check_sweep_name(name, file)
                self.conn.execute("INSERT OR REPLACE INTO sweeps VALUES (?, ?, ?, ?)",
                                  (name, file, json.dumps(axes), len(points)))
                self.conn.execute("DELETE FROM sweep_points WHERE sweep = ?", (name,))
                self.conn.executemany("INSERT INTO sweep_points VALUES (?, ?, ?, ?)",
                                      [(name, p.key, p.index, json.dumps(p.params)) for p in points])
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def done_keys(self, retry_errors: bool = False) -> set[str]:
        """Keys that need no rerun: ok rows, and error rows unless asked to retry them.
        Internal errors (bugs, not results) and damaged rows are always rerun."""
        where = "status = 'ok'" if retry_errors else "(status = 'ok' OR error_kind != 'internal')"
        return {k for (k,) in self._query(f"SELECT key FROM points WHERE {where} AND NOT {_DAMAGED}")}

    def record(self, config: dict, row: dict) -> None:
        """Write one point's row (its own transaction)."""
        metrics = row.get("metrics") or {}
        values = [row["key"], json.dumps(config, sort_keys=True),
                  row["status"], row.get("error_kind"), row.get("error"),
                  *(_scalar(metrics.get(c)) for c in METRIC_COLUMNS),
                  json.dumps(metrics, default=_jsonable) if metrics else None, row.get("run_s"), row.get("worker")]
        names = ("key", "config", "status", "error_kind", "error", *METRIC_COLUMNS, "metrics", "run_s", "worker")
        marks = ", ".join("?" * len(values))
        try:  # by name: an upgraded schema-1 file has its columns in another order
            self.conn.execute(f"INSERT OR REPLACE INTO points ({', '.join(names)}) VALUES ({marks})", values)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

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
        return self._query("SELECT COUNT(*) FROM points")[0][0]

    def sweeps(self) -> list[dict]:
        out = []
        for name, file, axes, points in self._query("SELECT name, file, axes, points FROM sweeps ORDER BY name"):
            out.append(dict(name=name, file=file, axes=_json(axes, []), points=points))
        return out

    def rows(self, sweep: str | None = None) -> list[dict]:
        """The finished points of one sweep (or of every sweep), in sweep order. A damaged row comes
        back as an error row (error_kind 'damaged') saying so; a resumed sweep runs it again."""
        query = ("SELECT p.key, s.sweep, s.point_index, s.params, p.config, p.status, p.error_kind, p.error, "
                 "p.metrics, p.run_s, p.worker FROM sweep_points s JOIN points p ON p.key = s.key")
        args: tuple = ()
        if sweep is not None:
            query += " WHERE s.sweep = ?"
            args = (sweep,)
        out = []
        for key, name, index, params, config, status, kind, error, metrics, run_s, worker in self._query(
                query + " ORDER BY s.sweep, s.point_index", args):
            row = dict(key=key, sweep=name, index=index, params=_json(params, None), config=_json(config, None),
                       status=status, error_kind=kind, error=error, metrics=_json(metrics, None) if metrics else {},
                       run_s=run_s, worker=worker)
            if any(not isinstance(row[k], dict) for k in ("params", "config", "metrics")):
                row.update(status="error", error_kind="damaged", metrics={},
                           error="this row's JSON does not parse (the file was changed outside archsim); "
                                 "run the sweep again to recompute it",
                           params=row["params"] if isinstance(row["params"], dict) else {},
                           config=row["config"] if isinstance(row["config"], dict) else {})
            out.append(row)
        return out


def _json(text, default):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _same_file(stored: str, file: str) -> bool:
    return stored == file or str(Path(stored).resolve()) == file


def _scalar(value):
    return value if isinstance(value, (int, float, str)) or value is None else None


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)
