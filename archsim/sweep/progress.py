"""A one-line progress bar with rate and ETA, on stderr (no dependency for twenty lines).

On a terminal the line redraws in place at most ten times a second; into a
file or pipe it prints a plain line every ten percent, so logs stay short.
"""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, total: int, already: int = 0, stream=None, enabled: bool = True, width: int = 28):
        self.total, self.already = total, already
        self.done = 0  # points finished in this run
        self.failed = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > already
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._last_decile = -1

    def update(self, ok: bool = True) -> None:
        self.done += 1
        self.failed += not ok
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = self.already + self.done >= self.total
        if self.tty:
            if finished or now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self.line(now))
                self.stream.flush()
        else:
            decile = (self.already + self.done) * 10 // max(self.total, 1)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()

    def line(self, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        count = self.already + self.done
        frac = count / self.total if self.total else 1.0
        filled = int(frac * self.width)
        rate = self.done / elapsed
        left = self.total - count
        eta = _clock(left / rate) if rate > 0 else "?"
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {count}/{self.total} {frac:4.0%} "
                f"{rate:6.1f} pt/s  ETA {eta}{failed}   ")

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
