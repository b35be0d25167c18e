"""Stale numba cache guard for the network kernels.

numba keys a cached kernel on its own source file only; the kernels here are
inlined across modules (loop._run inlines router, allocators and terminal), so
an edit of terminal.py alone would leave the old machine code of _run in use.
At import, the sources of this package are hashed and, if the hash differs
from the one stored with the cache, this package's cache files are removed
(numba recompiles them on first use). Read-only installs skip the check.
"""
from __future__ import annotations

from pathlib import Path

from archsim.engine.jit import purge_stale_cache

_HERE = Path(__file__).resolve().parent
# the modules whose code ends up in compiled kernels
_KERNEL_SOURCES = ("bits.py", "state.py", "allocators.py", "router.py", "terminal.py", "loop.py",
                   "messages.py", "synthetic.py", "../jit.py")


def purge_stale_kernel_cache() -> None:
    purge_stale_cache(_HERE, _KERNEL_SOURCES)


_NOTICED: set[str] = set()


def compile_notice(path: str):
    """Around the first call of one compiled path of the network kernel in a process ('synthetic traffic' or
    'message traces'): says on stderr when the disk cache is empty and the kernel compiles (first run only)."""
    import contextlib

    from archsim.engine.jit import first_compile_notice

    if path in _NOTICED:
        return contextlib.nullcontext()
    _NOTICED.add(path)
    return first_compile_notice(f"network ({path})", [_HERE / name for name in _KERNEL_SOURCES])
