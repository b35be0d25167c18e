"""One sweep at a time per results database: an advisory lock on `DB.lock`.

Two sweeps on one database both ran before (the second redid 33 of 36 points
while the first was writing them). The lock is `flock` on a file beside the
database, held for the whole sweep: the operating system releases it when the
process ends, killed or not, so a stale lock cannot outlive its sweep. Reading
results (`archsim results`) takes no lock. Where there is no `fcntl`
(Windows), sweeps are not locked.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from archsim.errors import ArchsimInputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_HELD: dict[str, int] = {}  # lock file -> depth, so the command and run_sweep can both take it


@contextmanager
def sweep_lock(db_path):
    """Hold the sweep lock of the database at `db_path`; ArchsimInputError if another process holds it."""
    path = Path(f"{db_path}.lock")
    key = str(path.resolve())
    if fcntl is None or key in _HELD:
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield
        finally:
            _HELD[key] -= 1
            if not _HELD[key]:
                del _HELD[key]
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ArchsimInputError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ArchsimInputError(f"another archsim sweep (process {holder}) is writing {db_path}; wait for it "
                                    "to finish, or give --db another file") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
