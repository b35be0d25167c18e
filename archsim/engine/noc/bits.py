"""Bit tricks shared by the kernels, usable with NUMBA_DISABLE_JIT=1 too."""
from __future__ import annotations

import numba

if numba.config.DISABLE_JIT:
    def trailing_zeros(x):
        """Index of the lowest set bit of x (x != 0)."""
        x = int(x)
        return (x & -x).bit_length() - 1
else:
    from numba.cpython.unsafe.numbers import trailing_zeros  # noqa: F401  (an LLVM cttz intrinsic)
