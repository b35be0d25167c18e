"""JIT options for every numba kernel in archsim, in one place (after PySDM's
backends/impl_numba/conf.py), and the lazy kernel sets of the task engine.

- cache=True: compiled machine code is stored on disk next to the module
  (__pycache__, or NUMBA_CACHE_DIR), so a second process skips compilation;
  `archsim warmup` compiles everything once.
- fastmath is off: reported numbers must not depend on reassociation.
- NUMBA_DISABLE_JIT=1 in the environment runs every kernel as plain Python
  (coverage, debugging); the tests pass either way (tests/test_jit_parity.py).

numba itself is imported only when a kernel is compiled: `import numba` and
loading cached machine code cost about 0.6 s, more than a small task graph
takes to simulate in plain Python, so the task engine runs small graphs with
the same kernel source interpreted (`kernel_set(module, compiled=False)`), and
large ones compiled. Both give the same cycles (tests/test_jit_parity.py).
"""
from __future__ import annotations

import types

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def njit(*args, **kwargs):
    """`numba.njit` with archsim's options; use as `@njit` or `@njit(...)` (imports numba)."""
    import numba

    options = {**JIT_OPTIONS, **kwargs}
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return numba.njit(**JIT_OPTIONS)(args[0])
    return numba.njit(*args, **options)


def kernel(fn):
    """Mark a plain function of a kernel module as a kernel: `kernel_set` compiles every marked function,
    each call to another marked function resolving to its compiled twin."""
    fn.archsim_kernel = True
    return fn


_COMPILED: dict[str, types.SimpleNamespace] = {}


def kernel_set(module, compiled: bool) -> types.SimpleNamespace:
    """The kernels of `module` as attributes: the plain functions, or numba dispatchers (compiled lazily on
    first call, from the disk cache when it holds them)."""
    names = [name for name, obj in vars(module).items() if getattr(obj, "archsim_kernel", False)]
    if not compiled:
        return types.SimpleNamespace(**{name: getattr(module, name) for name in names})
    cached = _COMPILED.get(module.__name__)
    if cached is None:
        import numba

        space = dict(vars(module))  # the kernels' globals: helpers resolve to their dispatchers in here
        for name in names:
            fn = getattr(module, name)
            twin = types.FunctionType(fn.__code__, space, name, fn.__defaults__, fn.__closure__)
            twin.__qualname__, twin.__module__ = fn.__qualname__, fn.__module__
            space[name] = numba.njit(**JIT_OPTIONS)(twin)
        cached = _COMPILED[module.__name__] = types.SimpleNamespace(**{name: space[name] for name in names})
    return cached



def _stamp_dir():
    import os
    from pathlib import Path

    return Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).resolve().parents[1] / "__pycache__")


def _stamp_key(sources) -> str:
    import hashlib

    import numba

    from archsim import __version__

    digest = hashlib.sha1(f"{__version__} numba {numba.__version__}".encode())
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()


class first_compile_notice:
    """Around the first compiled call of a kernel set: if the disk cache has not been filled for these kernel
    sources (a stamp file beside numba's cache), show a progress spinner with the elapsed time on a terminal
    (archsim.progress: nothing when piped or with --quiet) instead of staying silent for tens of seconds,
    and say how long it took; later runs show nothing."""

    def __init__(self, name: str, sources):
        self.name, self.sources = name, list(sources)

    def __enter__(self):
        import time

        from archsim.progress import enabled, spinner

        self.stamp = _stamp_dir() / f"archsim-kernels-{self.name.replace(' ', '-')}.stamp"
        try:
            self.key = _stamp_key(self.sources)
            self.fresh = not (self.stamp.is_file() and self.stamp.read_text() == self.key)
        except OSError:
            self.key, self.fresh = "", False
        self.shown = self.fresh and enabled()
        self.bar = spinner(f"compiling the {self.name} kernels (first run only)") if self.shown else None
        if self.bar is not None:
            self.bar.__enter__()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        import sys
        import time

        if self.bar is not None:
            self.bar.__exit__(exc_type, exc, tb)
        if exc_type is None and self.fresh:
            if self.shown:
                print(f"archsim: {self.name} kernels compiled in {time.perf_counter() - self.t0:.0f} s (cached on "
                      "disk; `archsim warmup` compiles every kernel ahead of time)", file=sys.stderr, flush=True)
            try:
                self.stamp.parent.mkdir(parents=True, exist_ok=True)
                self.stamp.write_text(self.key)
            except OSError:
                pass
        return False


def purge_stale_cache(folder, sources) -> None:
    """numba keys a cached kernel on its own source file only; kernels that call kernels of other modules
    (inlined or not) keep their old machine code when only a callee's file changes. Hash the `sources`
    (file names in `folder`) and, if the hash differs from the one stored with the cache, remove the
    folder's cache files so numba recompiles them on first use. Read-only installs skip the check."""
    import hashlib
    from pathlib import Path

    here = Path(folder)
    try:
        digest = hashlib.sha1()
        for name in sources:
            digest.update(name.encode() + b"\0" + (here / name).read_bytes())
        cache = here / "__pycache__"
        stamp = cache / "kernels.sha1"
        if stamp.is_file() and stamp.read_text() == digest.hexdigest():
            return
        cache.mkdir(exist_ok=True)
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass
