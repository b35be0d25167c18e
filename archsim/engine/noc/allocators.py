"""VC and switch allocators: BookSim2's iSLIP_Sparse on 64-bit masks.

Both allocators evaluate requests on the router state at the start of the
cycle and leave their matches in scratch arrays; `router._router_cycle`
applies them. Each function cites the BookSim2 routine whose rules it follows
(src/routers/iq_router.cpp, src/allocators/islip.cpp).
"""
from __future__ import annotations

from archsim.engine.noc.bits import iu, ix, trailing_zeros

from archsim.engine.jit import njit
from archsim.engine.noc.state import (APTR, C_E, C_IS, C_ITERS, C_NV, C_SPEC, C_V, GPTR, LUT_EIN, LUT_EPORT,
                                      LUT_LEN, LUT_PORT, LUT_VC, P, PM_ACT, PM_FULL, PM_LEN, PM_USED, PM_VA,
                                      SA_APTR, SCRE_LEN, SCRP_LEN, SPT_LEN, SV_GLIST, SV_GTO, SV_LEN, SV_LIST,
                                      SV_RES, SV_WIN, SV_WIN_O, SW_RR, VP_LEN, V_LEN, V_OUT, V_OVC, V_ROUTE,
                                      V_STATE)


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
def _first_iv_from(scr_p, lut, o, start, v_count):
    """First input VC (p * V + v) bidding for port o at or after `start`, cyclically."""
    ps = lut[ix(start, LUT_LEN, LUT_PORT)]
    m = scr_p[ix(o, SCRP_LEN, ps)] & (-1 << lut[ix(start, LUT_LEN, LUT_VC)])
    if m != 0:
        return ps * v_count + trailing_zeros(m)
    for k in range(1, P + 1):
        p = ps + k
        if p >= P:
            p -= P
        m = scr_p[ix(o, SCRP_LEN, p)]
        if m != 0:
            return p * v_count + trailing_zeros(m)
    return -1


@njit(_nrt=False, inline="always")
def _va_evaluate(vs, vready, pm, vptr, scr_v, scr_p, lut, cf, r, t, va_ports):
    """VC allocation: every waiting head bids for every free output VC of its
    route; iSLIP. Returns the number of bidders (column SV_LIST of scr_v), each with
    its match in row iv, column SV_RES (output port * V + VC, or -1)."""
    v_count, nv = cf[C_V], cf[C_NV]
    all_vcs = (1 << v_count) - 1
    nreq = 0
    ports = 0
    while va_ports:
        p = trailing_zeros(va_ports)
        va_ports &= va_ports - 1
        m = pm[ix(r * P + p, PM_LEN, PM_VA)]
        while m:
            v = trailing_zeros(m)
            m &= m - 1
            iv = p * v_count + v
            g = r * nv + iv
            if vready[iu(g)] > t:
                continue
            scr_v[ix(iv, SV_LEN, SV_RES)] = -1
            scr_v[ix(nreq, SV_LEN, SV_LIST)] = iv
            nreq += 1
            o = vs[ix(g, V_LEN, V_ROUTE)]
            if (ports >> o) & 1 == 0:
                ports |= 1 << o
                scr_p[ix(o, SCRP_LEN, P)] = ~pm[ix(r * P + o, PM_LEN, PM_USED)] & all_vcs
                for q in range(P):
                    scr_p[ix(o, SCRP_LEN, q)] = 0
            if scr_p[ix(o, SCRP_LEN, P)] != 0:
                scr_p[ix(o, SCRP_LEN, p)] |= 1 << v
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
            free = scr_p[ix(o, SCRP_LEN, P)]
            if free == 0:
                continue
            nq = 0
            qq = 0
            for q in range(P):
                if scr_p[ix(o, SCRP_LEN, q)] != 0:
                    nq += 1
                    qq = q
            if nq == 0:
                continue
            b = scr_p[ix(o, SCRP_LEN, qq)]
            if nq == 1 and b & (b - 1) == 0:
                # a single bidder: every free output VC grants it
                iv = qq * v_count + trailing_zeros(b)
                if scr_v[ix(iv, SV_LEN, SV_GTO)] == 0:
                    scr_v[ix(ng, SV_LEN, SV_GLIST)] = iv
                    ng += 1
                scr_v[ix(iv, SV_LEN, SV_GTO)] |= free
                continue
            while free:
                ov = trailing_zeros(free)
                free &= free - 1
                iv = _first_iv_from(scr_p, lut, o, vptr[ix(r * nv + o * v_count + ov, VP_LEN, GPTR)], v_count)
                if scr_v[ix(iv, SV_LEN, SV_GTO)] == 0:
                    scr_v[ix(ng, SV_LEN, SV_GLIST)] = iv
                    ng += 1
                scr_v[ix(iv, SV_LEN, SV_GTO)] |= 1 << ov
        if ng == 0:
            break
        for k in range(ng):
            iv = scr_v[ix(k, SV_LEN, SV_GLIST)]
            gm = scr_v[ix(iv, SV_LEN, SV_GTO)]
            scr_v[ix(iv, SV_LEN, SV_GTO)] = 0
            o = vs[ix(r * nv + iv, V_LEN, V_ROUTE)]
            rel = vptr[ix(r * nv + iv, VP_LEN, APTR)] - o * v_count
            ov = _first_from(gm, rel) if 0 < rel < v_count else trailing_zeros(gm)
            j = o * v_count + ov
            scr_v[ix(iv, SV_LEN, SV_RES)] = j
            scr_p[ix(o, SCRP_LEN, lut[ix(iv, LUT_LEN, LUT_PORT)])] &= ~(1 << lut[ix(iv, LUT_LEN, LUT_VC)])
            scr_p[ix(o, SCRP_LEN, P)] &= ~(1 << ov)
            if it == 0:
                vptr[ix(r * nv + j, VP_LEN, GPTR)] = iv + 1 if iv + 1 < nv else 0
                vptr[ix(r * nv + iv, VP_LEN, APTR)] = j + 1 if j + 1 < nv else 0


@njit(_nrt=False, inline="always")
def _sa_requests(vs, vready, pm, sptr, scr_p, scr_e, lut, cf, r, t, ports):
    """Switch requests, one per (expanded input, output): the VC chosen by
    BookSim's Supersedes rule. A speculative head (still waiting for its VC)
    bids with lower priority and only if its port has a free VC with a free
    slot. Returns the mask of requested outputs (bidders in row o, column P + 1 of scr_p)."""
    v_count, nv, isp, ne = cf[C_V], cf[C_NV], cf[C_IS], cf[C_E]
    spec = cf[C_SPEC]
    all_vcs = (1 << v_count) - 1
    outs = 0
    in_ports = (ports >> P) | (ports & 31 if spec else 0)
    while in_ports:
        p = trailing_zeros(in_ports)
        in_ports &= in_ports - 1
        m = pm[ix(r * P + p, PM_LEN, PM_ACT)]
        if spec:
            m |= pm[ix(r * P + p, PM_LEN, PM_VA)]
        while m:
            v = trailing_zeros(m)
            m &= m - 1
            g = r * nv + p * v_count + v
            if vready[iu(g)] > t:
                continue
            if vs[ix(g, V_LEN, V_STATE)] == 2:
                o = vs[ix(g, V_LEN, V_OUT)]
                if (pm[ix(r * P + o, PM_LEN, PM_FULL)] >> int(vs[ix(g, V_LEN, V_OVC)])) & 1:
                    continue
                pri = 0
            else:
                o = vs[ix(g, V_LEN, V_ROUTE)]
                if ~(pm[ix(r * P + o, PM_LEN, PM_USED)] | pm[ix(r * P + o, PM_LEN, PM_FULL)]) & all_vcs == 0:
                    continue
                pri = -1
            e = lut[ix(p * v_count + v, LUT_LEN, LUT_EIN)]
            k = e * P + o
            if (outs >> o) & 1 == 0:
                outs |= 1 << o
                scr_p[ix(o, SCRP_LEN, P + 1)] = 0
            if (scr_p[ix(o, SCRP_LEN, P + 1)] >> e) & 1 == 0:
                scr_p[ix(o, SCRP_LEN, P + 1)] |= 1 << e
                scr_e[ix(k, SCRE_LEN, 0)] = v
                scr_e[ix(k, SCRE_LEN, 1)] = pri
            elif _supersedes(v, pri, scr_e[ix(k, SCRE_LEN, 0)], scr_e[ix(k, SCRE_LEN, 1)],
                             sptr[ix(r * ne + e, SPT_LEN, SW_RR)], v_count):
                scr_e[ix(k, SCRE_LEN, 0)] = v
                scr_e[ix(k, SCRE_LEN, 1)] = pri
    return outs


@njit(_nrt=False, inline="always")
def _sa_evaluate(vs, vready, pm, sa_gptr, sptr, scr_v, scr_p, scr_e, lut, cf, r, t, ports):
    """Switch allocation (iSLIP over expanded inputs x outputs); returns the
    number of winners (columns SV_WIN, SV_WIN_O of scr_v). A speculative
    winner keeps its grant only if this cycle's VC allocation gave it an
    output VC on that port with a free slot; otherwise the output idles."""
    outs = _sa_requests(vs, vready, pm, sptr, scr_p, scr_e, lut, cf, r, t, ports)
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
            m = scr_p[ix(o, SCRP_LEN, P + 1)]
            if m == 0:
                continue
            e = _first_from(m, sa_gptr[iu(r * P + o)])
            if (granted >> e) & 1 == 0:
                granted |= 1 << e
                scr_e[ix(e, SCRE_LEN, 2)] = 0
            scr_e[ix(e, SCRE_LEN, 2)] |= 1 << o
        if granted == 0:
            break
        while granted:
            e = trailing_zeros(granted)
            granted &= granted - 1
            o = _first_from(scr_e[ix(e, SCRE_LEN, 2)], sptr[ix(r * ne + e, SPT_LEN, SA_APTR)])
            outs &= ~(1 << o)
            if iters > 1:
                for q in range(P):
                    scr_p[ix(q, SCRP_LEN, P + 1)] &= ~(1 << e)
            if it == 0:
                sa_gptr[iu(r * P + o)] = e + 1 if e + 1 < ne else 0
                sptr[ix(r * ne + e, SPT_LEN, SA_APTR)] = o + 1 if o + 1 < P else 0
            v = scr_e[ix(e * P + o, SCRE_LEN, 0)]
            iv = lut[ix(e, LUT_LEN, LUT_EPORT)] * v_count + v
            nxt = v + isp
            sptr[ix(r * ne + e, SPT_LEN, SW_RR)] = nxt if nxt < v_count else nxt - v_count
            if vs[ix(r * nv + iv, V_LEN, V_STATE)] == 1:
                j = scr_v[ix(iv, SV_LEN, SV_RES)]
                if j < 0 or lut[ix(j, LUT_LEN, LUT_PORT)] != o or \
                        (pm[ix(r * P + o, PM_LEN, PM_FULL)] >> lut[ix(j, LUT_LEN, LUT_VC)]) & 1:
                    continue
            scr_v[ix(nwin, SV_LEN, SV_WIN)] = iv
            scr_v[ix(nwin, SV_LEN, SV_WIN_O)] = o
            nwin += 1
    return nwin
