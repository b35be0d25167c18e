"""Memoized iteration costs on a grid, filled lazily and interpolated.

Every scheduled iteration is summarized by three integers (docs/serving.md):
P = prefill tokens scheduled in it, D = decode sequences in it, C = cached context tokens its
sequences attend to. A caller-supplied `cost_fn(P, D, C) -> (seconds, dynamic_joules)` prices it.

Calling cost_fn for every iteration is too slow (an hour of traffic has hundreds of thousands), so costs
live on a grid over (T, D, C), where T = P + q D is the number of tokens the step runs through its linear
layers (q tokens per decode: 1, or k + 1 for speculative verify steps). A GEMM's time is a step function of
T (one more wave of thread-block tiles each time its rows cross a tile multiple), so T has its own axis,
token-aligned (token_axis: every 16 tokens to 512, then every 64, plus the scheduler's token budget) and
read at the point at or above T: an iteration at the budget, which is where chunked prefill puts nearly all
of them, is read at exactly its T. D and C have log-spaced axes and are interpolated multilinearly.

The T axis's first point, 0, is the plane of decode-only iterations (P = 0): there T = q D follows from D,
so that plane is indexed by D and C alone. Every other grid point (T, D, C) is the iteration with
P = T - q D prefill tokens beside D decodes (at least 1: a corner whose D leaves no room for a prefill
token is priced at P = 1). An iteration is exact at grid points; between them, D and C are blended at the
iteration's own token count (rounded up), so the linear layers' step is never blended across.

Cells are filled lazily: when the numba loop needs a corner that is not filled, it stores its state and
returns the corner indices; Python calls cost_fn for them and re-enters the loop, which resumes where it
stopped (loop.py).

`direct=True` in simulate_requests() bypasses the grid and calls cost_fn for every iteration (for
measuring the interpolation error).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archsim.engine.jit import njit
from archsim.errors import ArchsimInputError

DEFAULT_POINTS_PER_OCTAVE = 4


# The token axis: every 16 tokens up to 512, then every 64 (and the limit, and the scheduler's budget). A GEMM's
# time steps up when its rows cross a multiple of its thread-block tile (64, 128 or 256 rows: one more wave of
# tiles), so between two of these points the time is flat but for the small per-token part; the lookup takes
# the point at or above T (not a linear blend across a step, which was 10-17% off just past a step:
# docs/serving.md).
TOKEN_AXIS_FINE, TOKEN_AXIS_FINE_UNTIL, TOKEN_AXIS_STEP = 16, 512, 64


def token_axis(maximum: int, exact=()) -> np.ndarray:
    """0, 1, 2, 4, 8, then multiples of 16 up to 512 and of 64 beyond, `maximum` itself, and the `exact`
    points (token counts a scheduler produces often, such as its token budget) up to `maximum`."""
    if maximum < 1:
        return np.zeros(1, dtype=np.int64)
    fine = np.arange(TOKEN_AXIS_FINE, min(maximum, TOKEN_AXIS_FINE_UNTIL) + 1, TOKEN_AXIS_FINE)
    coarse = np.arange(TOKEN_AXIS_FINE_UNTIL + TOKEN_AXIS_STEP, maximum + 1, TOKEN_AXIS_STEP)
    extra = np.asarray([int(x) for x in exact if 0 < int(x)], dtype=np.int64)
    points = np.concatenate([[0, 1, 2, 4, 8], fine, coarse, [maximum], extra]).astype(np.int64)
    return np.unique(points[points <= maximum])


def log_axis(maximum: int, points_per_octave: int) -> np.ndarray:
    """0, then integers from 1 to `maximum` spaced `points_per_octave` per doubling (maximum included)."""
    if maximum < 1:
        return np.zeros(1, dtype=np.int64)
    octaves = np.log2(maximum)
    n = max(2, int(np.ceil(octaves * points_per_octave)) + 1)
    points = np.unique(np.round(np.geomspace(1.0, float(maximum), n)).astype(np.int64))
    points[-1] = maximum
    return np.concatenate([np.zeros(1, dtype=np.int64), np.unique(points)])


def _with(axis: np.ndarray, points) -> np.ndarray:
    """`axis` with the `points` (between its first and last point) added."""
    extra = [int(x) for x in points if axis[0] < int(x) < axis[-1]]
    return np.unique(np.concatenate([axis, np.asarray(extra, dtype=np.int64)])) if extra else axis


@dataclass
class IterationTable:
    """The grid: axes (T tokens, D decodes, C cached tokens) and the lazily filled seconds and joules at every
    grid point; `decode_tokens` = q, the tokens one decode runs (T = P + q D)."""

    t_axis: np.ndarray
    d_axis: np.ndarray
    c_axis: np.ndarray
    decode_tokens: int = 1
    seconds: np.ndarray = field(init=False)
    joules: np.ndarray = field(init=False)
    filled: np.ndarray = field(init=False)  # int64 0/1 per grid point
    fills: int = 0  # cost_fn calls made to fill it

    def __post_init__(self):
        for name in ("t_axis", "d_axis", "c_axis"):
            axis = np.ascontiguousarray(getattr(self, name), dtype=np.int64)
            if axis.ndim != 1 or axis.size < 1 or axis[0] != 0 or np.any(np.diff(axis) <= 0):
                raise ArchsimInputError(f"iteration table {name} must start at 0 and increase, got {axis}")
            setattr(self, name, axis)
        if isinstance(self.decode_tokens, bool) or int(self.decode_tokens) < 1:
            raise ArchsimInputError(f"iteration table decode_tokens must be at least 1, got {self.decode_tokens!r}")
        self.decode_tokens = int(self.decode_tokens)
        shape = (self.t_axis.size, self.d_axis.size, self.c_axis.size)
        self.seconds = np.zeros(shape)
        self.joules = np.zeros(shape)
        self.filled = np.zeros(shape, dtype=np.int64)

    @classmethod
    def for_limits(cls, max_t: int, max_d: int, max_c: int,
                   points_per_octave: int = DEFAULT_POINTS_PER_OCTAVE, *, decode_tokens: int = 1,
                   exact_tokens=(), exact_decodes=()) -> "IterationTable":
        """A table for iterations of at most max_t tokens, max_d decodes and max_c cached tokens; the token
        axis also has a point at each of `exact_tokens`, the decode axis at each of `exact_decodes`."""
        if points_per_octave < 1:
            raise ArchsimInputError(f"table points_per_octave must be at least 1, got {points_per_octave}")
        return cls(token_axis(max_t, exact_tokens), _with(log_axis(max_d, points_per_octave), exact_decodes),
                   log_axis(max_c, points_per_octave), decode_tokens)

    @property
    def limits(self) -> tuple[int, int, int]:
        return int(self.t_axis[-1]), int(self.d_axis[-1]), int(self.c_axis[-1])

    def covers(self, max_t: int, max_d: int, max_c: int, decode_tokens: int = 1, exact_tokens=(),
               exact_decodes=()) -> bool:
        """Whether iterations up to these limits can be priced here, with these points on the axes."""
        return (max_t <= self.t_axis[-1] and max_d <= self.d_axis[-1] and max_c <= self.c_axis[-1]
                and decode_tokens == self.decode_tokens
                and {int(x) for x in exact_tokens if 0 < x <= max_t} <= set(self.t_axis.tolist())
                and {int(x) for x in exact_decodes if 0 < x <= max_d} <= set(self.d_axis.tolist()))

    def point(self, flat: int) -> tuple[int, int, int]:
        """The iteration (P, D, C) that grid point `flat` stands for."""
        i, j, k = np.unravel_index(int(flat), self.seconds.shape)
        d, c = int(self.d_axis[j]), int(self.c_axis[k])
        p = 0 if i == 0 else max(1, int(self.t_axis[i]) - self.decode_tokens * d)
        return p, d, c

    def fill(self, flat_indices, cost_fn) -> None:
        """Call cost_fn at each grid point not yet filled (an empty iteration costs nothing)."""
        for flat in flat_indices:
            idx = np.unravel_index(int(flat), self.seconds.shape)
            if self.filled[idx]:
                continue
            p, d, c = self.point(flat)
            seconds, joules = (0.0, 0.0) if p == 0 and d == 0 else _checked(cost_fn(p, d, c), p, d, c)
            self.seconds[idx], self.joules[idx], self.filled[idx] = seconds, joules, 1
            self.fills += 1 if (p or d) else 0

    def fill_all(self, cost_fn) -> None:
        self.fill(range(self.seconds.size), cost_fn)

    def lookup(self, p: int, d: int, c: int) -> tuple[float, float]:
        """Interpolated (seconds, joules) of iteration (p, d, c); every corner it needs must be filled
        (fill or fill_all). For tests and tools; the serving loop interpolates in numba."""
        need = np.zeros(8, dtype=np.int64)
        out = np.zeros(2)
        n = _interpolate(self.t_axis, self.d_axis, self.c_axis, self.seconds, self.joules, self.filled,
                         p, d, c, self.decode_tokens, need, out)
        if n < 0:
            raise ArchsimInputError(f"iteration ({p}, {d}, {c}) is outside the table's limits {self.limits}")
        if n > 0:
            raise ArchsimInputError(f"iteration ({p}, {d}, {c}) needs {n} unfilled corners")
        return float(out[0]), float(out[1])

    def stats(self) -> dict:
        return {"points": int(self.seconds.size), "filled": int(self.filled.sum()), "cost_fn_calls": self.fills,
                "t_axis": self.t_axis.tolist(), "d_axis": self.d_axis.tolist(), "c_axis": self.c_axis.tolist(),
                "decode_tokens": self.decode_tokens}


def _checked(value, p, d, c) -> tuple[float, float]:
    try:
        seconds, joules = value
        seconds, joules = float(seconds), float(joules)
    except (TypeError, ValueError):
        raise ArchsimInputError(f"cost_fn({p}, {d}, {c}) must return (seconds, joules), got {value!r}") from None
    if not (np.isfinite(seconds) and seconds >= 0 and np.isfinite(joules) and joules >= 0):
        raise ArchsimInputError(f"cost_fn({p}, {d}, {c}) returned ({seconds}, {joules}); "
                                "both must be finite and non-negative")
    return seconds, joules


# ---------------------------------------------------------------- kernels
@njit
def _locate(axis, x):
    """(i, frac) with axis[i] <= x < axis[i + 1] and frac = (x - axis[i]) / (axis[i + 1] - axis[i]);
    frac is 0.0 exactly at a grid point. i = -1 when x is outside the axis."""
    n = axis.shape[0]
    if x < axis[0] or x > axis[n - 1]:
        return -1, 0.0
    if x == axis[n - 1]:
        return n - 1, 0.0
    lo, hi = 0, n - 1  # axis[lo] <= x < axis[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if axis[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo, (x - axis[lo]) / (axis[lo + 1] - axis[lo])


@njit
def _locate_up(axis, x):
    """(i, 0.0) with axis[i] the first point at or above x; i = -1 when x is outside the axis."""
    n = axis.shape[0]
    if x < axis[0] or x > axis[n - 1]:
        return -1, 0.0
    lo, hi = 0, n - 1  # axis[lo] < x <= axis[hi], unless x is axis[0]
    if x <= axis[0]:
        return 0, 0.0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if axis[mid] < x:
            lo = mid
        else:
            hi = mid
    return hi, 0.0


@njit
def _lerp_c(tab, i, j, k, fc):
    v = tab[i, j, k]
    if fc == 0.0:
        return v
    return v + (tab[i, j, k + 1] - v) * fc


@njit
def _lerp_dc(tab, i, j, fd, k, fc):
    v = _lerp_c(tab, i, j, k, fc)
    if fd == 0.0:
        return v
    return v + (_lerp_c(tab, i, j + 1, k, fc) - v) * fd


@njit
def _interpolate(t_axis, d_axis, c_axis, seconds, joules, filled, p, d, c, q, need, out):
    """Interpolated (seconds, joules) of iteration (p, d, c) into out[0], out[1]: in the decode-only plane
    (index 0) when p = 0, else at the token point at or above T = p + q d (token_axis); multilinear in D and C
    (C first, then D; a zero fraction reads only the lower corner).

    Returns 0 on success, -1 if (p, d, c) is outside the grid, or the number n > 0 of
    corners (with a nonzero weight) that are not filled yet, their flat indices in need[:n]."""
    if p == 0:
        i = 0
    else:
        i, _ = _locate_up(t_axis, p + q * d)
    j, fd = _locate(d_axis, d)
    k, fc = _locate(c_axis, c)
    if i < 0 or j < 0 or k < 0:
        return -1
    nd, nc = d_axis.shape[0], c_axis.shape[0]
    n = 0
    for b in range(2 if fd > 0.0 else 1):
        for e in range(2 if fc > 0.0 else 1):
            if filled[i, j + b, k + e] == 0:
                need[n] = (i * nd + (j + b)) * nc + (k + e)
                n += 1
    if n > 0:
        return n
    out[0] = _lerp_dc(seconds, i, j, fd, k, fc)
    out[1] = _lerp_dc(joules, i, j, fd, k, fc)
    return 0
