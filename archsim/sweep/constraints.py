"""Constraints that drop sweep points: small boolean expressions over a point.

    constraints:
      - scenario.batch * scenario.context_len <= 65536
      - not (chip == "wse3" and scenario.phase == "prefill")
      - chip.hbm.bandwidth >= 2e12          # chip axes compare as parsed numbers (bytes/s)

Names are the point's values: `chip`, `workload`, `mapper`, `scenario.<field>`,
`options.<name>`, and every chip or system axis (`chip.hbm.bandwidth`,
parsed to base units). Only literals, names, arithmetic, comparisons,
`and`/`or`/`not`, `in` and lists are allowed: the expression is walked, never
passed to eval(). It is bounded too, so a constraint cannot hang or exhaust
memory: its text, depth and size are limited when it is parsed, and every
operation checks its operands first (integers of at most 1,024 bits, strings
and lists of at most 10,000 items, no `%` on strings).
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


MAX_TEXT = 1000  # characters of one constraint
MAX_DEPTH = 32  # nesting of its expression tree
MAX_NODES = 500  # nodes of its expression tree
MAX_INT_BITS = 1024  # integers beyond 2**1024 (floats overflow there too)
MAX_ITEMS = 10_000  # a string or list a constraint builds


class ConstraintError(ValueError):
    """A constraint that cannot be parsed or evaluated; the message says why."""


@dataclass(frozen=True)
class Constraint:
    text: str
    tree: ast.Expression
    names: tuple[str, ...]  # dotted names it reads, in order of appearance

    def holds(self, env: dict) -> bool:
        try:
            value = _eval(self.tree.body, env)
        except ConstraintError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ConstraintError(f"cannot evaluate {self.text!r}: {exc}") from None
        if not isinstance(value, bool):
            raise ConstraintError(f"{self.text!r} must be true or false, got {value!r}")
        return value


def parse_constraint(text: str) -> Constraint:
    if len(text) > MAX_TEXT:
        raise ConstraintError(f"is {len(text):,} characters long; a constraint has at most {MAX_TEXT:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConstraintError(f"not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError):  # CPython's parser gives up on very deep nesting
        raise ConstraintError(f"is nested too deeply; a constraint nests at most {MAX_DEPTH} levels") from None
    nodes = 0
    for node in ast.walk(tree.body):
        _check_node(node)
        nodes += 1
    if nodes > MAX_NODES:
        raise ConstraintError(f"has {nodes:,} parts; a constraint has at most {MAX_NODES}")
    if _depth(tree.body) > MAX_DEPTH:
        raise ConstraintError(f"is nested too deeply; a constraint nests at most {MAX_DEPTH} levels")
    names: list[str] = []
    _collect_names(tree.body, names)
    return Constraint(text, tree, tuple(names))


def _depth(node) -> int:
    """Depth of the expression tree, without recursion (the tree may be deeper than Python's stack)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _collect_names(node, out: list[str]) -> None:
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name not in out:
            out.append(name)
        return
    for child in ast.iter_child_nodes(node):
        _collect_names(child, out)


_ALLOWED = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.BinOp, ast.Compare, ast.Constant, ast.Name,
            ast.Attribute, ast.Load, ast.List, ast.Tuple, *_BINARY, *_UNARY, *_COMPARE)


def _check_node(node) -> None:
    if not isinstance(node, _ALLOWED):
        raise ConstraintError(f"{type(node).__name__.lower()} is not allowed; use names, numbers, strings, "
                              "arithmetic, comparisons, and/or/not, in")
    if isinstance(node, ast.Attribute) and _dotted(node) is None:
        raise ConstraintError("attributes are only allowed in dotted names like scenario.batch")


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _eval(node, env: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name not in env:
            raise ConstraintError(f"unknown name {name!r}")
        return env[name]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, env) for e in node.elts]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        _check_operands(node.op, left, right)
        return _bounded(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.BoolOp):
        want = isinstance(node.op, ast.Or)  # `or` stops at the first true, `and` at the first false
        for value in node.values:
            if bool(_eval(value, env)) == want:
                return want
        return not want
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ConstraintError(f"{type(node).__name__} is not allowed")  # pragma: no cover - _check_node


def _size(value) -> int | None:
    return len(value) if isinstance(value, (str, list)) else None


def _check_operands(op, left, right) -> None:
    """Refuse, before computing it, an operation whose result would be huge (9**9**9**9, 'a' * 10**10)."""
    if isinstance(op, ast.Pow) and isinstance(left, (int, float)) and isinstance(right, (int, float)):
        magnitude = abs(float(left)) if not isinstance(left, int) else abs(left)
        if magnitude > 1 and right > 0 and right * math.log2(magnitude) > MAX_INT_BITS:
            raise ConstraintError(f"{left!r} ** {right!r} is too large (more than 2**{MAX_INT_BITS})")
    if isinstance(op, ast.Mult):
        for seq, times in ((left, right), (right, left)):
            if _size(seq) is not None and isinstance(times, int) and not isinstance(times, bool) \
                    and _size(seq) * max(times, 0) > MAX_ITEMS:
                raise ConstraintError(f"repeating a {type(seq).__name__} {times!r} times makes more than "
                                      f"{MAX_ITEMS:,} items")
    if isinstance(op, ast.Mod) and isinstance(left, str):
        raise ConstraintError("% on a string (formatting) is not allowed")
    if isinstance(op, ast.Add) and _size(left) is not None and _size(right) is not None \
            and _size(left) + _size(right) > MAX_ITEMS:
        raise ConstraintError(f"joining them makes more than {MAX_ITEMS:,} items")


def _bounded(value):
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise ConstraintError(f"a number beyond 2**{MAX_INT_BITS} is not allowed")
    return value
