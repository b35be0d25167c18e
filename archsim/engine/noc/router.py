"""Router kernels: input queuing, credits, VC and switch allocation (iSLIP).

`_router_cycle` is one cycle of BookSim2's IQRouter::_InternalStep after input
queuing: VC allocation and switch allocation are both evaluated on the state
at the start of the cycle, then the VC grants are applied, then the switch
grants (so a tail that leaves frees its output VC only after this cycle's VC
allocation was evaluated, as in BookSim). Requests, grants and pointer updates
follow BookSim's iSLIP_Sparse and IQRouter; docs/noc.md lists each rule. Sets
of VCs, inputs and outputs are 64-bit masks.
"""
from __future__ import annotations

from numba.cpython.unsafe.numbers import trailing_zeros

from archsim.engine.jit import njit
from archsim.engine.noc.state import (LUT_EIN, LUT_EPORT, LUT_PORT, LUT_VC, APTR, C_B, C_CD, C_DEP, C_DL, C_DVA, C_E, C_IS, C_ITERS,
                                      C_K, C_N, C_NV, C_R, C_SPEC, C_V, C_W, C_WFTC, EJECT,
                                      EV_CREDIT, EV_EJECT, EV_TM_CREDIT, F_BUSY, FP_CODE, FP_NEXT,
                                      GPTR, OC_OCC, OC_TAIL, P, PK_DST, PM_ACT, PM_FULL, PM_USED,
                                      PM_VA, Q_CNT, Q_HEAD, Q_TAIL, S_BUSY_N, S_FP_TOP, SA_APTR,
                                      SV_GLIST, SV_GTO, SV_LIST, SV_RES, SV_WIN, SV_WIN_O, SW_RR,
                                      V_OUT, V_OVC, V_ROUTE, V_STATE)


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
def _supersedes(in1, pri1, in2, pri2, offset, size):
    """BookSim's RoundRobinArbiter::Supersedes (inputs and offset in [0, size))."""
    if pri1 != pri2:
        return pri1 > pri2
    d1 = in1 - offset
    if d1 < 0:
        d1 += size
    d2 = in2 - offset
    if d2 < 0:
        d2 += size
    return d1 < d2


@njit(_nrt=False, inline="always")
def _first_from(m, start):
    """Index of the first set bit of m at or after `start`, wrapping around."""
    hi = m & (-1 << start)
    return trailing_zeros(hi) if hi != 0 else trailing_zeros(m)


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
    nbuf[r] += 1
    st = vs[g, V_STATE]
    if st == 0:
        vs[g, V_STATE] = 1
        vs[g, V_ROUTE] = _route(r, pk[code >> 8, PK_DST], nxy)
        vready[g] = t + cf[C_R]
        pm[r * P + p, PM_VA] |= 1 << v
    elif st == 2 and vq[g, Q_CNT] == 1:
        pm[r * P + p, PM_ACT] |= 1 << v


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
def _first_iv_from(scr_p, lut, o, start, v_count):
    """First input VC (p * V + v) bidding for port o at or after `start`, cyclically."""
    ps = lut[start, LUT_PORT]
    m = scr_p[o, ps] & (-1 << lut[start, LUT_VC])
    if m != 0:
        return ps * v_count + trailing_zeros(m)
    for k in range(1, P + 1):
        p = ps + k
        if p >= P:
            p -= P
        m = scr_p[o, p]
        if m != 0:
            return p * v_count + trailing_zeros(m)
    return -1


@njit(_nrt=False, inline="always")
def _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t):
    """VC allocation: every waiting head bids for every free output VC of its
    route; iSLIP. Returns the number of bidders (scr_v[:, SV_LIST]), each with
    its match in scr_v[iv, SV_RES] (output port * V + VC, or -1)."""
    v_count, nv = cf[C_V], cf[C_NV]
    all_vcs = (1 << v_count) - 1
    nreq = 0
    ports = 0
    for p in range(P):
        m = pm[r * P + p, PM_VA]
        while m:
            v = trailing_zeros(m)
            m &= m - 1
            iv = p * v_count + v
            g = r * nv + iv
            if vready[g] > t:
                continue
            scr_v[iv, SV_RES] = -1
            scr_v[nreq, SV_LIST] = iv
            nreq += 1
            o = vs[g, V_ROUTE]
            if (ports >> o) & 1 == 0:
                ports |= 1 << o
                scr_p[o, P] = ~pm[r * P + o, PM_USED] & all_vcs
                for q in range(P):
                    scr_p[o, q] = 0
            if scr_p[o, P] != 0:
                scr_p[o, p] |= 1 << v
    if nreq > 0:
        _islip_va(vs, vptr, scr_v, scr_p, lut, cf, r, ports)
    return nreq


@njit(_nrt=False, inline="always")
def _islip_va(vs, vptr, scr_v, scr_p, lut, cf, r, ports):
    """BookSim's iSLIP_Sparse over input VCs x output VCs."""
    v_count, nv = cf[C_V], cf[C_NV]
    for it in range(cf[C_ITERS]):
        ng = 0
        pm_ = ports
        while pm_:
            o = trailing_zeros(pm_)
            pm_ &= pm_ - 1
            bidders = 0
            for q in range(P):
                bidders |= scr_p[o, q]
            if bidders == 0:
                continue
            free = scr_p[o, P]
            while free:
                ov = trailing_zeros(free)
                free &= free - 1
                iv = _first_iv_from(scr_p, lut, o, vptr[r * nv + o * v_count + ov, GPTR], v_count)
                if scr_v[iv, SV_GTO] == 0:
                    scr_v[ng, SV_GLIST] = iv
                    ng += 1
                scr_v[iv, SV_GTO] |= 1 << ov
        if ng == 0:
            break
        for k in range(ng):
            iv = scr_v[k, SV_GLIST]
            gm = scr_v[iv, SV_GTO]
            scr_v[iv, SV_GTO] = 0
            o = vs[r * nv + iv, V_ROUTE]
            rel = vptr[r * nv + iv, APTR] - o * v_count
            ov = _first_from(gm, rel) if 0 < rel < v_count else trailing_zeros(gm)
            j = o * v_count + ov
            scr_v[iv, SV_RES] = j
            scr_p[o, lut[iv, LUT_PORT]] &= ~(1 << lut[iv, LUT_VC])
            scr_p[o, P] &= ~(1 << ov)
            if it == 0:
                vptr[r * nv + j, GPTR] = iv + 1 if iv + 1 < nv else 0
                vptr[r * nv + iv, APTR] = j + 1 if j + 1 < nv else 0


@njit(_nrt=False, inline="always")
def _sa_requests(vs, vready, pm, sptr, scr_p, scr_e, lut, cf, r, t):
    """Switch requests, one per (expanded input, output): the VC chosen by
    BookSim's Supersedes rule. A speculative head (still waiting for its VC)
    bids with lower priority and only if its port has a free VC with a free
    slot. Returns the mask of requested outputs (bidders in scr_p[o, P + 1])."""
    v_count, nv, isp, ne = cf[C_V], cf[C_NV], cf[C_IS], cf[C_E]
    spec = cf[C_SPEC]
    all_vcs = (1 << v_count) - 1
    outs = 0
    for p in range(P):
        m = pm[r * P + p, PM_ACT]
        if spec:
            m |= pm[r * P + p, PM_VA]
        while m:
            v = trailing_zeros(m)
            m &= m - 1
            g = r * nv + p * v_count + v
            if vready[g] > t:
                continue
            if vs[g, V_STATE] == 2:
                o = vs[g, V_OUT]
                if (pm[r * P + o, PM_FULL] >> vs[g, V_OVC]) & 1:
                    continue
                pri = 0
            else:
                o = vs[g, V_ROUTE]
                if ~(pm[r * P + o, PM_USED] | pm[r * P + o, PM_FULL]) & all_vcs == 0:
                    continue
                pri = -1
            e = lut[p * v_count + v, LUT_EIN]
            k = e * P + o
            if (outs >> o) & 1 == 0:
                outs |= 1 << o
                scr_p[o, P + 1] = 0
            if (scr_p[o, P + 1] >> e) & 1 == 0:
                scr_p[o, P + 1] |= 1 << e
                scr_e[k, 0] = v
                scr_e[k, 1] = pri
            elif _supersedes(v, pri, scr_e[k, 0], scr_e[k, 1], sptr[r * ne + e, SW_RR], v_count):
                scr_e[k, 0] = v
                scr_e[k, 1] = pri
    return outs


@njit(_nrt=False, inline="always")
def _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t):
    """Switch allocation (iSLIP over expanded inputs x outputs); returns the
    number of winners (scr_v[:, SV_WIN], scr_v[:, SV_WIN_O]). A speculative
    winner keeps its grant only if this cycle's VC allocation gave it an
    output VC on that port with a free slot; otherwise the output idles."""
    outs = _sa_requests(vs, vready, pm, sptr, scr_p, scr_e, lut, cf, r, t)
    if outs == 0:
        return 0
    v_count, nv, isp, ne = cf[C_V], cf[C_NV], cf[C_IS], cf[C_E]
    iters = cf[C_ITERS]
    nwin = 0
    for it in range(iters):
        granted = 0
        om = outs
        while om:
            o = trailing_zeros(om)
            om &= om - 1
            m = scr_p[o, P + 1]
            if m == 0:
                continue
            e = _first_from(m, sa_gptr[r * P + o])
            if (granted >> e) & 1 == 0:
                granted |= 1 << e
                scr_e[e, 2] = 0
            scr_e[e, 2] |= 1 << o
        if granted == 0:
            break
        while granted:
            e = trailing_zeros(granted)
            granted &= granted - 1
            o = _first_from(scr_e[e, 2], sptr[r * ne + e, SA_APTR])
            outs &= ~(1 << o)
            if iters > 1:
                for q in range(P):
                    scr_p[q, P + 1] &= ~(1 << e)
            if it == 0:
                sa_gptr[r * P + o] = e + 1 if e + 1 < ne else 0
                sptr[r * ne + e, SA_APTR] = o + 1 if o + 1 < P else 0
            v = scr_e[e * P + o, 0]
            iv = lut[e, LUT_EPORT] * v_count + v
            nxt = v + isp
            sptr[r * ne + e, SW_RR] = nxt if nxt < v_count else nxt - v_count
            if vs[r * nv + iv, V_STATE] == 1:
                j = scr_v[iv, SV_RES]
                if j < 0 or lut[j, LUT_PORT] != o or (pm[r * P + o, PM_FULL] >> lut[j, LUT_VC]) & 1:
                    continue
            scr_v[nwin, SV_WIN] = iv
            scr_v[nwin, SV_WIN_O] = o
            nwin += 1
    return nwin


@njit(_nrt=False, inline="always")
def _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv, o, t):
    """The switch winner iv sends its front flit to output o; returns its code.
    The flit arrives downstream, and its credit upstream, after the channel
    delays (written straight into the receivers' ring slots)."""
    v_count, w = cf[C_V], cf[C_W]
    g = r * cf[C_NV] + iv
    p = lut[iv, LUT_PORT]
    v = lut[iv, LUT_VC]
    ov = vs[g, V_OVC]
    node = vq[g, Q_HEAD]
    code = fp[node, FP_CODE]
    vq[g, Q_HEAD] = fp[node, FP_NEXT]
    vq[g, Q_CNT] -= 1
    fp_free[sc[S_FP_TOP]] = node
    sc[S_FP_TOP] += 1
    nbuf[r] -= 1
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
    nva = _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t)
    nwin = _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t)
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
        pm[r * P + p, PM_VA] &= ~bit
        pm[r * P + p, PM_ACT] |= bit
    for k in range(nwin):
        iv = scr_v[k, SV_WIN]
        code = _send_flit(vq, vs, pm, oc, nbuf, fp, fp_free, ev, wl, ring, sc, lut, cf, r, iv,
                          scr_v[k, SV_WIN_O], t)
        g = r * nv + iv
        p = lut[iv, LUT_PORT]
        bit = 1 << lut[iv, LUT_VC]
        if vq[g, Q_CNT] == 0:
            pm[r * P + p, PM_ACT] &= ~bit
            if code & 1:
                vs[g, V_STATE] = 0
        elif code & 1:
            nxt = fp[vq[g, Q_HEAD], FP_CODE]
            vs[g, V_STATE] = 1
            vs[g, V_ROUTE] = _route(r, pk[nxt >> 8, PK_DST], nxy)
            vready[g] = t + 1 + cf[C_R]
            pm[r * P + p, PM_ACT] &= ~bit
            pm[r * P + p, PM_VA] |= bit
