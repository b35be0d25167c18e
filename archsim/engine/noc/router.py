"""Router kernels: input queuing, credits, and one router's allocation cycle.

`_router_cycle` is one cycle of BookSim2's IQRouter::_InternalStep after input
queuing: VC allocation and switch allocation are both evaluated on the state
at the start of the cycle, then the VC grants are applied, then the switch
grants (so a tail that leaves frees its output VC only after this cycle's VC
allocation was evaluated, as in BookSim). Requests, grants and pointer updates
follow BookSim's iSLIP_Sparse and IQRouter; docs/noc.md lists each rule. Sets
of VCs, inputs and outputs are 64-bit masks.
"""
from __future__ import annotations

from archsim.engine.noc.bits import trailing_zeros

from archsim.engine.jit import njit
from archsim.engine.noc.allocators import _sa_evaluate, _va_evaluate
from archsim.engine.noc.state import (NB_FLITS, NB_PORTS, C_B, C_CD, C_DEP, C_DL, C_DVA, C_K, C_N, C_NV, C_R, C_V, C_W,
                                      C_WFTC, EJECT, EV_CREDIT, EV_EJECT, EV_TM_CREDIT, F_BUSY, FP_CODE,
                                      FP_NEXT, LUT_PORT, LUT_VC, OC_OCC, OC_TAIL, P, PK_DST, PM_ACT,
                                      PM_FULL, PM_USED, PM_VA, Q_CNT, Q_HEAD, Q_TAIL, S_BUSY_N, S_FP_TOP,
                                      SV_LIST, SV_RES, SV_WIN, SV_WIN_O, V_OUT, V_OVC, V_ROUTE, V_STATE)


@njit(_nrt=False, inline="always")
def _route(r, dst, nxy):
    """Dimension-order (x, then y) output port at router r for destination dst."""
    x, dx = nxy[r, 0], nxy[dst, 0]
    if x != dx:
        return 0 if x < dx else 1
    y, dy = nxy[r, 1], nxy[dst, 1]
    if y != dy:
        return 2 if y < dy else 3
    return EJECT


@njit(_nrt=False, inline="always")
def _neighbor(r, port, k):
    if port == 0:
        return r + 1
    if port == 1:
        return r - 1
    if port == 2:
        return r + k
    return r - k


@njit(_nrt=False, inline="always")
def _schedule(ev, wl, cf, r, t, bit):
    """Record that router r receives event `bit` in cycle t."""
    w, n = cf[C_W], cf[C_N]
    s = t & (w - 1)
    i = r * w + s
    m = ev[i]
    if m == 0:
        c = wl[s, n]
        wl[s, c] = r
        wl[s, n] = c + 1
    ev[i] = m | (1 << bit)


@njit(_nrt=False, inline="always")
def _arrive_flit(vq, vs, vready, pm, nbuf, fp, fp_free, busy, flags, sc, nxy, pk, cf, r, p, code, t):
    """A flit enters input VC (r, p, vc): BookSim's _InputQueuing."""
    v = (code >> 2) & 63
    g = (r * P + p) * cf[C_V] + v
    top = sc[S_FP_TOP] - 1
    node = fp_free[top]
    sc[S_FP_TOP] = top
    fp[node, FP_CODE] = code
    fp[node, FP_NEXT] = -1
    if vq[g, Q_CNT] == 0:
        vq[g, Q_HEAD] = node
    else:
        fp[vq[g, Q_TAIL], FP_NEXT] = node
    vq[g, Q_TAIL] = node
    vq[g, Q_CNT] += 1
    if flags[r, F_BUSY] == 0:
        flags[r, F_BUSY] = 1
        busy[sc[S_BUSY_N]] = r
        sc[S_BUSY_N] += 1
    nbuf[r, NB_FLITS] += 1
    st = vs[g, V_STATE]
    if st == 0:
        vs[g, V_STATE] = 1
        vs[g, V_ROUTE] = _route(r, pk[code >> 8, PK_DST], nxy)
        vready[g] = t + cf[C_R]
        pm[r * P + p, PM_VA] |= 1 << v
        nbuf[r, NB_PORTS] |= 1 << p
    elif st == 2 and vq[g, Q_CNT] == 1:
        pm[r * P + p, PM_ACT] |= 1 << v
        nbuf[r, NB_PORTS] |= 1 << (P + p)


@njit(_nrt=False, inline="always")
def _arrive_credit(pm, oc, cf, r, o, mask):
    """Credits for output (r, o): BookSim's BufferState::ProcessCredit."""
    ro = r * P + o
    base = ro * cf[C_V]
    while mask:
        v = trailing_zeros(mask)
        mask &= mask - 1
        j = base + v
        oc[j, OC_OCC] -= 1
        pm[ro, PM_FULL] &= ~(1 << v)
        if cf[C_WFTC] and oc[j, OC_OCC] == 0 and oc[j, OC_TAIL]:
            pm[ro, PM_USED] &= ~(1 << v)


@njit(_nrt=False, inline="always")
def _clear_va(pm, nbuf, r, p, bit):
    m = pm[r * P + p, PM_VA] & ~bit
    pm[r * P + p, PM_VA] = m
    if m == 0:
        nbuf[r, NB_PORTS] &= ~(1 << p)


@njit(_nrt=False, inline="always")
def _clear_act(pm, nbuf, r, p, bit):
    m = pm[r * P + p, PM_ACT] & ~bit
    pm[r * P + p, PM_ACT] = m
    if m == 0:
        nbuf[r, NB_PORTS] &= ~(1 << (P + p))


@njit(_nrt=False, inline="always")
def _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv, o, t):
    """The switch winner iv sends its front flit to output o; returns its code.
    The flit arrives downstream, and its credit upstream, after the channel
    delays (written straight into the receivers' ring slots)."""
    v_count, w = cf[C_V], cf[C_W]
    g = r * cf[C_NV] + iv
    p = lut[iv, LUT_PORT]
    v = lut[iv, LUT_VC]
    ov = int(vs[g, V_OVC])
    node = vq[g, Q_HEAD]
    code = fp[node, FP_CODE]
    vq[g, Q_HEAD] = fp[node, FP_NEXT]
    vq[g, Q_CNT] -= 1
    fp_free[sc[S_FP_TOP]] = node
    sc[S_FP_TOP] += 1
    nbuf[r, NB_FLITS] -= 1
    ro = r * P + o
    oj = ro * v_count + ov
    oc[oj, OC_OCC] += 1
    if oc[oj, OC_OCC] >= cf[C_B]:
        pm[ro, PM_FULL] |= 1 << ov
    if code & 1:
        oc[oj, OC_TAIL] = 1
        if not cf[C_WFTC]:
            pm[ro, PM_USED] &= ~(1 << ov)
    out = (code & ~(63 << 2)) | (ov << 2)
    td = t + cf[C_DEP]
    if o == EJECT:
        ta = td + 2
        ring[r * w + (ta & (w - 1)), EV_EJECT] = out
        _schedule(ev, wl, cf, r, ta, EV_EJECT)
    else:
        r2 = _neighbor(r, o, cf[C_K])
        ta = td + cf[C_DL] + 1
        ring[r2 * w + (ta & (w - 1)), o ^ 1] = out
        _schedule(ev, wl, cf, r2, ta, o ^ 1)
    if p == EJECT:
        tc = t + 2
        ring[r * w + (tc & (w - 1)), EV_TM_CREDIT] |= 1 << v
        _schedule(ev, wl, cf, r, tc, EV_TM_CREDIT)
    else:
        ru = _neighbor(r, p, cf[C_K])
        tc = t + cf[C_DL] + 1 + cf[C_CD]
        ring[ru * w + (tc & (w - 1)), EV_CREDIT + (p ^ 1)] |= 1 << v
        _schedule(ev, wl, cf, ru, tc, EV_CREDIT + (p ^ 1))
    return code


@njit(_nrt=False, inline="always")
def _router_cycle(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring,
                  sc, scr_v, scr_p, scr_e, lut, nxy, pk, cf, r, t):
    """VC and switch allocation of router r in cycle t, then their updates."""
    v_count, nv = cf[C_V], cf[C_NV]
    ports = nbuf[r, NB_PORTS]
    nva = _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t, ports & 31) if ports & 31 else 0
    nwin = _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t, ports)
    for k in range(nva):
        iv = scr_v[k, SV_LIST]
        j = scr_v[iv, SV_RES]
        if j < 0:
            continue
        o = lut[j, LUT_PORT]
        ov = lut[j, LUT_VC]
        pm[r * P + o, PM_USED] |= 1 << ov
        oc[(r * P + o) * v_count + ov, OC_TAIL] = 0
        g = r * nv + iv
        vs[g, V_STATE] = 2
        vs[g, V_OUT] = o
        vs[g, V_OVC] = ov
        vready[g] = t + cf[C_DVA]
        p = lut[iv, LUT_PORT]
        bit = 1 << lut[iv, LUT_VC]
        _clear_va(pm, nbuf, r, p, bit)
        pm[r * P + p, PM_ACT] |= bit
        nbuf[r, NB_PORTS] |= 1 << (P + p)
    for k in range(nwin):
        iv = scr_v[k, SV_WIN]
        code = _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv,
                          scr_v[k, SV_WIN_O], t)
        g = r * nv + iv
        p = lut[iv, LUT_PORT]
        bit = 1 << lut[iv, LUT_VC]
        if vq[g, Q_CNT] == 0:
            _clear_act(pm, nbuf, r, p, bit)
            if code & 1:
                vs[g, V_STATE] = 0
        elif code & 1:
            nxt = fp[vq[g, Q_HEAD], FP_CODE]
            vs[g, V_STATE] = 1
            vs[g, V_ROUTE] = _route(r, pk[nxt >> 8, PK_DST], nxy)
            vready[g] = t + 1 + cf[C_R]
            _clear_act(pm, nbuf, r, p, bit)
            pm[r * P + p, PM_VA] |= bit
            nbuf[r, NB_PORTS] |= 1 << p
