"""Request traces: CSV files of (arrival time, prompt tokens, output tokens), bundled or the user's.

A trace file has a header row naming its columns. Recognized names (case does not matter):
- arrival time: TIMESTAMP, timestamp, arrival_s, time_s: seconds (a number) or a date-time
  ('2023-11-16 18:17:03.9799600'); times are taken relative to the first row;
- prompt tokens: ContextTokens, prompt_tokens, input_tokens;
- output tokens: GeneratedTokens, output_tokens;
- optional, block hashes of the prompt (prefix caching): hash_ids, block_hashes: integers separated by spaces
  (or a bracketed list, Mooncake's trace style), one per block of the prompt, equal hashes for equal blocks.
Rows must be in time order. A problem is reported with the file, line and column.
Bundled traces (archsim/data/traces/README.md has their license and attribution): azure-conv, azure-code.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.spec import did_you_mean

TRACE_DIR = Path(__file__).resolve().parents[1] / "data" / "traces"
BUNDLED = {"azure-conv": "azure_llm_2023_conv.csv", "azure-code": "azure_llm_2023_code.csv"}
COLUMNS = {  # matched without regard to case
    "arrival": ("TIMESTAMP", "arrival_s", "time_s"),
    "prompt": ("ContextTokens", "prompt_tokens", "input_tokens"),
    "output": ("GeneratedTokens", "output_tokens"),
}


HASH_COLUMNS = ("hash_ids", "block_hashes")


@dataclass(frozen=True)
class Trace:
    source: str
    arrival_s: np.ndarray  # float64, from 0
    prompt_tokens: np.ndarray  # int64
    output_tokens: np.ndarray  # int64
    block_hashes: tuple | None = None  # per request, a tuple of the prompt's block hashes (prefix caching)

    def __len__(self) -> int:
        return int(self.arrival_s.size)


def resolve_trace(name_or_path: str) -> Path:
    if name_or_path in BUNDLED:
        return TRACE_DIR / BUNDLED[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() == ".csv" or "/" in name_or_path:
        if not path.exists():
            raise ArchsimInputError(f"trace file {name_or_path!r} does not exist")
        return path
    raise ArchsimInputError(f"unknown trace {name_or_path!r}{did_you_mean(name_or_path, BUNDLED)}; bundled: "
                            f"{', '.join(BUNDLED)}, or give a CSV path")


_CACHE: dict = {}


def load_trace(name_or_path: str) -> Trace:
    """Read and check a trace (bundled name or CSV path); cached per file and modification time."""
    path = resolve_trace(name_or_path)
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = _read(path)
    return _CACHE[key]


def _read(path: Path) -> Trace:
    file = str(path)
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ArchsimInputError(f"cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ArchsimInputError(f"cannot read {file}: not a UTF-8 text file; expected a CSV trace") from None
    if not rows:
        raise SpecError([Problem(file, 1, "", "empty file; expected a header row and one row per request")])
    header = [h.strip().lower() for h in rows[0]]
    where = {}
    problems = []
    for role, names in COLUMNS.items():
        found = [header.index(n.lower()) for n in names if n.lower() in header]
        if not found:
            problems.append(Problem(file, 1, role, f"missing the {role} column: expected one of "
                                                   f"{', '.join(names)}; the header has {', '.join(rows[0])}"))
        else:
            where[role] = found[0]
    if problems:
        raise SpecError(problems)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if not body:
        raise SpecError([Problem(file, 2, "", "no requests after the header row")])
    arrival = _times(file, body, where["arrival"], rows[0][where["arrival"]])
    prompt = _tokens(file, body, where["prompt"], rows[0][where["prompt"]])
    output = _tokens(file, body, where["output"], rows[0][where["output"]])
    hashed = [header.index(n) for n in HASH_COLUMNS if n in header]
    hashes = _hashes(file, body, hashed[0], rows[0][hashed[0]]) if hashed else None
    return Trace(file, arrival, prompt, output, hashes)


def _hashes(file, body, col, name) -> tuple:
    out = []
    for line, row in body:
        text = row[col].strip().strip("[]") if col < len(row) else ""
        try:
            out.append(tuple(int(x) for x in text.replace(",", " ").split()))
        except ValueError:
            raise SpecError([Problem(file, line, name, f"expected block hashes as integers separated by spaces, "
                                                       f"got {row[col]!r}")]) from None
    return tuple(out)


def _cell(file, line, row, col, name):
    if col >= len(row) or not row[col].strip():
        raise SpecError([Problem(file, line, name, "empty value")])
    return row[col].strip()


def _tokens(file, body, col, name) -> np.ndarray:
    out = np.empty(len(body), dtype=np.int64)
    for k, (line, row) in enumerate(body):
        text = _cell(file, line, row, col, name)
        try:
            value = int(text)
        except ValueError:
            raise SpecError([Problem(file, line, name, f"expected a whole number of tokens, got {text!r}")]) from None
        if value < 1:
            raise SpecError([Problem(file, line, name, f"must be at least 1 token, got {value}")])
        out[k] = value
    return out


def _times(file, body, col, name) -> np.ndarray:
    texts = [_cell(file, line, row, col, name) for line, row in body]
    try:
        seconds = np.array([float(t) for t in texts])
    except ValueError:
        seconds = _datetimes(file, body, texts, name)
    bad = np.nonzero(~np.isfinite(seconds))[0]
    if bad.size:
        raise SpecError([Problem(file, body[bad[0]][0], name, f"not a finite time: {texts[bad[0]]!r}")])
    back = np.nonzero(np.diff(seconds) < 0)[0]
    if back.size:
        k = int(back[0]) + 1
        raise SpecError([Problem(file, body[k][0], name, f"timestamps out of order: {texts[k]!r} is earlier than "
                                                         f"{texts[k - 1]!r} on the line before; sort the trace")])
    return seconds - seconds[0]


def _datetimes(file, body, texts, name) -> np.ndarray:
    stamps = np.empty(len(texts), dtype="datetime64[ns]")
    for k, text in enumerate(texts):
        try:
            stamps[k] = np.datetime64(text.replace(" ", "T"), "ns")
        except ValueError:
            raise SpecError([Problem(file, body[k][0], name, f"expected seconds or a date-time like "
                                                             f"'2023-11-16 18:17:03.98', got {text!r}")]) from None
    return (stamps - stamps[0]).astype(np.int64) / 1e9
