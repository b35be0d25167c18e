"""Where points run: in this process, on local worker processes, or on a Dask cluster.

Each executor takes a list of (key, config) pairs and yields result rows as
points finish, in whatever order they finish. Nothing else differs between
them; the caller writes each row to the database as it arrives.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

from archsim.errors import ArchsimInputError
from archsim.sweep.worker import run_point, run_points

# Points per message to a local worker. A message costs ~0.3 ms of CPU (pickling,
# pipes, futures): tools/bench_sweep.py measured a CPU overhead of 0.54 ms/point
# with one point per message and 0.31 with four (1,000 roofline points, -j 2).
# Batches this small keep "written as it finishes" true to within milliseconds.
MAX_BATCH = 4
IN_FLIGHT_PER_WORKER = 4  # batches queued ahead per worker: enough to never idle, little to cancel


class LostPoints(Exception):
    """Raised at the end of an executor when some points got no result (a worker died)."""

    def __init__(self, count: int, reason: str):
        self.count, self.reason = count, reason
        super().__init__(f"{count} point{'s' if count != 1 else ''} got no result: {reason}")


def run_inline(items: list) -> Iterator[dict]:
    for key, config in items:
        yield run_point(key, config)


# ---------------------------------------------------------------- local processes
def _init_worker() -> None:
    # Ctrl-C is the parent's to handle: it stops submitting and keeps what finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch_parent():  # a SIGKILLed parent must not leave workers behind
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()


def _batches(items: list, jobs: int) -> Iterator[list]:
    size = max(1, min(MAX_BATCH, len(items) // (jobs * 8) or 1))
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _context():
    """fork where there is one (POSIX): workers start in milliseconds with archsim imported
    and see everything registered in this process (a mapper defined in a script, say).
    forkserver or spawn would start them bare."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


def run_local(items: list, jobs: int) -> Iterator[dict]:
    """Run on `jobs` worker processes. The workers start before this returns, so nothing
    the caller opens later (the database) is inherited by them."""
    import archsim.pipeline  # noqa: F401  (imported once here, inherited by forked workers)

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_init_worker)
    batches = _batches(items, jobs)
    pending: set = set()

    def refill():
        while len(pending) < jobs * IN_FLIGHT_PER_WORKER:
            batch = next(batches, None)
            if batch is None:
                return
            try:
                future = pool.submit(run_points, batch)
            except BrokenProcessPool:  # a worker died since the last result came back: these get no row
                raise LostPoints(len(batch), "a worker process died (BrokenProcessPool)") from None
            future.size = len(batch)
            pending.add(future)

    early = None
    try:
        refill()
    except LostPoints as exc:  # the pool broke while filling: run what was submitted, count the rest
        early = exc
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    return _drain(pool, pending, refill, batches, early)


def _drain(pool, pending: set, refill, batches, early: LostPoints | None = None) -> Iterator[dict]:
    lost, reason = (early.count, early.reason) if early else (0, "")
    finished = False
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                try:
                    rows = future.result()
                except Exception as exc:  # BrokenProcessPool: a worker died (OOM killer, a crash)
                    lost += future.size
                    reason = f"a worker process died ({type(exc).__name__})"
                    continue
                yield from rows
            try:
                if not lost:
                    refill()
            except LostPoints as exc:
                lost, reason = lost + exc.count, exc.reason
            if lost:
                lost += sum(f.size for f in pending) + sum(len(b) for b in batches)
                pending.clear()
                raise LostPoints(lost, reason)
        if lost:  # the pool broke while the first batches were submitted, and none were pending
            raise LostPoints(lost + sum(len(b) for b in batches), reason)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # Ctrl-C (or a lost worker): stop now; points in flight were not written and rerun on resume
            _stop(pool)


# Seconds to wait for a terminated worker to exit.
STOP_TIMEOUT_S = 2.0


def _stop(pool) -> None:
    """Stop a pool without waiting for the points its workers are running (waiting took 23 s after
    Ctrl-C): cancel what is queued, terminate the workers. Rows already yielded are in the database."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown clears it
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(STOP_TIMEOUT_S)


# ---------------------------------------------------------------- Dask
def dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ArchsimInputError("--scheduler needs Dask: pip install 'archsim[dask]' "
                                "(dask[distributed])") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ArchsimInputError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def run_dask(items: list, client) -> Iterator[dict]:
    """Run on the workers of a Dask cluster. A worker lost mid-sweep has its points rerun
    elsewhere by the scheduler; a point that kills several workers in turn is given up."""
    from distributed import as_completed

    from archsim.family import plugin_specs

    keys = [f"archsim-point-{key}" for key, _ in items]
    # The cluster's workers were started apart from this process: they load its plugins themselves
    # (a path must then exist on the workers too; an installed plugin's module name always does).
    futures = client.map(run_point, [k for k, _ in items], [c for _, c in items], key=keys, pure=False,
                         plugins=plugin_specs())
    lost, reason = 0, ""
    try:
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # KilledWorker, CancelledError: no result for this point
                lost += 1
                reason = f"{type(exc).__name__}: {exc}"
                continue
            future.release()
            yield row
    finally:
        client.cancel([f for f in futures if not f.done()])
    if lost:
        raise LostPoints(lost, reason)


def describe(jobs: int, scheduler: str | None) -> str:
    if scheduler:
        return f"Dask scheduler {scheduler}"
    return "this process" if jobs == 1 else f"{jobs} local processes"


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def points_iter(items: Iterable, jobs: int, client=None) -> Iterator[dict]:
    items = list(items)
    if client is not None:
        return run_dask(items, client)
    if jobs <= 1 or len(items) <= 1:
        return run_inline(items)
    return run_local(items, min(jobs, len(items)))

