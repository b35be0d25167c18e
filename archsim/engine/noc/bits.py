"""Bit and index tricks shared by the kernels, usable with NUMBA_DISABLE_JIT=1 too."""
from __future__ import annotations

import numba
import numpy as np

from archsim.engine.jit import njit

if numba.config.DISABLE_JIT:
    def trailing_zeros(x):
        """Index of the lowest set bit of x (x != 0)."""
        x = int(x)
        return (x & -x).bit_length() - 1
else:
    from numba.cpython.unsafe.numbers import trailing_zeros  # noqa: F401  (an LLVM cttz intrinsic)


@njit("uint64(int64, int64, int64)", _nrt=False)
def ix(row, ncols, col):
    """Index of (row, col) in the 1-D view of a C-ordered (rows, ncols) array.

    Unsigned, so numba emits no negative-index wraparound; with `ncols` a
    module constant there is no stride to load either (state.py). One int64
    signature: the callers pass int8/int32/int64 row numbers, and without it
    numba compiled (and cached) a copy per type combination (66 of them).
    Not numba-inlined: that doubled the compile time of `_run`; LLVM inlines
    it anyway."""
    return np.uint64(row * ncols + col)


@njit("uint64(int64)", _nrt=False)
def iu(i):
    """A non-negative index as unsigned: no wraparound code."""
    return np.uint64(i)
