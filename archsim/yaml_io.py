"""Reading spec files safely: regular files only, with a size limit, and YAML
parsed with bounds on depth and on what anchors and aliases expand to.

A spec file is text a person wrote. Anything that is not (a device such as
/dev/zero, a FIFO, a multi-megabyte file, an alias "bomb" whose few hundred
bytes expand to billions of values, a recursive alias, thousands of nested
brackets, a `!!binary` value) gets one clear error with the file and line,
instead of a hang, a MemoryError or a traceback.
"""
from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from archsim.errors import ArchsimInputError, Problem, SpecError

try:  # libyaml parses ~10x faster and limits nesting itself; the nodes are the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader

Lines = dict[tuple, int]
_STR = "tag:yaml.org,2002:str"

# Stated limits (docs/limits.md). A hand-written chip, workload or sweep file is a few KiB.
MAX_FILE_BYTES = 2**20
MAX_DEPTH = 32  # nested mappings and lists; the deepest bundled file has 4
MAX_VALUES = 1_000_000  # values after anchors and aliases are expanded

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_text(path, what: str = "file", limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of regular file `path`, at most `limit` bytes; ArchsimInputError otherwise.
    Never opens a device or a FIFO (reading /dev/zero never ends; opening a FIFO blocks)."""
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as exc:
        raise ArchsimInputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise ArchsimInputError(f"cannot read {what} {p}: it is {kind}, not a regular file")
    if info.st_size > limit:
        raise ArchsimInputError(f"cannot read {what} {p}: it is {info.st_size:,} bytes, over archsim's limit of "
                                f"{limit:,} bytes for such a file")
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ArchsimInputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if len(data) > limit:  # it grew while we looked
        raise ArchsimInputError(f"cannot read {what} {p}: over archsim's limit of {limit:,} bytes for such a file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArchsimInputError(f"cannot read {p}: not a UTF-8 text file (byte {exc.start}); "
                                f"expected a YAML file") from None


def load_yaml(text: str, file: str) -> tuple[Any, Lines]:
    """Parse YAML text; return (data, {key path tuple: line number}). Data holds only dicts with
    string keys, lists, str, int, float, bool and None (a date stays the text it was written as)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in str(problem):
            problem = f"nested deeper than {MAX_DEPTH} levels ({problem})"
        raise SpecError([Problem(file, line, "", f"not valid YAML: {problem}")]) from None
    except RecursionError:  # the pure-Python composer recurses once per nesting level
        raise SpecError([Problem(file, None, "", f"not valid YAML: nested deeper than {MAX_DEPTH} levels")]) from None
    if node is None:
        return None, {}
    builder = _Builder(file)
    data = builder.build(node, (), 0)
    if builder.problems:
        raise SpecError(builder.problems)
    return data, builder.lines


class _Builder:
    """Turns composed YAML nodes into plain data, counting every value it makes, so an alias that
    expands exponentially, a recursive alias or deep nesting stops at a stated limit."""

    def __init__(self, file: str):
        self.file = file
        self.lines: Lines = {}
        self.problems: list[Problem] = []
        self.values = 0
        self.open: set[int] = set()  # collection nodes being built: an alias to one of them is recursive
        self.scalars = yaml.constructor.SafeConstructor()

    def _stop(self, node, message: str):
        raise SpecError([Problem(self.file, node.start_mark.line + 1, "", message)])

    def build(self, node, path: tuple, depth: int):
        self.values += 1
        if self.values > MAX_VALUES:
            self._stop(node, f"holds more than {MAX_VALUES:,} values once its anchors (&) and aliases (*) are "
                             "expanded; archsim reads spec files up to that size")
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if depth >= MAX_DEPTH:
            self._stop(node, f"nested deeper than {MAX_DEPTH} levels; archsim reads spec files up to that depth")
        if id(node) in self.open:
            self._stop(node, "a recursive alias: this value contains itself")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            return [self.build(v, path + (i,), depth + 1) for i, v in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def _mapping(self, node, path: tuple, depth: int) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(Problem(self.file, line, _join(path), "merge keys ('<<') are not supported; "
                                                                           "write the keys out"))
                continue
            if not isinstance(key, str):
                self.problems.append(Problem(self.file, line, _join(path), "keys must be strings"))
                continue
            if key in out:
                self.problems.append(Problem(self.file, line, _join(path + (key,)),
                                             "duplicate key (it appears earlier in the same section)"))
                continue
            out[key] = self.build(value_node, path + (key,), depth + 1)
            self.lines[path + (key,)] = line  # the key's line, not its block's
        return out

    def _scalar(self, node, path: tuple):
        if node.tag == _STR:  # most scalars (every key): no constructor needed
            return node.value
        try:
            value = self.scalars.construct_object(node)
        except yaml.YAMLError as exc:  # e.g. a bare '=' (YAML's 'value' tag), an unknown !tag
            self.problems.append(Problem(self.file, node.start_mark.line + 1, _join(path),
                                         f"not a valid YAML value: {getattr(exc, 'problem', None) or exc}"))
            return None
        except ValueError:  # an integer of more than 4,300 digits (Python's limit on int parsing)
            self.problems.append(Problem(self.file, node.start_mark.line + 1, _join(path),
                                         f"a number of {len(node.value):,} digits is not a value archsim reads"))
            return None
        if isinstance(value, (datetime.date, datetime.datetime)):
            return node.value  # a date is text to archsim: keep it as written
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            what = "binary data (!!binary)" if isinstance(value, bytes) else f"a {type(value).__name__}"
            self.problems.append(Problem(self.file, node.start_mark.line + 1, _join(path),
                                         f"{what} is not a value archsim reads; write a number or a string"))
            return None
        return value


def _join(path: tuple) -> str:
    return ".".join(str(p) for p in path)
