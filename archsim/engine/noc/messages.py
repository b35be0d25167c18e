"""Trace-driven simulation: messages with sizes, release times and dependencies.

This is the entry point for mappers and the engine (`--fidelity cycle`): give
a `MessageTrace` (source, destination, size in flits, earliest cycle, and the
messages each one waits for) and get back, per message, the cycle it became
ready, the cycle its first flit entered the network and the cycle its last
flit arrived. A message is split into packets of at most `max_packet_flits`
flits (wormhole: one packet holds a VC from head to tail); it becomes ready at
max(earliest, arrival of its last dependency + delay) and is queued at its
source behind earlier-ready messages (ties by message id). `delay` stands for
work between receiving and sending (a core's software, an add) that is not
part of the network.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from archsim.engine.kernels import topological_order
from archsim.engine.noc.config import NocConfig
from archsim.engine.noc.loop import STOP_ALL_DELIVERED, _run
from archsim.engine.noc.state import (flat, M_ATIME, M_DELAY, M_EARLIEST, M_FIRST, M_LEFT, M_LEN, M_NDEPS, M_NPK,
                                      M_READY, P, PK_ATIME, PK_DST, PK_ITIME, PK_LEN, PK_MSG,
                                      PK_NFL, PK_SRC, S_DONE_MSGS, check_state_size, config_vector,
                                      new_net_state, new_traffic)
from archsim.engine.noc.terminal import MODE_TRACE, SP_LEN
from archsim.errors import ArchsimInputError

_CHUNK = 1 << 22


@dataclass(frozen=True, eq=False)
class MessageTrace:
    """Messages as arrays of equal length; dependencies in CSR form: message i
    waits for every message in ``dep_idx[dep_ptr[i]:dep_ptr[i + 1]]``, and is
    ready `delay[i]` cycles after the last of them arrived (None: 0)."""

    src: np.ndarray
    dst: np.ndarray
    size_flits: np.ndarray
    earliest: np.ndarray
    dep_ptr: np.ndarray
    dep_idx: np.ndarray
    delay: np.ndarray | None = None

    def __post_init__(self):
        if self.delay is None:
            object.__setattr__(self, "delay", np.zeros(np.shape(self.src), np.int64))

    @staticmethod
    def from_arrays(src, dst, size_flits=1, earliest=0, deps=None, delay=0) -> "MessageTrace":
        """`deps`: None, or one sequence of message ids per message; `delay`:
        cycles from the arrival of the last dependency to ready (scalar or per message)."""
        src = np.asarray(src, np.int64).ravel()
        n = src.size
        dst = np.asarray(dst, np.int64).ravel()
        size = np.broadcast_to(np.asarray(size_flits, np.int64), (n,)).copy()
        earliest = np.broadcast_to(np.asarray(earliest, np.int64), (n,)).copy()
        if deps is None:
            ptr, idx = np.zeros(n + 1, np.int64), np.zeros(0, np.int64)
        else:
            if len(deps) != n:
                raise ArchsimInputError(f"MessageTrace: deps has {len(deps)} entries for {n} messages.")
            ptr = np.zeros(n + 1, np.int64)
            ptr[1:] = np.cumsum([len(d) for d in deps])
            idx = np.fromiter((j for d in deps for j in d), np.int64, int(ptr[-1]))
        delay = np.broadcast_to(np.asarray(delay, np.int64), (n,)).copy()
        return MessageTrace(src, dst, size, earliest, ptr, idx, delay)

    def __len__(self) -> int:
        return int(self.src.size)

    def check(self, cfg: NocConfig) -> None:
        n = len(self)
        problems = []
        for name in ("dst", "size_flits", "earliest", "delay"):
            if getattr(self, name).shape != (n,):
                problems.append(f"'{name}' has shape {getattr(self, name).shape}, expected ({n},)")
        if self.dep_ptr.shape != (n + 1,) or (n and self.dep_ptr[-1] != self.dep_idx.size):
            problems.append("dep_ptr must have one entry per message plus one, ending at len(dep_idx)")
        if problems:
            raise ArchsimInputError("MessageTrace: " + "; ".join(problems) + ".")
        for name, arr, lo, hi in (("src", self.src, 0, cfg.nodes - 1), ("dst", self.dst, 0, cfg.nodes - 1),
                                  ("size_flits", self.size_flits, 1, 2**30),
                                  ("earliest", self.earliest, 0, 2**60),
                                  ("delay", self.delay, 0, 2**40),
                                  ("dep_idx", self.dep_idx, 0, n - 1)):
            bad = np.flatnonzero((arr < lo) | (arr > hi))
            if bad.size:
                raise ArchsimInputError(
                    f"MessageTrace: '{name}'[{bad[0]}] = {arr[bad[0]]} is outside [{lo}, {hi}]"
                    f" ({bad.size} such entries; mesh has {cfg.nodes} nodes).")
        if n and topological_order(self.dep_ptr.astype(np.int64), self.dep_idx.astype(np.int64),
                                   np.empty(n, np.int64)) < n:  # Kahn's algorithm reached fewer than n
            raise ArchsimInputError("MessageTrace: the dependencies contain a cycle.")


class MessageTraceBuilder:
    """Append messages one at a time; `add` returns the new message's id."""

    def __init__(self):
        self._src, self._dst, self._size, self._earliest, self._deps = [], [], [], [], []
        self._delay = []

    def add(self, src: int, dst: int, size_flits: int = 1, earliest: int = 0, after=(), delay: int = 0) -> int:
        """`delay`: cycles between the arrival of the last message in `after` and this one being ready."""
        self._delay.append(delay)
        self._src.append(src)
        self._dst.append(dst)
        self._size.append(size_flits)
        self._earliest.append(earliest)
        self._deps.append(tuple(after))
        return len(self._src) - 1

    def build(self) -> MessageTrace:
        return MessageTrace.from_arrays(self._src, self._dst, self._size, self._earliest, self._deps, self._delay)


@dataclass(frozen=True, eq=False)
class MessageResult:
    """Per-message cycles (int64 arrays; -1 where `max_cycles` stopped the run
    first) and run totals: `cycles` simulated (the last arrival + 1)."""

    ready_cycle: np.ndarray
    inject_cycle: np.ndarray
    arrival_cycle: np.ndarray
    cycles: int
    wall_s: float
    routers: int

    @property
    def latency_cycles(self) -> np.ndarray:
        return self.arrival_cycle - self.ready_cycle

    @property
    def makespan_cycles(self) -> int:
        """Cycle of the last arrival (the engine's makespan); 0 for no messages."""
        return int(self.arrival_cycle.max()) if self.arrival_cycle.size else 0

    @property
    def router_cycles_per_s(self) -> float:
        return self.routers * self.cycles / self.wall_s if self.wall_s > 0 else float("inf")


def _packetize(trace: MessageTrace, max_packet_flits: int | None):
    """Per message its first packet and packet count; per packet its message and flits."""
    size = trace.size_flits
    if max_packet_flits is None:
        npk = np.ones(len(trace), np.int64)
    else:
        npk = (size + max_packet_flits - 1) // max_packet_flits
    first = np.zeros(len(trace), np.int64)
    first[1:] = np.cumsum(npk)[:-1]
    msg_of = np.repeat(np.arange(len(trace)), npk)
    if max_packet_flits is None:
        return first, npk, msg_of, size.copy()
    nfl = np.full(msg_of.size, max_packet_flits, np.int64)
    nfl[first + npk - 1] = size - (npk - 1) * max_packet_flits
    return first, npk, msg_of, nfl


def simulate_messages(cfg: NocConfig, trace: MessageTrace, *, max_packet_flits: int | None = None,
                      max_cycles: int | None = None) -> MessageResult:
    """Run `trace` on the mesh until every message has arrived (or `max_cycles`)."""
    from archsim.engine.noc._cache import compile_notice

    with compile_notice("message traces"):
        return _simulate_messages(cfg, trace, max_packet_flits=max_packet_flits, max_cycles=max_cycles)


def _simulate_messages(cfg: NocConfig, trace: MessageTrace, *, max_packet_flits: int | None = None,
                       max_cycles: int | None = None) -> MessageResult:
    trace.check(cfg)
    if max_packet_flits is not None and max_packet_flits < 1:
        raise ArchsimInputError(f"max_packet_flits must be at least 1. Got {max_packet_flits!r} instead.")
    S, T = _trace_state(cfg, trace, max_packet_flits)
    n_msgs = len(trace)
    cf = config_vector(cfg)
    sp = np.zeros(SP_LEN, np.int64)
    hot, hot_cdf = np.zeros(1, np.int64), np.ones(1)
    rng = np.random.default_rng(0)
    limit = max_cycles if max_cycles is not None else 2**62
    t = 0
    start = time.perf_counter()
    while S.sc[S_DONE_MSGS] < n_msgs and t < limit:
        t = _run(*flat(S), *flat(T), cf, t, min(t + _CHUNK, limit), MODE_TRACE, STOP_ALL_DELIVERED, sp, 0.0,
                 rng, hot, hot_cdf, 0.0)
    wall = time.perf_counter() - start
    first = T.msg[:, M_FIRST]
    return MessageResult(ready_cycle=T.msg[:, M_READY].copy(), inject_cycle=T.pk[first, PK_ITIME].copy(),
                         arrival_cycle=T.msg[:, M_ATIME].copy(), cycles=int(t), wall_s=wall,
                         routers=cfg.nodes)


def _trace_state(cfg: NocConfig, trace: MessageTrace, max_packet_flits: int | None):
    n_msgs = len(trace)
    first, npk, msg_of, nfl = _packetize(trace, max_packet_flits)
    pk = np.zeros((msg_of.size, PK_LEN), np.int64)
    pk[:, PK_SRC], pk[:, PK_DST], pk[:, PK_NFL] = trace.src[msg_of], trace.dst[msg_of], nfl
    pk[:, PK_MSG] = msg_of
    pk[:, PK_ITIME] = pk[:, PK_ATIME] = -1
    ndeps = np.diff(trace.dep_ptr)
    msg = np.zeros((n_msgs, M_LEN), np.int64)
    msg[:, M_EARLIEST] = msg[:, M_READY] = trace.earliest
    msg[:, M_NDEPS], msg[:, M_LEFT], msg[:, M_FIRST], msg[:, M_NPK] = ndeps, npk, first, npk
    msg[:, M_ATIME] = -1
    msg[:, M_DELAY] = trace.delay
    succ_ptr = np.zeros(n_msgs + 1, np.int64)
    if n_msgs:
        succ_ptr[1:] = np.cumsum(np.bincount(trace.dep_idx, minlength=n_msgs))
    owners = np.repeat(np.arange(n_msgs, dtype=np.int64), ndeps)
    succ_idx = owners[np.argsort(trace.dep_idx, kind="stable")]
    free = np.flatnonzero(ndeps == 0)
    rel = free[np.lexsort((free, trace.earliest[free]))].astype(np.int64)
    capacity = int(min(cfg.nodes * P * cfg.num_vcs * cfg.vc_buf_size, int(nfl.sum()) + 1))
    check_state_size(cfg, max(capacity, 1), 0)  # the packet and message tables exist already: the trace's size
    T = new_traffic(cfg.nodes, pk, msg=msg, succ_ptr=succ_ptr, succ_idx=succ_idx, rel=rel)
    return new_net_state(cfg, max(capacity, 1)), T
