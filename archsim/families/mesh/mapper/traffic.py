"""Bytes per on-wafer link of one decoder-layer region, for the report's heatmaps.

The emitter records every collective as (axis, cores per line, bytes, pattern);
each row (for x) or column (for y) of the region does the same, so a 1D profile
along the line is computed once and copied. Patterns:

- tree: every link inside each group of each K-tree level carries the message
  once (pipelined chains into the middle root);
- bcast: every link of the line carries the message once (multicast);
- gather: a link carries one message per sender beyond it (the hot spot next
  to the root is what makes gathers slow);
- shift: Cannon's 2-hop shifts, every link carries two blocks per round;
- span: broadcasts over whole rows/columns every round (SUMMA).
"""
from __future__ import annotations

import numpy as np

from archsim.families.mesh.mapper.costs import tree_groups


def _tree(n: int, levels: int) -> np.ndarray:
    out = np.zeros(max(0, n - 1))
    for members, span in tree_groups(n, levels):
        extent = (members - 1) * span  # links covered by one group's chain
        for start in range(0, n - 1, members * span):
            out[start:min(n - 1, start + extent)] += 1.0
    return out


def _gather(n: int) -> np.ndarray:
    root = n // 2
    c = np.arange(max(0, n - 1))
    return np.where(c < root, c + 1, n - 1 - c).astype(float)


def line_profile(pattern: str, n: int, levels: int, length: int) -> np.ndarray:
    """Messages per link along a line of `length` cores for collectives over groups of `n` cores."""
    n = max(1, min(n, length))
    if pattern == "tree":
        one = _tree(n, levels)
    elif pattern == "gather":
        one = _gather(n)
    elif pattern == "shift":
        one = np.full(n - 1, 2.0)
    else:  # bcast, span
        one = np.ones(n - 1)
    out = np.zeros(max(0, length - 1))
    for start in range(0, length - n + 1, n):  # segments of n cores side by side; no traffic between them
        out[start:start + n - 1] += one
    return out


def link_bytes(w: int, h: int, events, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """(bytes on east-west links, shape (h, w-1); bytes on north-south links, shape (h-1, w))."""
    along_x = np.zeros(max(0, w - 1))
    along_y = np.zeros(max(0, h - 1))
    for axis, n, nbytes, pattern in events:
        if axis == "x":
            along_x += nbytes * line_profile(pattern, n, levels, w)
        else:
            along_y += nbytes * line_profile(pattern, n, levels, h)
    return np.tile(along_x, (h, 1)), np.tile(along_y[:, None], (1, w))
