"""Progress bars for long work (sweeps, validation, a serving rate search, the first compile), on stderr.

One place decides whether to draw: only when stderr is a terminal and nothing asked for quiet (`--quiet`,
`ARCHSIM_QUIET=1`, or `set_quiet(True)`). Piped or redirected output gets nothing, so logs and JSON on
stdout stay clean. The library is rich (docs/dependencies.md says why); it is imported only when a bar
is actually drawn, so a quiet or piped run never loads it.

    with progress_bar(total=len(points), what="sweep points") as advance:
        for p in points:
            ...
            advance()                      # or advance(ok=False) for a failed item
    with spinner("compiling the task engine kernels (first run only)"):
        compile()                          # no known length: a pulsing bar and the elapsed time
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator

_QUIET = False


def set_quiet(quiet: bool) -> None:
    global _QUIET
    _QUIET = bool(quiet)


def enabled(stream=None) -> bool:
    """Draw progress? Only on a terminal, and not when asked for quiet."""
    if _QUIET or os.environ.get("ARCHSIM_QUIET", "") not in ("", "0"):
        return False
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _progress(transient: bool):
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(file=sys.stderr)
    return Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TextColumn("{task.fields[extra]}"), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=console, transient=transient)


@contextlib.contextmanager
def progress_bar(total: int | None, what: str, already: int = 0, transient: bool = False
                 ) -> Iterator[Callable[..., None]]:
    """A bar over `total` items (None: unknown) starting at `already`; yields `advance(ok=True, note="")`."""
    if not enabled() or (total is not None and total <= already):
        yield lambda ok=True, note="": None
        return
    failed = 0
    with _progress(transient) as bar:
        task = bar.add_task(what, total=total, completed=already, extra="")

        def advance(ok: bool = True, note: str = "") -> None:
            nonlocal failed
            failed += not ok
            extra = ", ".join(p for p in (f"{failed} failed" if failed else "", note) if p)
            bar.update(task, advance=1, extra=extra)

        yield advance


@contextlib.contextmanager
def spinner(what: str) -> Iterator[None]:
    """An indeterminate bar with the elapsed time, for work of unknown length (a compile); it disappears
    when the work ends."""
    if not enabled():
        yield
        return
    with _progress(transient=True) as bar:
        bar.add_task(what, total=None, extra="")
        yield


class Progress:
    """A counted bar as an object (for code that ticks from several places, like the mapping search):
    `update(ok)`, a `total` that may change while it runs, `close()`. Draws only when `enabled()` and
    `enabled` (the caller's --quiet); otherwise every call does nothing."""

    def __init__(self, total: int, already: int = 0, enabled: bool = True, what: str = "points"):
        self._total, self.done, self.failed = total, 0, 0
        self._bar = self._task = None
        if enabled and globals()["enabled"]() and total > already:
            self._bar = _progress(transient=False)
            self._bar.start()
            self._task = self._bar.add_task(what, total=total, completed=already, extra="")

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        self._total = value
        if self._bar is not None:
            self._bar.update(self._task, total=value)

    def update(self, ok: bool = True) -> None:
        self.done += 1
        self.failed += not ok
        if self._bar is not None:
            self._bar.update(self._task, advance=1, extra=f"{self.failed} failed" if self.failed else "")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
