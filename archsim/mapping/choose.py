"""The one rule that picks a mapping among candidates, shared by the mappers' `auto` and `archsim search`.

A mapper's `auto` (the LPU's tensor-parallel degree, the wafer's micro-batch and prefill chunk) compares
a list of candidates by their simulated cost, and `archsim search` compares the points of a space by the
objective: both keep the candidate of least cost, the first listed on a tie, through this function, so a
search over the space `auto` explores (`KEY: auto` in a space file) finds what `auto` finds
(tests/test_search.py). The candidate lists come from each family's mapping schema (`auto_space`).
"""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def first_best(candidates: Iterable[T], cost: Callable[[T], float]) -> T:
    """The candidate of least cost; on a tie, the one listed first. ValueError if there is none."""
    best, best_cost = None, None
    for c in candidates:
        value = cost(c)
        if best_cost is None or value < best_cost:
            best, best_cost = c, value
    if best_cost is None:
        raise ValueError("first_best: no candidates")
    return best
