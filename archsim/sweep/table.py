"""Reading results back: pick rows and columns, print them as a table, CSV or JSON.

A column is an axis (`scenario.batch`, `chip.hbm.bandwidth`, as written in
the sweep file) or a metric of the JSON result (`latency_s`, `tokens_per_s`,
or a dotted path into it: `utilization.compute`).
"""
from __future__ import annotations

import csv
import io
import json
import math

from archsim.errors import ArchsimInputError
from archsim.spec import did_you_mean, parse_override
from archsim.units import QUANTITIES, UnitError, parse_quantity

DEFAULT_METRICS = ("latency_s", "tokens_per_s", "bottleneck")
# The narrow CSV: the headline numbers of every point (--all: every metric, over 200 columns).
CSV_METRICS = ("latency_s", "ttft_s", "tpot_s", "tokens_per_s", "tokens_per_s_per_user", "bottleneck", "chips_used",
               "roofline_latency_s", "energy_per_token_j", "avg_power_w", "cost_per_million_tokens")
# A serving sweep's points (archsim/sweep/serving.py): the table's and the narrow CSV's columns.
SERVING_METRICS = ("ttft_p99_s", "tpot_p99_s", "tokens_per_s", "goodput_tokens_per_s", "max_rate_requests_per_s",
                   "cost_per_million_tokens", "stable")
SERVING_CSV_METRICS = ("ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "e2e_p99_s", "tokens_per_s",
                       "requests_per_s", "goodput_tokens_per_s", "goodput_requests_per_s", "goodput_fraction",
                       "max_rate_requests_per_s", "cost_per_million_tokens", "energy_per_token_j", "avg_power_w",
                       "preemptions", "rejected", "unfinished", "stable", "chips_used")
# Error text in a table is cut to one line of this many characters (csv and json keep all of it).
TABLE_ERROR_CHARS = 100


def select(rows: list[dict], where: list[str] = ()) -> list[dict]:
    """Keep rows whose axis values match every AXIS=VALUE in `where`."""
    for text in where:
        if "=" not in text or not text.split("=", 1)[0].strip():
            raise ArchsimInputError(f"--where expects AXIS=VALUE (like scenario.batch=8), got {text!r}")
        axis, value = parse_override(text)
        axes = axes_of(rows)
        if axis not in axes:
            raise ArchsimInputError(f"--where: no axis {axis!r}{did_you_mean(axis, axes)}; axes: {', '.join(axes)}")
        rows = [r for r in rows if _same(r["params"].get(axis), value)]
    return rows


def _same(a, b) -> bool:
    return a == b or str(a) == str(b) or (numeric(a) is not None and numeric(a) == numeric(b))


def axes_of(rows: list[dict]) -> list[str]:
    out: list[str] = []
    for r in rows:
        for name in r["params"]:
            if name not in out:
                out.append(name)
    return out


def metrics_of(rows: list[dict]) -> list[str]:
    """Scalar metric names present in any ok row, in the result's order."""
    out: list[str] = []
    for r in rows:
        for name, value in _flatten(r["metrics"]):
            if name not in out:
                out.append(name)
    return out


def _flatten(d: dict, prefix: str = ""):
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        elif value is None or isinstance(value, (int, float, str)):
            yield name, value


def default_metrics(rows: list[dict], fmt: str) -> list[str]:
    """The columns shown without --metrics: a step point's headline numbers, a serving point's, or both (a
    database holding both kinds); those the rows have."""
    step, serving = (DEFAULT_METRICS, SERVING_METRICS) if fmt == "table" else (CSV_METRICS, SERVING_CSV_METRICS)
    kinds = {r["metrics"].get("kind") == "serving" for r in rows if r["status"] == "ok"}
    wanted = (step if False in kinds or not kinds else ()) + (serving if True in kinds else ())
    present = set(metrics_of(rows))
    return [m for m in dict.fromkeys(wanted) if m in present]


def value(row: dict, column: str):
    if column in row["params"]:
        return row["params"][column]
    node = row["metrics"]
    for part in column.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_columns(rows: list[dict], columns: list[str]) -> None:
    known = axes_of(rows) + metrics_of(rows)
    for c in columns:
        if c not in known:
            raise ArchsimInputError(f"no axis or metric {c!r}{did_you_mean(c, known)}; "
                                    f"axes: {', '.join(axes_of(rows)) or '(none)'}; metrics: "
                                    f"{', '.join(metrics_of(rows)) or '(no point succeeded)'}")


def numeric(v):
    """A number for plotting and sorting: numbers as they are, unit strings parsed, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        for quantity in QUANTITIES:
            try:
                return parse_quantity(v, quantity)
            except UnitError:
                continue
    return None


def _column_format(values: list) -> str:
    """One number format per column, so a column never switches between plain and scientific:
    plain with 4 significant digits for the smallest value when every value is between 1e-3 and
    1e6, scientific (4 digits) otherwise."""
    numbers = [abs(v) for v in values if isinstance(v, float) and v == v and abs(v) not in (0.0, float("inf"))]
    if not numbers:
        return ".4g"
    low, high = min(numbers), max(numbers)
    if low < 1e-3 or high >= 1e6:
        return ".3e"
    decimals = max(0, min(6, 3 - math.floor(math.log10(low))))
    return f",.{decimals}f"


def _cell(v, fmt: str = ".4g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, fmt)
    return str(v)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def render(rows: list[dict], metrics: list[str], fmt: str, errors: bool = False) -> str:
    axes = axes_of(rows)
    metrics = [m for m in metrics if m not in axes]  # a `chip` axis and the result's `chip`: one column
    if fmt == "json":
        return json.dumps([dict(key=r["key"], sweep=r["sweep"], params=r["params"], status=r["status"],
                                error_kind=r["error_kind"], error=r["error"],
                                metrics={m: value(r, m) for m in metrics} if metrics else r["metrics"])
                           for r in rows], indent=2) + "\n"
    header = ["key", *axes, "status", *metrics] + (["error"] if errors or fmt == "csv" else [])
    body = [[r["key"], *(r["params"].get(a) for a in axes), r["status"], *(value(r, m) for m in metrics)]
            + ([_error_text(r)] if errors or fmt == "csv" else []) for r in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in line] for line in body)
        return out.getvalue()
    formats = [_column_format([line[i] for line in body]) for i in range(len(header))]
    cells = [header] + [[_cell(v, formats[i]) for i, v in enumerate(line)] for line in body]
    if errors:
        for line in cells[1:]:
            line[-1] = _one_line(line[-1], TABLE_ERROR_CHARS)
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == len(header) - 1 else c.rjust(w) if _numberish(c) else c.ljust(w)
                       for i, (c, w) in enumerate(zip(line, widths))).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _error_text(r: dict) -> str:
    if r["status"] == "ok":
        return ""
    return f"{r['error_kind']}: {r['error']}"


def _numberish(text: str) -> bool:
    try:
        float(text.replace(",", ""))  # thousands separators (_column_format) are numbers too
        return True
    except ValueError:
        return False
