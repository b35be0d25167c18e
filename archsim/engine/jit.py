"""JIT options for every numba kernel in archsim, in one place (after PySDM's
backends/impl_numba/conf.py).

- cache=True: compiled machine code is stored on disk next to the module
  (__pycache__), so a second process skips compilation.
- fastmath is off: reported numbers must not depend on reassociation.
- NUMBA_DISABLE_JIT=1 in the environment runs every kernel as plain Python
  (coverage, debugging); the tests pass either way.
"""
from __future__ import annotations

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def njit(*args, **kwargs):
    """`numba.njit` with archsim's options; use as `@njit` or `@njit(...)`."""
    options = {**JIT_OPTIONS, **kwargs}
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return numba.njit(**JIT_OPTIONS)(args[0])
    return numba.njit(*args, **options)
