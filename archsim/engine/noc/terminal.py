"""Terminal kernels: sources, injection, ejection, message dependencies.

A terminal injects at most one flit per cycle into its router (BookSim2's
TrafficManager::_Step): the head of a packet takes the next free VC after the
last one used (round robin) if that VC has a free buffer slot; body flits
follow on the same VC as credits allow. Source queues are unbounded and
materialised lazily: a synthetic source keeps only the creation time of its
next packet (a Bernoulli process, drawn as geometric gaps), a trace source a
FIFO of released packets.
"""
from __future__ import annotations

from archsim.engine.jit import njit
from archsim.engine.noc.bits import iu, ix, trailing_zeros
from archsim.engine.noc.router import _schedule
from archsim.engine.noc.state import (C_B, C_CD, C_K, C_M, C_V, C_W, C_WFTC, EV_CREDIT, F_LEN, F_TML, HP_LEN,
                                      M_ATIME, M_DELAY, M_EARLIEST, M_FIRST, M_LEFT, M_LEN, M_NDEPS, M_NPK,
                                      M_READY, NEVER, PK_ATIME, PK_CTIME, PK_DST, PK_ITIME, PK_LEFT, PK_LEN,
                                      PK_MSG, PK_NEXT, PK_NFL, PK_REC, PK_SRC, RING_COLS, SQ_HEAD, SQ_LEN,
                                      SQ_NEXT_CT, SQ_TAIL, S_DONE_MSGS, S_HEAP_N, S_IF_CTIME, S_IF_FLITS,
                                      S_MEAS_PKTS, S_PK_TOP, S_REL_PTR, S_TML_N, TM_FIDX, TM_LASTVC, TM_LEN,
                                      TM_PID, TM_VC, TV_INUSE, TV_LEN, TV_OCC, TV_TAIL, T_ACC_FLITS,
                                      T_ACC_PKTS, T_HOPS_SUM, T_NLAT_MAX, T_NLAT_MIN, T_NLAT_SUM, T_PLAT_MAX,
                                      T_PLAT_MIN, T_PLAT_N, T_PLAT_SUM, T_SENT_FLITS)

MODE_TRACE, MODE_SYNTH = 0, 1
# sp: integer parameters of a synthetic run
SP_PATTERN, SP_PKT_FLITS, SP_PHASE, SP_DRAIN_TIME, SP_LEN = range(5)
PHASE_WARMUP, PHASE_RUNNING, PHASE_DRAINING = range(3)
PAT_UNIFORM, PAT_TRANSPOSE, PAT_BITCOMP, PAT_HOTSPOT, PAT_NEIGHBOR = range(5)


@njit(_nrt=False, inline="always")
def _earlier(t1, id1, t2, id2):
    """The release order: by cycle, then by id (message or node)."""
    return t1 < t2 or (t1 == t2 and id1 < id2)


@njit(_nrt=False, inline="always")
def _heap_push(hp, sc, t, ident):
    i = sc[S_HEAP_N]
    sc[S_HEAP_N] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if _earlier(hp[ix(parent, HP_LEN, 0)], hp[ix(parent, HP_LEN, 1)], t, ident):
            break
        hp[ix(i, HP_LEN, 0)] = hp[ix(parent, HP_LEN, 0)]
        hp[ix(i, HP_LEN, 1)] = hp[ix(parent, HP_LEN, 1)]
        i = parent
    hp[ix(i, HP_LEN, 0)] = t
    hp[ix(i, HP_LEN, 1)] = ident


@njit(_nrt=False, inline="always")
def _heap_pop(hp, sc):
    n = sc[S_HEAP_N] - 1
    sc[S_HEAP_N] = n
    top = hp[ix(0, HP_LEN, 1)]
    lt, lid = hp[ix(n, HP_LEN, 0)], hp[ix(n, HP_LEN, 1)]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _earlier(hp[ix(c + 1, HP_LEN, 0)], hp[ix(c + 1, HP_LEN, 1)],
                                  hp[ix(c, HP_LEN, 0)], hp[ix(c, HP_LEN, 1)]):
            c += 1
        if not _earlier(hp[ix(c, HP_LEN, 0)], hp[ix(c, HP_LEN, 1)], lt, lid):
            break
        hp[ix(i, HP_LEN, 0)] = hp[ix(c, HP_LEN, 0)]
        hp[ix(i, HP_LEN, 1)] = hp[ix(c, HP_LEN, 1)]
        i = c
    hp[ix(i, HP_LEN, 0)] = lt
    hp[ix(i, HP_LEN, 1)] = lid
    return top


@njit(_nrt=False, inline="always")
def _tm_add(tml, flags, sc, n):
    if flags[ix(n, F_LEN, F_TML)] == 0:
        flags[ix(n, F_LEN, F_TML)] = 1
        tml[iu(sc[S_TML_N])] = n
        sc[S_TML_N] += 1


@njit(_nrt=False, inline="always")
def _release_message(pk, sq, msg, tml, flags, sc, m, rt):
    msg[ix(m, M_LEN, M_READY)] = rt
    first = msg[ix(m, M_LEN, M_FIRST)]
    for pid in range(first, first + msg[ix(m, M_LEN, M_NPK)]):
        n = pk[ix(pid, PK_LEN, PK_SRC)]
        pk[ix(pid, PK_LEN, PK_CTIME)] = rt
        pk[ix(pid, PK_LEN, PK_LEFT)] = pk[ix(pid, PK_LEN, PK_NFL)]
        pk[ix(pid, PK_LEN, PK_NEXT)] = -1
        if sq[ix(n, SQ_LEN, SQ_TAIL)] >= 0:
            pk[ix(sq[ix(n, SQ_LEN, SQ_TAIL)], PK_LEN, PK_NEXT)] = pid
        else:
            sq[ix(n, SQ_LEN, SQ_HEAD)] = pid
        sq[ix(n, SQ_LEN, SQ_TAIL)] = pid
        _tm_add(tml, flags, sc, n)


@njit(_nrt=False, inline="always")
def _release(pk, sq, msg, rel, hp, tml, flags, sc, t, mode):
    """Release what is due by cycle t, in (cycle, id) order: trace messages go
    to their source's FIFO, synthetic sources to the list of busy terminals."""
    while True:
        from_heap = sc[S_HEAP_N] > 0 and hp[ix(0, HP_LEN, 0)] <= t
        ptr = sc[S_REL_PTR]
        from_rel = ptr < rel.size and msg[ix(rel[iu(ptr)], M_LEN, M_EARLIEST)] <= t
        if from_rel and from_heap:
            m = rel[iu(ptr)]
            e = msg[ix(m, M_LEN, M_EARLIEST)]
            from_rel = _earlier(e, m, hp[ix(0, HP_LEN, 0)], hp[ix(0, HP_LEN, 1)])
        if from_rel:
            m = rel[iu(ptr)]
            sc[S_REL_PTR] = ptr + 1
            _release_message(pk, sq, msg, tml, flags, sc, m, msg[ix(m, M_LEN, M_EARLIEST)])
        elif from_heap:
            rt = hp[ix(0, HP_LEN, 0)]
            ident = _heap_pop(hp, sc)
            if mode == MODE_SYNTH:
                _tm_add(tml, flags, sc, ident)
            else:
                _release_message(pk, sq, msg, tml, flags, sc, ident, rt)
        else:
            return


@njit(_nrt=False, inline="always")
def _uniform_node(rng, n):
    # floor(u * n) with a 53-bit u: bias below n / 2**53; Generator.integers
    # would allocate, which these kernels (compiled without NRT) cannot.
    return int(rng.random() * n)


@njit(_nrt=False, inline="always")
def _dest(n, k, m, pattern, rng, hot, hot_cdf, hot_frac):
    if pattern == PAT_UNIFORM:
        return _uniform_node(rng, k * m)
    x, y = n % k, n // k
    if pattern == PAT_TRANSPOSE:
        return y + k * x
    if pattern == PAT_BITCOMP:
        return (k - 1 - x) + k * (m - 1 - y)
    if pattern == PAT_NEIGHBOR:
        return (x + 1) % k + k * ((y + 1) % m)
    if rng.random() < hot_frac:
        u = rng.random()
        for i in range(hot.size):
            if u < hot_cdf[iu(i)]:
                return hot[iu(i)]
        return hot[iu(hot.size - 1)]
    return _uniform_node(rng, k * m)


@njit(_nrt=False, inline="always")
def _new_synthetic_packet(pk, pk_free, sq, sc, cf, n, sp, rate, rng, hot, hot_cdf, hot_frac):
    ct = sq[ix(n, SQ_LEN, SQ_NEXT_CT)]
    top = sc[S_PK_TOP] - 1
    sc[S_PK_TOP] = top
    pid = pk_free[iu(top)]
    nfl = sp[SP_PKT_FLITS]
    pk[ix(pid, PK_LEN, PK_SRC)] = n
    pk[ix(pid, PK_LEN, PK_DST)] = _dest(n, cf[C_K], cf[C_M], sp[SP_PATTERN], rng, hot, hot_cdf, hot_frac)
    pk[ix(pid, PK_LEN, PK_NFL)] = nfl
    pk[ix(pid, PK_LEN, PK_CTIME)] = ct
    pk[ix(pid, PK_LEN, PK_LEFT)] = nfl
    phase = sp[SP_PHASE]
    # BookSim records a packet generated while running, or while draining if
    # it was created before the drain began.
    rec = phase == PHASE_RUNNING or (phase == PHASE_DRAINING and ct < sp[SP_DRAIN_TIME])
    pk[ix(pid, PK_LEN, PK_REC)] = 1 if rec else 0
    if rec:
        sc[S_MEAS_PKTS] += 1
    sc[S_IF_FLITS] += nfl
    sc[S_IF_CTIME] += nfl * ct
    sq[ix(n, SQ_LEN, SQ_NEXT_CT)] = ct + rng.geometric(rate) if rate > 0.0 else NEVER
    return pid


@njit(_nrt=False, inline="always")
def _inject(tm, tmv, ev, wl, ring, hp, pk, pk_free, sq, sc, stats, cf, n, t, mode, sp, rate, rng,
            hot, hot_cdf, hot_frac):
    """Terminal n offers one flit to its router; returns whether n stays busy."""
    pid = tm[ix(n, TM_LEN, TM_PID)]
    if pid < 0:
        if mode == MODE_TRACE:
            pid = sq[ix(n, SQ_LEN, SQ_HEAD)]
            if pid >= 0:
                sq[ix(n, SQ_LEN, SQ_HEAD)] = pk[ix(pid, PK_LEN, PK_NEXT)]
                if sq[ix(n, SQ_LEN, SQ_HEAD)] < 0:
                    sq[ix(n, SQ_LEN, SQ_TAIL)] = -1
        elif sq[ix(n, SQ_LEN, SQ_NEXT_CT)] <= t:
            pid = _new_synthetic_packet(pk, pk_free, sq, sc, cf, n, sp, rate, rng, hot, hot_cdf, hot_frac)
        if pid < 0:
            return False
        tm[ix(n, TM_LEN, TM_PID)] = pid
        tm[ix(n, TM_LEN, TM_FIDX)] = 0
        tm[ix(n, TM_LEN, TM_VC)] = -1
    v_count, b = cf[C_V], cf[C_B]
    base = n * v_count
    fidx = tm[ix(n, TM_LEN, TM_FIDX)]
    head = fidx == 0
    tail = fidx == pk[ix(pid, PK_LEN, PK_NFL)] - 1
    vc = tm[ix(n, TM_LEN, TM_VC)]
    if head:
        lvc = tm[ix(n, TM_LEN, TM_LASTVC)]
        c = 0 if lvc < 0 else lvc
        for i in range(v_count):
            if lvc >= 0:
                c += 1
                if c == v_count:
                    c = 0
            if tmv[ix(base + c, TV_LEN, TV_INUSE)] == 0 and tmv[ix(base + c, TV_LEN, TV_OCC)] < b:
                vc = c
                break
        if vc < 0:
            return True
        tmv[ix(base + vc, TV_LEN, TV_INUSE)] = 1
        tmv[ix(base + vc, TV_LEN, TV_TAIL)] = 0
        tm[ix(n, TM_LEN, TM_LASTVC)] = vc
        pk[ix(pid, PK_LEN, PK_ITIME)] = t
    elif tmv[ix(base + vc, TV_LEN, TV_OCC)] >= b:
        return True
    tmv[ix(base + vc, TV_LEN, TV_OCC)] += 1
    if tail:
        tmv[ix(base + vc, TV_LEN, TV_TAIL)] = 1
        if not cf[C_WFTC]:
            tmv[ix(base + vc, TV_LEN, TV_INUSE)] = 0
    w = cf[C_W]
    ta = t + 2
    dst = pk[ix(pid, PK_LEN, PK_DST)]
    k = cf[C_K]
    dy = dst // k
    ring[ix(n * w + (ta & (w - 1)), RING_COLS, 4)] = ((pid << 32) | ((dy << 20) | ((dst - dy * k) << 8))
                                                      | (vc << 2) | (2 if head else 0) | (1 if tail else 0))
    _schedule(ev, wl, cf, n, ta, 4)
    if mode == MODE_SYNTH and sp[SP_PHASE] != PHASE_DRAINING:
        stats[T_SENT_FLITS] += 1
    if not tail:
        tm[ix(n, TM_LEN, TM_FIDX)] = fidx + 1
        tm[ix(n, TM_LEN, TM_VC)] = vc
        return True
    tm[ix(n, TM_LEN, TM_PID)] = -1
    if mode == MODE_TRACE:
        return sq[ix(n, SQ_LEN, SQ_HEAD)] >= 0
    nxt = sq[ix(n, SQ_LEN, SQ_NEXT_CT)]
    if nxt <= t + 1:
        return True
    if nxt < NEVER:
        _heap_push(hp, sc, nxt, n)
    return False


@njit(_nrt=False, inline="always")
def _tm_credit(tmv, cf, n, mask):
    base = n * cf[C_V]
    while mask:
        j = base + trailing_zeros(mask)
        mask &= mask - 1
        tmv[ix(j, TV_LEN, TV_OCC)] -= 1
        if cf[C_WFTC] and tmv[ix(j, TV_LEN, TV_OCC)] == 0 and tmv[ix(j, TV_LEN, TV_TAIL)]:
            tmv[ix(j, TV_LEN, TV_INUSE)] = 0


@njit(_nrt=False, inline="always")
def _eject(ev, wl, ring, pk, pk_free, msg, succ_ptr, succ_idx, hp, sc, stats, cf, n, code, t,
           mode, sp):
    """Terminal n takes a flit off its ejection channel in cycle t and returns
    the credit, which its router sees 2 + credit_delay cycles later."""
    pid = code >> 32
    pk[ix(pid, PK_LEN, PK_LEFT)] -= 1
    counting = mode == 1 and sp[SP_PHASE] != PHASE_DRAINING
    if mode == MODE_SYNTH:
        sc[S_IF_FLITS] -= 1
        sc[S_IF_CTIME] -= pk[ix(pid, PK_LEN, PK_CTIME)]
        if counting:
            stats[T_ACC_FLITS] += 1
    if code & 1:
        pk[ix(pid, PK_LEN, PK_ATIME)] = t
        if mode == MODE_SYNTH:
            _retire_synthetic(pk, pk_free, sc, stats, cf, pid, t, counting)
        else:
            _retire_message_packet(pk, msg, succ_ptr, succ_idx, hp, sc, pid, t)
    w = cf[C_W]
    tc = t + 2 + cf[C_CD]
    ring[ix(n * w + (tc & (w - 1)), RING_COLS, EV_CREDIT + 4)] |= 1 << ((code >> 2) & 63)
    _schedule(ev, wl, cf, n, tc, EV_CREDIT + 4)


@njit(_nrt=False, inline="always")
def _retire_synthetic(pk, pk_free, sc, stats, cf, pid, t, counting):
    if counting:
        stats[T_ACC_PKTS] += 1
    if pk[ix(pid, PK_LEN, PK_REC)]:
        k = cf[C_K]
        s, d = pk[ix(pid, PK_LEN, PK_SRC)], pk[ix(pid, PK_LEN, PK_DST)]
        plat = t - pk[ix(pid, PK_LEN, PK_CTIME)]
        nlat = t - pk[ix(pid, PK_LEN, PK_ITIME)]
        stats[T_PLAT_SUM] += plat
        stats[T_PLAT_N] += 1
        stats[T_PLAT_MIN] = min(stats[T_PLAT_MIN], plat)
        stats[T_PLAT_MAX] = max(stats[T_PLAT_MAX], plat)
        stats[T_NLAT_SUM] += nlat
        stats[T_NLAT_MIN] = min(stats[T_NLAT_MIN], nlat)
        stats[T_NLAT_MAX] = max(stats[T_NLAT_MAX], nlat)
        # BookSim counts routers traversed: Manhattan distance + 1
        stats[T_HOPS_SUM] += abs(s % k - d % k) + abs(s // k - d // k) + 1
        sc[S_MEAS_PKTS] -= 1
    pk_free[iu(sc[S_PK_TOP])] = pid
    sc[S_PK_TOP] += 1


@njit(_nrt=False, inline="always")
def _retire_message_packet(pk, msg, succ_ptr, succ_idx, hp, sc, pid, t):
    m = pk[ix(pid, PK_LEN, PK_MSG)]
    msg[ix(m, M_LEN, M_LEFT)] -= 1
    if msg[ix(m, M_LEN, M_LEFT)] > 0:
        return
    msg[ix(m, M_LEN, M_ATIME)] = t
    sc[S_DONE_MSGS] += 1
    for i in range(succ_ptr[iu(m)], succ_ptr[iu(m + 1)]):
        d = succ_idx[iu(i)]
        msg[ix(d, M_LEN, M_NDEPS)] -= 1
        rt = t + msg[ix(d, M_LEN, M_DELAY)]
        if rt > msg[ix(d, M_LEN, M_READY)]:
            msg[ix(d, M_LEN, M_READY)] = rt
        if msg[ix(d, M_LEN, M_NDEPS)] == 0:
            _heap_push(hp, sc, msg[ix(d, M_LEN, M_READY)], d)
