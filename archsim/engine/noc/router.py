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
from archsim.engine.noc.allocators import _first_from, _sa_evaluate, _va_evaluate
from archsim.engine.noc.state import (APTR, C_E, C_IS, C_SPEC, GPTR, LUT_EIN, SA_APTR, SW_RR, NB_FLITS, NB_PORTS, C_B, C_CD, C_DEP, C_DL, C_DVA, C_K, C_N, C_NV, C_R, C_V, C_W,
                                      C_WFTC, EJECT, EV_CREDIT, EV_EJECT, EV_TM_CREDIT, F_BUSY, FP_CODE,
                                      FP_NEXT, LUT_PORT, LUT_VC, OC_OCC, OC_TAIL, P, PM_ACT,
                                      PM_FULL, PM_USED, PM_VA, Q_CNT, Q_HEAD, Q_TAIL, S_BUSY_N, S_FP_TOP,
                                      SV_LIST, SV_RES, SV_WIN, SV_WIN_O, V_OUT, V_OVC, V_ROUTE, V_STATE)


@njit(_nrt=False, inline="always")
def _route(r, code, nxy):
    """Dimension-order (x, then y) output port at router r for the flit `code`
    (its destination's x and y are in bits 8-19 and 20-31)."""
    x, dx = nxy[r, 0], (code >> 8) & 4095
    if x != dx:
        return 0 if x < dx else 1
    y, dy = nxy[r, 1], (code >> 20) & 4095
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
        vs[g, V_ROUTE] = _route(r, code, nxy)
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
def _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t):
    """Input VC iv got output VC j (port * V + VC) in this cycle's VC allocation."""
    v_count = cf[C_V]
    o = lut[j, LUT_PORT]
    ov = lut[j, LUT_VC]
    pm[r * P + o, PM_USED] |= 1 << ov
    oc[(r * P + o) * v_count + ov, OC_TAIL] = 0
    g = r * cf[C_NV] + iv
    vs[g, V_STATE] = 2
    vs[g, V_OUT] = o
    vs[g, V_OVC] = ov
    vready[g] = t + cf[C_DVA]
    p = lut[iv, LUT_PORT]
    bit = 1 << lut[iv, LUT_VC]
    _clear_va(pm, nbuf, r, p, bit)
    pm[r * P + p, PM_ACT] |= bit
    nbuf[r, NB_PORTS] |= 1 << (P + p)


@njit(_nrt=False, inline="always")
def _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t):
    """The switch winner iv sends its front flit to output o; then its VC
    either waits for its next packet's VC allocation, stays active, or idles."""
    code = _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv, o, t)
    g = r * cf[C_NV] + iv
    p = lut[iv, LUT_PORT]
    bit = 1 << lut[iv, LUT_VC]
    if vq[g, Q_CNT] == 0:
        _clear_act(pm, nbuf, r, p, bit)
        if code & 1:
            vs[g, V_STATE] = 0
    elif code & 1:
        nxt = fp[vq[g, Q_HEAD], FP_CODE]
        vs[g, V_STATE] = 1
        vs[g, V_ROUTE] = _route(r, nxt, nxy)
        vready[g] = t + 1 + cf[C_R]
        _clear_act(pm, nbuf, r, p, bit)
        pm[r * P + p, PM_VA] |= bit
        nbuf[r, NB_PORTS] |= 1 << p


@njit(_nrt=False, inline="always")
def _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o):
    """Pointer updates of a switch allocation with one request (iv for o):
    what iSLIP's first iteration does for its only grant."""
    v_count, ne = cf[C_V], cf[C_E]
    e = lut[iv, LUT_EIN]
    sa_gptr[r * P + o] = e + 1 if e + 1 < ne else 0
    sptr[r * ne + e, SA_APTR] = o + 1 if o + 1 < P else 0
    nxt = lut[iv, LUT_VC] + cf[C_IS]
    sptr[r * ne + e, SW_RR] = nxt if nxt < v_count else nxt - v_count


@njit(_nrt=False, inline="always")
def _router_cycle_one(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring,
                      sc, lut, nxy, pk, cf, r, t, iv):
    """`_router_cycle` when iv is the only input VC waiting for a VC or active
    with a flit: each allocator has at most one request, so iSLIP reduces to
    its first iteration's grant and pointer updates (same results)."""
    v_count, nv = cf[C_V], cf[C_NV]
    g = r * nv + iv
    if vready[g] > t:
        return
    if vs[g, V_STATE] == 2:
        o = vs[g, V_OUT]
        if (pm[r * P + o, PM_FULL] >> int(vs[g, V_OVC])) & 1:
            return
        _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o)
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t)
        return
    o = vs[g, V_ROUTE]
    used = pm[r * P + o, PM_USED]
    free = ~used & ((1 << v_count) - 1)
    if free == 0:
        return
    # speculative switch request, on the state before this cycle's VC grant
    spec = cf[C_SPEC] and free & ~pm[r * P + o, PM_FULL] != 0
    rel = vptr[r * nv + iv, APTR] - o * v_count
    ov = _first_from(free, rel) if 0 < rel < v_count else trailing_zeros(free)
    j = o * v_count + ov
    vptr[r * nv + j, GPTR] = iv + 1 if iv + 1 < nv else 0
    vptr[r * nv + iv, APTR] = j + 1 if j + 1 < nv else 0
    full_ov = (pm[r * P + o, PM_FULL] >> ov) & 1
    if spec:
        _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o)
    _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t)
    if spec and full_ov == 0:
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t)


@njit(_nrt=False, inline="always")
def _router_cycle(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring,
                  sc, scr_v, scr_p, scr_e, lut, nxy, pk, cf, r, t):
    """VC and switch allocation of router r in cycle t, then their updates."""
    v_count = cf[C_V]
    ports = nbuf[r, NB_PORTS]
    if ports == 0:
        return
    if ports & (ports - 1) == 0:
        b = trailing_zeros(ports)
        m = pm[r * P + b, PM_VA] if b < P else pm[r * P + b - P, PM_ACT]
        if m & (m - 1) == 0:
            iv = (b if b < P else b - P) * v_count + trailing_zeros(m)
            _router_cycle_one(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl,
                              ring, sc, lut, nxy, pk, cf, r, t, iv)
            return
    nva = _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t, ports & 31) if ports & 31 else 0
    nwin = _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t, ports)
    for k in range(nva):
        iv = scr_v[k, SV_LIST]
        j = scr_v[iv, SV_RES]
        if j >= 0:
            _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t)
    for k in range(nwin):
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r,
                scr_v[k, SV_WIN], scr_v[k, SV_WIN_O], t)
