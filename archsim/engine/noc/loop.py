"""The cycle loop: deliveries, releases, injection, router allocation.

Each cycle t runs, in order: (1) everything the channels deliver in t (flits
into input buffers, credits, flits reaching their terminal), (2) releases of
messages and sources that are due, (3) one injection attempt per busy
terminal, (4) allocation in every router that holds flits. Routers interact
only through channels of latency >= 1, so the order in which routers are
visited within a phase cannot change any result; idle routers are never
visited, and stretches where nothing at all is pending are skipped.
"""
from __future__ import annotations

from archsim.engine.noc.bits import iu, ix, trailing_zeros

from archsim.engine.jit import njit
from archsim.engine.noc.router import _arrive_credit, _arrive_flit, _router_cycle
from archsim.engine.noc.state import (C_N, C_W, EV_EJECT, EV_TM_CREDIT, F_BUSY, F_LEN, F_TML, HP_LEN, M_LEN,
                                      NB_FLITS, NB_LEN, P, RING_COLS, SQ_LEN, SQ_NEXT_CT, S_BUSY_N,
                                      S_DONE_MSGS, S_HEAP_N, S_IF_FLITS, S_MEAS_PKTS, S_REL_PTR, S_TML_N)
from archsim.engine.noc.terminal import SP_DRAIN_TIME, _eject, _inject, _release, _tm_credit

STOP_AT_T1, STOP_ALL_DELIVERED, STOP_MEASURED_DRAINED, STOP_EMPTY = range(4)


@njit(_nrt=False, inline="always")
def _drop(lst, flags, sc, count, flag, i, node):
    """Remove entry i (`node`) from a list of busy terminals or routers whose
    length is sc[count]: the last entry takes its place; clear node's flag."""
    last = sc[count] - 1
    lst[iu(i)] = lst[iu(last)]
    sc[count] = last
    flags[ix(node, F_LEN, flag)] = 0


@njit(_nrt=False, inline="always")
def _measured_drained(sc, sq, sp, cf):
    if sc[S_MEAS_PKTS] > 0:
        return False
    dt = sp[SP_DRAIN_TIME]
    for n in range(cf[C_N]):
        if sq[ix(n, SQ_LEN, SQ_NEXT_CT)] < dt:
            return False
    return True


@njit(_nrt=False, inline="always")
def _quiet_until(wl, sc, hp, msg, rel, cf, t):
    """If nothing is pending before some later cycle, return that cycle, else t."""
    if sc[S_BUSY_N] != 0 or sc[S_TML_N] != 0:
        return t
    n = cf[C_N]
    for s in range(cf[C_W]):
        if wl[ix(s, n + 1, n)] != 0:
            return t
    nxt = 2**62
    if sc[S_HEAP_N] > 0:
        nxt = hp[ix(0, HP_LEN, 0)]
    if sc[S_REL_PTR] < rel.size:
        nxt = min(nxt, msg[ix(rel[iu(sc[S_REL_PTR])], M_LEN, 0)])
    return max(t, nxt)


@njit(_nrt=False)
def _run(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring, busy, tml,
         flags, tm, tmv, scr_v, scr_p, scr_e, sc, lut, nxy, pk, pk_free, sq, msg, succ_ptr, succ_idx, rel,
         hp, stats, cf, t0, t1, mode, stop, sp, rate, rng, hot, hot_cdf, hot_frac):
    """Simulate cycles t0 .. t1 - 1, or until `stop` holds; returns the next cycle."""
    w, n_nodes = cf[C_W], cf[C_N]
    n_msgs = msg.size // M_LEN
    t = t0
    while t < t1:
        skip = _quiet_until(wl, sc, hp, msg, rel, cf, t)
        if skip > t:
            t = min(skip, t1)
            continue
        s = t & (w - 1)
        for i in range(wl[ix(s, n_nodes + 1, n_nodes)]):
            r = wl[ix(s, n_nodes + 1, i)]
            j = r * w + s
            m = ev[iu(j)]
            ev[iu(j)] = 0
            fl = m & 31
            while fl:
                p = trailing_zeros(fl)
                fl &= fl - 1
                _arrive_flit(vq, vs, vready, pm, nbuf, fp, fp_free, busy, flags, sc, nxy, pk, cf,
                             r, p, ring[ix(j, RING_COLS, p)], t)
            cr = (m >> P) & 31
            while cr:
                o = trailing_zeros(cr)
                cr &= cr - 1
                _arrive_credit(pm, oc, cf, r, o, ring[ix(j, RING_COLS, P + o)])
                ring[ix(j, RING_COLS, P + o)] = 0
            if (m >> EV_TM_CREDIT) & 1:
                _tm_credit(tmv, cf, r, ring[ix(j, RING_COLS, EV_TM_CREDIT)])
                ring[ix(j, RING_COLS, EV_TM_CREDIT)] = 0
            if (m >> EV_EJECT) & 1:
                _eject(ev, wl, ring, pk, pk_free, msg, succ_ptr, succ_idx, hp, sc, stats, cf, r,
                       ring[ix(j, RING_COLS, EV_EJECT)], t, mode, sp)
        wl[ix(s, n_nodes + 1, n_nodes)] = 0
        _release(pk, sq, msg, rel, hp, tml, flags, sc, t, mode)
        i = 0
        while i < sc[S_TML_N]:
            n = tml[iu(i)]
            if _inject(tm, tmv, ev, wl, ring, hp, pk, pk_free, sq, sc, stats, cf, n, t, mode, sp,
                       rate, rng, hot, hot_cdf, hot_frac):
                i += 1
            else:
                _drop(tml, flags, sc, S_TML_N, F_TML, i, n)
        i = 0
        while i < sc[S_BUSY_N]:
            r = busy[iu(i)]
            _router_cycle(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl,
                          ring, sc, scr_v, scr_p, scr_e, lut, nxy, pk, cf, r, t)
            if nbuf[ix(r, NB_LEN, NB_FLITS)] > 0:
                i += 1
            else:
                _drop(busy, flags, sc, S_BUSY_N, F_BUSY, i, r)
        t += 1
        if stop == STOP_ALL_DELIVERED:
            if sc[S_DONE_MSGS] == n_msgs:
                break
        elif stop == STOP_MEASURED_DRAINED:
            if _measured_drained(sc, sq, sp, cf):
                break
        elif stop == STOP_EMPTY:
            if sc[S_IF_FLITS] == 0 and sc[S_TML_N] == 0:
                break
    return t
