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

from archsim.engine.noc.bits import iu, ix, trailing_zeros

from archsim.engine.jit import njit
from archsim.engine.noc.allocators import _first_from, _sa_evaluate, _va_evaluate
from archsim.engine.noc.state import (APTR, C_B, C_CD, C_DEP, C_DL, C_DVA, C_E, C_IS, C_K, C_N, C_NV, C_R,
                                      C_SPEC, C_V, C_W, C_WFTC, EJECT, EV_CREDIT, EV_EJECT, EV_TM_CREDIT,
                                      FP_CODE, FP_LEN, FP_NEXT, F_BUSY, F_LEN, GPTR, LUT_EIN, LUT_LEN,
                                      LUT_PORT, LUT_VC, NB_FLITS, NB_LEN, NB_PORTS, OC_LEN, OC_OCC, OC_TAIL,
                                      P, PM_ACT, PM_FULL, PM_LEN, PM_USED, PM_VA, Q_CNT, Q_HEAD, Q_LEN,
                                      Q_TAIL, RING_COLS, SA_APTR, SCRE_LEN, SPT_LEN, SV_LEN, SV_LIST, SV_RES, SV_WIN,
                                      SV_WIN_O, SW_RR, S_BUSY_N, S_FP_TOP, VP_LEN, V_LEN, V_OUT, V_OVC,
                                      V_ROUTE, V_STATE, XY_LEN)


@njit(_nrt=False, inline="always")
def _route(r, code, nxy):
    """Dimension-order (x, then y) output port at router r for the flit `code`
    (its destination's x and y are in bits 8-19 and 20-31)."""
    x, dx = nxy[ix(r, XY_LEN, 0)], (code >> 8) & 4095
    if x != dx:
        return 0 if x < dx else 1
    y, dy = nxy[ix(r, XY_LEN, 1)], (code >> 20) & 4095
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
    m = ev[iu(i)]
    if m == 0:
        c = wl[ix(s, n + 1, n)]
        wl[ix(s, n + 1, c)] = r
        wl[ix(s, n + 1, n)] = c + 1
    ev[iu(i)] = m | (1 << bit)


@njit(_nrt=False, inline="always")
def _arrive_flit(vq, vs, vready, pm, nbuf, fp, fp_free, busy, flags, sc, nxy, pk, cf, r, p, code, t):
    """A flit enters input VC (r, p, vc): BookSim's _InputQueuing."""
    v = (code >> 2) & 63
    g = (r * P + p) * cf[C_V] + v
    top = sc[S_FP_TOP] - 1
    node = fp_free[iu(top)]
    sc[S_FP_TOP] = top
    fp[ix(node, FP_LEN, FP_CODE)] = code
    fp[ix(node, FP_LEN, FP_NEXT)] = -1
    if vq[ix(g, Q_LEN, Q_CNT)] == 0:
        vq[ix(g, Q_LEN, Q_HEAD)] = node
    else:
        fp[ix(vq[ix(g, Q_LEN, Q_TAIL)], FP_LEN, FP_NEXT)] = node
    vq[ix(g, Q_LEN, Q_TAIL)] = node
    vq[ix(g, Q_LEN, Q_CNT)] += 1
    if flags[ix(r, F_LEN, F_BUSY)] == 0:
        flags[ix(r, F_LEN, F_BUSY)] = 1
        busy[iu(sc[S_BUSY_N])] = r
        sc[S_BUSY_N] += 1
    nbuf[ix(r, NB_LEN, NB_FLITS)] += 1
    st = vs[ix(g, V_LEN, V_STATE)]
    if st == 0:
        vs[ix(g, V_LEN, V_STATE)] = 1
        vs[ix(g, V_LEN, V_ROUTE)] = _route(r, code, nxy)
        vready[iu(g)] = t + cf[C_R]
        pm[ix(r * P + p, PM_LEN, PM_VA)] |= 1 << v
        nbuf[ix(r, NB_LEN, NB_PORTS)] |= 1 << p
    elif st == 2 and vq[ix(g, Q_LEN, Q_CNT)] == 1:
        pm[ix(r * P + p, PM_LEN, PM_ACT)] |= 1 << v
        nbuf[ix(r, NB_LEN, NB_PORTS)] |= 1 << (P + p)


@njit(_nrt=False, inline="always")
def _arrive_credit(pm, oc, cf, r, o, mask):
    """Credits for output (r, o): BookSim's BufferState::ProcessCredit."""
    ro = r * P + o
    base = ro * cf[C_V]
    while mask:
        v = trailing_zeros(mask)
        mask &= mask - 1
        j = base + v
        oc[ix(j, OC_LEN, OC_OCC)] -= 1
        pm[ix(ro, PM_LEN, PM_FULL)] &= ~(1 << v)
        if cf[C_WFTC] and oc[ix(j, OC_LEN, OC_OCC)] == 0 and oc[ix(j, OC_LEN, OC_TAIL)]:
            pm[ix(ro, PM_LEN, PM_USED)] &= ~(1 << v)


@njit(_nrt=False, inline="always")
def _clear_vc_bit(pm, nbuf, r, p, col, port_bit, bit):
    """Take VC `bit` out of input port p's mask `col` (PM_VA or PM_ACT); when
    the mask empties, clear the port's summary bit (p for PM_VA, P + p for PM_ACT)."""
    m = pm[ix(r * P + p, PM_LEN, col)] & ~bit
    pm[ix(r * P + p, PM_LEN, col)] = m
    if m == 0:
        nbuf[ix(r, NB_LEN, NB_PORTS)] &= ~(1 << port_bit)


@njit(_nrt=False, inline="always")
def _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv, o, t):
    """The switch winner iv sends its front flit to output o; returns its code.
    The flit arrives downstream, and its credit upstream, after the channel
    delays (written straight into the receivers' ring slots)."""
    v_count, w = cf[C_V], cf[C_W]
    g = r * cf[C_NV] + iv
    p = lut[ix(iv, LUT_LEN, LUT_PORT)]
    v = lut[ix(iv, LUT_LEN, LUT_VC)]
    ov = int(vs[ix(g, V_LEN, V_OVC)])
    node = vq[ix(g, Q_LEN, Q_HEAD)]
    code = fp[ix(node, FP_LEN, FP_CODE)]
    vq[ix(g, Q_LEN, Q_HEAD)] = fp[ix(node, FP_LEN, FP_NEXT)]
    vq[ix(g, Q_LEN, Q_CNT)] -= 1
    fp_free[iu(sc[S_FP_TOP])] = node
    sc[S_FP_TOP] += 1
    nbuf[ix(r, NB_LEN, NB_FLITS)] -= 1
    ro = r * P + o
    oj = ro * v_count + ov
    oc[ix(oj, OC_LEN, OC_OCC)] += 1
    if oc[ix(oj, OC_LEN, OC_OCC)] >= cf[C_B]:
        pm[ix(ro, PM_LEN, PM_FULL)] |= 1 << ov
    if code & 1:
        oc[ix(oj, OC_LEN, OC_TAIL)] = 1
        if not cf[C_WFTC]:
            pm[ix(ro, PM_LEN, PM_USED)] &= ~(1 << ov)
    out = (code & ~(63 << 2)) | (ov << 2)
    td = t + cf[C_DEP]
    if o == EJECT:
        ta = td + 2
        ring[ix(r * w + (ta & (w - 1)), RING_COLS, EV_EJECT)] = out
        _schedule(ev, wl, cf, r, ta, EV_EJECT)
    else:
        r2 = _neighbor(r, o, cf[C_K])
        ta = td + cf[C_DL] + 1
        ring[ix(r2 * w + (ta & (w - 1)), RING_COLS, o ^ 1)] = out
        _schedule(ev, wl, cf, r2, ta, o ^ 1)
    if p == EJECT:
        tc = t + 2
        ring[ix(r * w + (tc & (w - 1)), RING_COLS, EV_TM_CREDIT)] |= 1 << v
        _schedule(ev, wl, cf, r, tc, EV_TM_CREDIT)
    else:
        ru = _neighbor(r, p, cf[C_K])
        tc = t + cf[C_DL] + 1 + cf[C_CD]
        ring[ix(ru * w + (tc & (w - 1)), RING_COLS, EV_CREDIT + (p ^ 1))] |= 1 << v
        _schedule(ev, wl, cf, ru, tc, EV_CREDIT + (p ^ 1))
    return code


@njit(_nrt=False, inline="always")
def _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t):
    """Input VC iv got output VC j (port * V + VC) in this cycle's VC allocation."""
    v_count = cf[C_V]
    o = lut[ix(j, LUT_LEN, LUT_PORT)]
    ov = lut[ix(j, LUT_LEN, LUT_VC)]
    pm[ix(r * P + o, PM_LEN, PM_USED)] |= 1 << ov
    oc[ix((r * P + o) * v_count + ov, OC_LEN, OC_TAIL)] = 0
    g = r * cf[C_NV] + iv
    vs[ix(g, V_LEN, V_STATE)] = 2
    vs[ix(g, V_LEN, V_OUT)] = o
    vs[ix(g, V_LEN, V_OVC)] = ov
    vready[iu(g)] = t + cf[C_DVA]
    p = lut[ix(iv, LUT_LEN, LUT_PORT)]
    bit = 1 << lut[ix(iv, LUT_LEN, LUT_VC)]
    _clear_vc_bit(pm, nbuf, r, p, PM_VA, p, bit)
    pm[ix(r * P + p, PM_LEN, PM_ACT)] |= bit
    nbuf[ix(r, NB_LEN, NB_PORTS)] |= 1 << (P + p)


@njit(_nrt=False, inline="always")
def _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t):
    """The switch winner iv sends its front flit to output o; then its VC
    either waits for its next packet's VC allocation, stays active, or idles."""
    code = _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv, o, t)
    g = r * cf[C_NV] + iv
    p = lut[ix(iv, LUT_LEN, LUT_PORT)]
    bit = 1 << lut[ix(iv, LUT_LEN, LUT_VC)]
    if vq[ix(g, Q_LEN, Q_CNT)] == 0:
        _clear_vc_bit(pm, nbuf, r, p, PM_ACT, P + p, bit)
        if code & 1:
            vs[ix(g, V_LEN, V_STATE)] = 0
    elif code & 1:
        nxt = fp[ix(vq[ix(g, Q_LEN, Q_HEAD)], FP_LEN, FP_CODE)]
        vs[ix(g, V_LEN, V_STATE)] = 1
        vs[ix(g, V_LEN, V_ROUTE)] = _route(r, nxt, nxy)
        vready[iu(g)] = t + 1 + cf[C_R]
        _clear_vc_bit(pm, nbuf, r, p, PM_ACT, P + p, bit)
        pm[ix(r * P + p, PM_LEN, PM_VA)] |= bit
        nbuf[ix(r, NB_LEN, NB_PORTS)] |= 1 << p


@njit(_nrt=False, inline="always")
def _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o):
    """Pointer updates of a switch allocation with one request (iv for o):
    what iSLIP's first iteration does for its only grant."""
    v_count, ne = cf[C_V], cf[C_E]
    e = lut[ix(iv, LUT_LEN, LUT_EIN)]
    sa_gptr[iu(r * P + o)] = e + 1 if e + 1 < ne else 0
    sptr[ix(r * ne + e, SPT_LEN, SA_APTR)] = o + 1 if o + 1 < P else 0
    nxt = lut[ix(iv, LUT_LEN, LUT_VC)] + cf[C_IS]
    sptr[ix(r * ne + e, SPT_LEN, SW_RR)] = nxt if nxt < v_count else nxt - v_count


@njit(_nrt=False, inline="always")
def _router_cycle_one(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring,
                      sc, lut, nxy, pk, cf, r, t, iv):
    """`_router_cycle` for input VC iv when it is the only VC in play (waiting
    for a VC or active with a flit) on its output port and its crossbar input:
    each of its allocator requests is alone on both sides, so iSLIP reduces to
    its first iteration's grant and pointer updates (same results)."""
    v_count, nv = cf[C_V], cf[C_NV]
    g = r * nv + iv
    if vready[iu(g)] > t:
        return
    if vs[ix(g, V_LEN, V_STATE)] == 2:
        o = vs[ix(g, V_LEN, V_OUT)]
        if (pm[ix(r * P + o, PM_LEN, PM_FULL)] >> int(vs[ix(g, V_LEN, V_OVC)])) & 1:
            return
        _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o)
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t)
        return
    o = vs[ix(g, V_LEN, V_ROUTE)]
    used = pm[ix(r * P + o, PM_LEN, PM_USED)]
    free = ~used & ((1 << v_count) - 1)
    if free == 0:
        return
    # speculative switch request, on the state before this cycle's VC grant
    spec = cf[C_SPEC] and free & ~pm[ix(r * P + o, PM_LEN, PM_FULL)] != 0
    rel = vptr[ix(r * nv + iv, VP_LEN, APTR)] - o * v_count
    ov = _first_from(free, rel) if 0 < rel < v_count else trailing_zeros(free)
    j = o * v_count + ov
    vptr[ix(r * nv + j, VP_LEN, GPTR)] = iv + 1 if iv + 1 < nv else 0
    vptr[ix(r * nv + iv, VP_LEN, APTR)] = j + 1 if j + 1 < nv else 0
    full_ov = (pm[ix(r * P + o, PM_LEN, PM_FULL)] >> ov) & 1
    if spec:
        _sa_grant_one(sa_gptr, sptr, lut, cf, r, iv, o)
    _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t)
    if spec and full_ov == 0:
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r, iv, o, t)


@njit(_nrt=False, inline="always")
def _independent_vcs(vs, pm, scr_v, scr_e, lut, cf, r, ports):
    """Whether the input VCs in play (waiting for a VC, or active with a flit)
    can be allocated one by one: no two share an output port, and no two
    switch bidders (active VCs; waiting ones too when speculative) share a
    crossbar input. Then every allocator request is alone on both sides, so
    iSLIP grants each in its first iteration, and no VC's updates touch state
    another reads: `_router_cycle_one` per VC gives the full allocation's
    results. Returns 0 if not; else the mask of the bidders' crossbar inputs
    (bidder of input e in row e, column 2 of scr_e) in bits 0-59 and, in bits
    60-62, how many non-bidding waiting VCs are listed in column SV_LIST of scr_v."""
    v_count, nv, spec = cf[C_V], cf[C_NV], cf[C_SPEC]
    outs = 0
    ins = 0
    nw = 0
    while ports:
        b = trailing_zeros(ports)
        ports &= ports - 1
        if b < P:
            p, col = b, V_ROUTE
            m = pm[ix(r * P + p, PM_LEN, PM_VA)]
        else:
            p, col = b - P, V_OUT
            m = pm[ix(r * P + p, PM_LEN, PM_ACT)]
        while m:
            iv = p * v_count + trailing_zeros(m)
            m &= m - 1
            o = vs[ix(r * nv + iv, V_LEN, col)]
            if (outs >> o) & 1:
                return 0
            outs |= 1 << o
            if b < P and not spec:
                scr_v[ix(nw, SV_LEN, SV_LIST)] = iv
                nw += 1
                continue
            e = lut[ix(iv, LUT_LEN, LUT_EIN)]
            if (ins >> e) & 1:
                return 0
            ins |= 1 << e
            scr_e[ix(e, SCRE_LEN, 2)] = iv
    return ins | (nw << 60)


@njit(_nrt=False, inline="always")
def _router_cycle(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl, ring,
                  sc, scr_v, scr_p, scr_e, lut, nxy, pk, cf, r, t):
    """VC and switch allocation of router r in cycle t, then their updates."""
    v_count = cf[C_V]
    ports = nbuf[ix(r, NB_LEN, NB_PORTS)]
    if ports == 0:
        return
    # VCs that can be allocated one by one go to column SV_LIST of scr_v, in
    # the order iSLIP lists its grants, and through one `_router_cycle_one`
    # call site (each inlined copy of it costs about 30 s of compile time)
    n_one = 0
    if ports & (ports - 1) == 0:
        b = trailing_zeros(ports)
        m = pm[ix(r * P + b, PM_LEN, PM_VA)] if b < P else pm[ix(r * P + b - P, PM_LEN, PM_ACT)]
        if m & (m - 1) == 0:
            scr_v[ix(0, SV_LEN, SV_LIST)] = (b if b < P else b - P) * v_count + trailing_zeros(m)
            n_one = 1
    if n_one == 0:
        ind = _independent_vcs(vs, pm, scr_v, scr_e, lut, cf, r, ports)
        if ind:
            # the non-bidding waiting VCs are listed already; then the bidders in
            # ascending crossbar input, the order in which iSLIP lists its grants
            n_one = ind >> 60
            ins = ind & ((1 << 60) - 1)
            while ins:
                e = trailing_zeros(ins)
                ins &= ins - 1
                scr_v[ix(n_one, SV_LEN, SV_LIST)] = scr_e[ix(e, SCRE_LEN, 2)]
                n_one += 1
    if n_one:
        for k in range(n_one):
            _router_cycle_one(vq, vs, vready, pm, oc, vptr, sa_gptr, sptr, nbuf, fp, fp_free, ev, wl,
                              ring, sc, lut, nxy, pk, cf, r, t, scr_v[ix(k, SV_LEN, SV_LIST)])
        return
    nva = _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t, ports & 31) if ports & 31 else 0
    nwin = _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t, ports)
    for k in range(nva):
        iv = scr_v[ix(k, SV_LEN, SV_LIST)]
        j = scr_v[ix(iv, SV_LEN, SV_RES)]
        if j >= 0:
            _apply_va(vs, vready, pm, oc, nbuf, lut, cf, r, iv, j, t)
    for k in range(nwin):
        _switch(vq, vs, vready, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, nxy, pk, cf, r,
                scr_v[ix(k, SV_LEN, SV_WIN)], scr_v[ix(k, SV_LEN, SV_WIN_O)], t)
