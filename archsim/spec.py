"""Versioned YAML specs: load with line numbers, validate against a schema,
collect every problem into one error, freeze into attribute-access nodes.

Used for chip/system files (archsim.hw), workload files (archsim.workload)
and sweep files (archsim.sweep). A schema is a nested dict whose leaves are
`Field`s; the validator walks the YAML and the schema together (after
timeloopfe's nodes: an unknown key is an error listing what is recognized).
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from archsim.errors import MAX_SHOWN, Problem, SpecError
from archsim.units import QUANTITIES, UnitError, parse_quantity
from archsim.yaml_io import Lines, load_yaml, read_text


# A number as YAML 1.2 writes it (PyYAML reads 1e9 as a string: its YAML 1.1 floats need a dot and a sign).
_YAML12_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

# An integer larger than this is surely a mistake, and later stages hold counts in int64 and
# float64 (exact only up to 2**53): a field with no stated maximum of its own gets this one.
MAX_INT = 2**53
# Appended to a problem with a value that came from an override (--set), not from the file it names.
OVERRIDE_NOTE = " (an override, not the value in the file)"


@dataclass(frozen=True)
class Field:
    """One leaf of a schema.

    kind: "int", "float", "str", "bool", "choice", "list_str", "list_int", "list_float",
    "scalar" (a number or a string, kept as given), "mapping" (a free-form
    mapping with string keys, checked by its owner) or a quantity name from
    archsim.units.QUANTITIES (parsed from a unit string).
    """

    kind: str
    doc: str = ""
    required: bool = True
    default: Any = None
    choices: tuple = ()
    minimum: float | None = None  # inclusive lower bound on the parsed value
    positive: bool = False  # strictly greater than zero
    maximum: float | None = None  # inclusive upper bound: a stated limit (archsim/limits.py) the error names

    def expected(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind in QUANTITIES:
            desc, example = QUANTITIES[self.kind]
            return f"{desc} like {example!r}"
        return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
                "list_str": "a list of strings", "list_int": "a list of integers", "list_float": "a list of numbers",
                "scalar": "a number or a string", "mapping": "a mapping of keys"}[self.kind]


class SpecNode:
    """A frozen, validated section of a spec: `chip.hbm.bandwidth`."""

    __slots__ = ("_values", "_path")

    def __init__(self, values: dict, path: str = ""):
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            where = self._path or "spec"
            raise AttributeError(f"{where} has no key {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("specs are immutable; use --set overrides to change a value")

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default=None):
        return self._values.get(name, default)

    def keys(self):
        return self._values.keys()

    def to_dict(self) -> dict:
        return {k: (v.to_dict() if isinstance(v, SpecNode) else v) for k, v in self._values.items()}

    def __repr__(self) -> str:
        return f"SpecNode({self.to_dict()!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SpecNode) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))


def _join(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------- validation
@dataclass
class _Checker:
    file: str
    lines: Lines
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: tuple, message: str) -> None:
        if self.lines.get(path, 0) is None:  # apply_overrides marks an overridden value with line None
            message += OVERRIDE_NOTE
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        self.problems.append(Problem(self.file, line, _join(path), message))

    def section(self, data, schema: dict, path: tuple) -> SpecNode | None:
        if not isinstance(data, dict):
            self.problem(path, f"expected a mapping of keys, got {_describe(data)}")
            return None
        known = list(schema)
        out = {}
        for key in data:
            if key not in schema:
                if len(self.problems) >= MAX_SHOWN:  # past what the error shows: count it, skip the did-you-mean
                    self.problem(path + (key,), "unknown key")
                    continue
                self.problem(path + (key,), f"unknown key {short_repr(key)}{did_you_mean(key, known)}; "
                                            f"recognized keys here: {', '.join(known)}")
        for key, sub in schema.items():
            if isinstance(sub, dict):
                if key in data:
                    node = self.section(data[key], sub, path + (key,))
                    if node is not None:
                        out[key] = node
                elif _all_optional(sub):  # a section of optional keys may be left out: its defaults apply
                    out[key] = self.section({}, sub, path + (key,))
                else:
                    self.problem(path + (key,), f"missing section {key!r}")
                continue
            if key not in data or data[key] is None:
                if sub.required:
                    self.problem(path + (key,), f"missing required key {key!r}: expected {sub.expected()}")
                else:
                    out[key] = sub.default
                continue
            ok, value = self.leaf(data[key], sub, path + (key,))
            if ok:
                out[key] = value
        return SpecNode(out, _join(path))

    def leaf(self, value, f: Field, path: tuple):
        got = f"got {short_repr(value)}"
        try:
            if f.kind in QUANTITIES:
                parsed = parse_quantity(value, f.kind)
            elif f.kind == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    hint = " (write an integer out in full)" if isinstance(value, (str, float)) and \
                        _YAML12_FLOAT.fullmatch(str(value).strip()) else ""
                    raise UnitError(f"expected an integer, {got}{hint}")
                parsed = value
            elif f.kind == "float":
                if isinstance(value, str) and _YAML12_FLOAT.fullmatch(value.strip()):
                    value = float(value)  # 1e300: a number in YAML 1.2, a string to PyYAML's YAML 1.1
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise UnitError(f"expected a number, {got}")
                parsed = float(value)
                if not math.isfinite(parsed):  # .nan and .inf are YAML floats; no archsim value is one
                    raise UnitError(f"expected a finite number, {got}")
            elif f.kind == "str":
                if not isinstance(value, str):
                    raise UnitError(f"expected a string, {got}")
                parsed = value
            elif f.kind == "bool":
                if not isinstance(value, bool):
                    raise UnitError(f"expected true or false, {got}")
                parsed = value
            elif f.kind == "choice":
                if value not in f.choices:
                    hint = did_you_mean(str(value), [str(c) for c in f.choices])
                    raise UnitError(f"expected {f.expected()}, {got}{hint}")
                parsed = value
            elif f.kind in ("list_str", "list_int"):
                item = str if f.kind == "list_str" else int
                if not isinstance(value, list) or not all(isinstance(v, item) and not isinstance(v, bool)
                                                          for v in value):
                    raise UnitError(f"expected {f.expected()}, {got}")
                parsed = tuple(value)
            elif f.kind == "list_float":
                if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          for v in value):
                    raise UnitError(f"expected {f.expected()}, {got}")
                parsed = tuple(float(v) for v in value)
            elif f.kind == "scalar":
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise UnitError(f"expected {f.expected()}, {got}")
                parsed = value
            elif f.kind == "mapping":
                if not isinstance(value, dict):
                    raise UnitError(f"expected {f.expected()}, got {_describe(value)}")
                parsed = dict(value)
            else:  # pragma: no cover - schema bug
                raise AssertionError(f"unknown field kind {f.kind}")
        except UnitError as exc:
            msg = str(exc)
            if f.kind in QUANTITIES and "got" not in msg:
                # a message that already says what was expected only needs the value
                msg = f"{msg}, {got}" if msg.startswith("expected") else f"{msg}; expected {f.expected()}, {got}"
            self.problem(path, msg)
            return False, None
        if f.positive and not parsed > 0:
            self.problem(path, f"must be greater than zero, {got}")
            return False, None
        if f.minimum is not None and parsed < f.minimum:
            self.problem(path, f"must be at least {f.minimum}, {got}")
            return False, None
        limit = f.maximum if f.maximum is not None else (MAX_INT if f.kind in ("int", "list_int") else None)
        values = parsed if f.kind == "list_int" else (parsed,)
        if limit is not None and any(isinstance(v, (int, float)) and v > limit for v in values):
            shown = f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"
            self.problem(path, f"must be at most {shown} (archsim's limit for this value), {got}")
            return False, None
        return True, parsed


def short_repr(value, limit: int = 80) -> str:
    """repr() cut to `limit` characters, so an error about a huge value stays one line."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits
        return "an integer too long to print"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _all_optional(schema: dict) -> bool:
    return all(_all_optional(f) if isinstance(f, dict) else not f.required for f in schema.values())


def _describe(value) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def validate(data, schema: dict, file: str, lines: Lines | None = None) -> SpecNode:
    """Validate `data` against `schema`; return a frozen SpecNode or raise SpecError with every problem."""
    checker = _Checker(file, lines or {})
    node = checker.section(data, schema, ())
    if checker.problems:
        raise SpecError(checker.problems)
    assert node is not None
    return node


def check_section(data, schema: dict, file: str, lines: Lines | None = None,
                  path: tuple = ()) -> tuple[SpecNode | None, list[Problem]]:
    """Validate a sub-tree found at `path` of a file; return (node, problems) without raising,
    so a caller checking several parts of one file can report every problem together."""
    checker = _Checker(file, lines or {})
    node = checker.section(data, schema, tuple(path))
    return node, checker.problems


def check_value(value, f: Field, file: str, lines: Lines | None = None,
                path: tuple = ()) -> tuple[bool, Any, list[Problem]]:
    """Check one value against a Field, located at `path`; return (ok, parsed, problems)."""
    checker = _Checker(file, lines or {})
    ok, parsed = checker.leaf(value, f, tuple(path))
    return ok, parsed, checker.problems


# ---------------------------------------------------------------- overrides
def key_value_pairs(text: str, flag: str, example: str, keys) -> list[tuple[str, str]]:
    """'a=1,b=x' -> [('a', '1'), ('b', 'x')] for a command-line flag of KEY=VALUE pairs; a part without
    '=' or a value, or a key not in `keys`, is one clear error naming the flag (`example` shows the form)."""
    from archsim.errors import ArchsimInputError

    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise ArchsimInputError(f"{flag} expects KEY=VALUE pairs like {example}, got {part!r}")
        if key not in keys:
            raise ArchsimInputError(f"{flag}: unknown key {key!r}; keys: {', '.join(keys)}")
        pairs.append((key, value))
    return pairs


def parse_override(text: str) -> tuple[str, Any]:
    """'hbm.bandwidth=6 TB/s' -> ('hbm.bandwidth', '6 TB/s'); YAML scalars typed (8 -> int)."""
    from archsim.errors import ArchsimInputError

    if "=" not in text:
        raise ArchsimInputError(f"--set expects PATH=VALUE (like hbm.bandwidth='6 TB/s'), got {text!r}")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ArchsimInputError(f"--set expects PATH=VALUE, got {text!r}")
    try:
        value, _ = load_yaml(raw, "--set")
    except SpecError as exc:
        if not all(p.message.startswith(("not valid YAML", "not a valid YAML value")) for p in exc.problems):
            raise ArchsimInputError(f"--set {path}: {exc.problems[0].message}") from None
        value = raw  # not YAML: the text itself (a unit string with a colon, say)
    return path, value


def apply_overrides(data: dict, overrides: list[tuple[str, Any]], schema: dict, lines: Lines,
                    file: str) -> dict:
    """Return a copy of `data` with each (key.path, value) set; unknown paths are errors."""
    data = copy.deepcopy(data)
    problems = []
    for path, value in overrides:
        keys = path.split(".")
        sub_schema, target = schema, data
        for i, key in enumerate(keys):
            if not isinstance(sub_schema, dict) or key not in sub_schema:
                options = list(sub_schema) if isinstance(sub_schema, dict) else []
                problems.append(Problem("--set", None, path,
                                        f"no key {key!r} at {'.'.join(keys[:i]) or 'top level'}"
                                        f"{did_you_mean(key, options)}; recognized: {', '.join(options)}"))
                break
            if i == len(keys) - 1:
                if isinstance(sub_schema[key], dict):
                    problems.append(Problem("--set", None, path, "is a section, not a value"))
                    break
                target[key] = value
                lines[tuple(keys)] = None  # no file line for an override
            else:
                sub_schema = sub_schema[key]
                target = target.setdefault(key, {})
                if not isinstance(target, dict):
                    problems.append(Problem("--set", None, path, f"{key!r} is not a section"))
                    break
    if problems:
        raise SpecError(problems)
    return data


def config_hash(data) -> str:
    """Short stable hash of an effective (post-override) config, for provenance."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def resolve_spec_path(name_or_path: str, bundled: dict[str, Path], what: str, hint: str = "") -> Path:
    """A bundled name (a key of `bundled`: name -> file) or a file path; unknown names list what exists."""
    import os

    from archsim.errors import ArchsimInputError, UnknownNameError

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.exists():
            raise ArchsimInputError(f"{what} file {name_or_path!r} does not exist")
        return p
    if name_or_path in bundled:
        return bundled[name_or_path]
    names = sorted(bundled)
    raise UnknownNameError(f"unknown {what} {name_or_path!r}{did_you_mean(name_or_path, names)}; "
                           f"bundled: {', '.join(names)}{hint}")


def read_spec_file(path: Path) -> tuple[Any, Lines]:
    """Read a chip, system, workload or sweep file (a regular file of bounded size) as YAML."""
    return load_yaml(read_text(path, "spec file"), str(path))
