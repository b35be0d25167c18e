"""Constraints that drop sweep points: small boolean expressions over a point.

    constraints:
      - scenario.batch * scenario.context_len <= 65536
      - not (chip == "wse3" and scenario.phase == "prefill")
      - chip.hbm.bandwidth >= 2e12          # chip axes compare as parsed numbers (bytes/s)

Names are the point's values: `chip`, `workload`, `mapper`, `scenario.<field>`,
`options.<name>`, and every chip or system axis (`chip.hbm.bandwidth`,
parsed to base units). Only literals, names, arithmetic, comparisons,
`and`/`or`/`not`, `in` and lists are allowed: the expression is walked, never
passed to eval().
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


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
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConstraintError(f"not a valid expression: {exc.msg}") from None
    for node in ast.walk(tree.body):
        _check_node(node)
    names: list[str] = []
    _collect_names(tree.body, names)
    return Constraint(text, tree, tuple(names))


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
        return _BINARY[type(node.op)](_eval(node.left, env), _eval(node.right, env))
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
