"""Array layout of the network kernel: allocation and column constants.

The kernels take only arrays and scalars, passed one by one: numba borrows
array arguments for free, while every member of a tuple or field of a
structref costs an atomic reference-count update per access (measured: 75% of
the run time). Related fields therefore share a 2-D array, and the column
constants below name the columns. The kernels see every array as a 1-D view
(`flat`) and index it as `a[ix(row, X_LEN, column)]`: with the row length a
compile-time constant and the index unsigned, numba emits neither a stride
load nor negative-index wraparound per access (25% faster, measured on the
8x8 reference routers; tools/bench_noc.py).

Ports follow BookSim2's KNCube numbering: output 0 is +x, 1 is -x, 2 is +y,
3 is -y, 4 the local node (ejection); input p is the channel arriving *from*
direction p (input 0 comes from the +x neighbour), input 4 is injection. The
output o of router r feeds input o ^ 1 of its neighbour.

A flit is one int64 code: bit 0 tail, bit 1 head, bits 2-7 the VC it will
occupy, bits 8-19 and 20-31 its destination's x and y (routing reads them
there rather than in the packet table), bits 32 and up the packet id. Channels are rings of W slots (W a power
of two longer than any channel). Each (router, slot) has an event mask saying
what arrives in that cycle, and `ring[r * W + slot, k]` holds it: k = 0-4 a
flit at input k, 5-9 a credit mask for output k - 5, 10 a credit mask back to
the injecting terminal, 11 a flit reaching the ejecting terminal.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from archsim.engine.noc.config import NocConfig

P = 5
EJECT = 4
EV_CREDIT = 5
EV_TM_CREDIT = 10
EV_EJECT = 11
RING_COLS = 12

# the int64 config vector `cf`
(C_V, C_NV, C_B, C_W, C_IS, C_E, C_K, C_M, C_N, C_R, C_DVA, C_DEP, C_DL, C_CD,
 C_SPEC, C_WFTC, C_ITERS, C_LEN) = range(18)
# the int64 scalar vector `sc`
(S_FP_TOP, S_BUSY_N, S_TML_N, S_HEAP_N, S_PK_TOP, S_IF_FLITS, S_IF_CTIME,
 S_MEAS_PKTS, S_DONE_MSGS, S_REL_PTR, S_LEN) = range(11)
# the float64 statistics vector `stats`
(T_PLAT_SUM, T_PLAT_N, T_PLAT_MIN, T_PLAT_MAX, T_NLAT_SUM, T_NLAT_MIN, T_NLAT_MAX,
 T_HOPS_SUM, T_ACC_FLITS, T_SENT_FLITS, T_ACC_PKTS, T_LEN) = range(12)

# columns
Q_HEAD, Q_TAIL, Q_CNT, Q_LEN = range(4)  # vq: input VC FIFO (into the flit pool)
V_STATE, V_ROUTE, V_OUT, V_OVC, V_LEN = range(5)  # vs: 0 idle, 1 waiting for a VC, 2 active
PM_VA, PM_ACT, PM_USED, PM_FULL, PM_LEN = range(5)  # pm[(r * P + port)]: VC bit masks
OC_OCC, OC_TAIL, OC_LEN = range(3)  # oc: output VC occupancy downstream
GPTR, APTR, VP_LEN = range(3)  # vptr: VC allocator iSLIP pointers
SA_APTR, SW_RR, SPT_LEN = range(3)  # sptr[(r * E + e)]: switch allocator
FP_CODE, FP_NEXT, FP_LEN = range(3)  # fp: flit pool
TM_PID, TM_FIDX, TM_VC, TM_LASTVC, TM_LEN = range(5)  # tm: terminal's packet in injection
TV_INUSE, TV_TAIL, TV_OCC, TV_LEN = range(4)  # tmv: injection channel buffer state
F_BUSY, F_TML, F_LEN = range(3)  # flags: in the busy lists
NB_FLITS, NB_PORTS, NB_LEN = range(3)  # nbuf: per-router summary
SV_LIST, SV_RES, SV_GTO, SV_GLIST, SV_WIN, SV_WIN_O, SV_LEN = range(7)  # scr_v scratch
LUT_PORT, LUT_VC, LUT_EIN, LUT_EPORT, LUT_LEN = range(5)  # lut: divisions the kernels look up instead
PK_SRC, PK_DST, PK_NFL, PK_CTIME, PK_ITIME, PK_ATIME, PK_LEFT, PK_REC, PK_MSG, PK_NEXT, PK_LEN = range(11)
SQ_HEAD, SQ_TAIL, SQ_NEXT_CT, SQ_LEN = range(4)  # sq: per-source queue
M_EARLIEST, M_READY, M_NDEPS, M_LEFT, M_FIRST, M_NPK, M_ATIME, M_DELAY, M_LEN = range(9)
SCRP_LEN = P + 2  # scr_p row: VC requests per input port, free VCs, switch requests
SCRE_LEN = 3  # scr_e row: switch request VC, priority, grants
XY_LEN = 2  # nxy row: x, y
HP_LEN = 2  # hp row: cycle, id

NEVER = 2**62


class NetState(NamedTuple):
    """Routers, channels and terminals (see the module docstring for columns)."""

    vq: np.ndarray        # (N * NV, 3) int32, row (r * P + p) * V + v
    vs: np.ndarray        # (N * NV, 4) int8
    vready: np.ndarray    # (N * NV,) int64: first cycle the VC may bid in its state
    pm: np.ndarray        # (N * P, 4) int64
    oc: np.ndarray        # (N * NV, 2) int32, row (r * P + o) * V + v
    vptr: np.ndarray      # (N * NV, 2) int32: grant pointer of output VC row, accept of input VC row
    sa_gptr: np.ndarray   # (N * P,) int32
    sptr: np.ndarray      # (N * E, 2) int32
    nbuf: np.ndarray      # (N, 2) int64: flits buffered; ports with VCs waiting (bits 0-4) / active (5-9)
    fp: np.ndarray        # (F, 2) int64
    fp_free: np.ndarray   # (F,) int32 stack
    ev: np.ndarray        # (N * W,) int32 event masks
    wl: np.ndarray        # (W, N + 1) int32: routers with events per slot; count in column N
    ring: np.ndarray      # (N * W, 12) int64
    busy: np.ndarray      # (N,) int32 routers holding flits
    tml: np.ndarray       # (N,) int32 terminals with something to inject
    flags: np.ndarray     # (N, 2) uint8
    tm: np.ndarray        # (N, 4) int64
    tmv: np.ndarray       # (N * V, 3) int32
    scr_v: np.ndarray     # (NV, 6) int64 allocator scratch
    scr_p: np.ndarray     # (P, P + 2) int64: VC requests [o, p], free VCs [o, P], switch requests [o, P+1]
    scr_e: np.ndarray     # (E * P, 3) int64: switch request label, priority; grants per input [e, 2]
    sc: np.ndarray        # (S_LEN,) int64
    lut: np.ndarray       # (max(NV, E), 4) int64: port, VC and expanded input of input VC iv; port of input e
    nxy: np.ndarray       # (N, 2) int64: x and y of each node


class Traffic(NamedTuple):
    pk: np.ndarray        # (packets, PK_LEN) int64
    pk_free: np.ndarray   # (packets,) int64 free slots (synthetic); int64 like every packet id (see new_traffic)
    sq: np.ndarray        # (N, 3) int64
    msg: np.ndarray       # (messages, M_LEN) int64
    succ_ptr: np.ndarray  # (messages + 1,) int64: dependants of each message, CSR
    succ_idx: np.ndarray
    rel: np.ndarray       # messages without dependencies, by (earliest, id)
    hp: np.ndarray        # (H, 2) int64 release heap of (cycle, id)
    stats: np.ndarray     # (T_LEN,) float64


def depart_offset(cfg: NocConfig) -> int:
    """Cycles from a switch grant to the flit leaving on its output channel."""
    alloc = max(cfg.vc_alloc_delay, cfg.sw_alloc_delay) if cfg.speculative else cfg.sw_alloc_delay
    return alloc - 1 + cfg.crossbar_delay


def ring_size(cfg: NocConfig) -> int:
    dep = depart_offset(cfg)
    reach = max(dep + cfg.link_delay + 1, cfg.link_delay + 1 + cfg.credit_delay, dep + 2,
                2 + cfg.credit_delay, 2)
    w = 2
    while w <= reach:
        w *= 2
    return w


def config_vector(cfg: NocConfig) -> np.ndarray:
    cf = np.zeros(C_LEN, np.int64)
    v = cfg.num_vcs
    cf[C_V], cf[C_NV], cf[C_B], cf[C_W] = v, P * v, cfg.vc_buf_size, ring_size(cfg)
    cf[C_IS], cf[C_E] = cfg.input_speedup, P * cfg.input_speedup
    cf[C_K], cf[C_M], cf[C_N] = cfg.mesh_x, cfg.mesh_y, cfg.nodes
    cf[C_R], cf[C_DVA], cf[C_DEP] = cfg.routing_delay, cfg.vc_alloc_delay, depart_offset(cfg)
    cf[C_DL], cf[C_CD] = cfg.link_delay, cfg.credit_delay
    cf[C_SPEC], cf[C_WFTC], cf[C_ITERS] = int(cfg.speculative), int(cfg.wait_for_tail_credit), cfg.alloc_iters
    return cf


def check_state_size(cfg: NocConfig, flit_capacity: int, packet_rows: int) -> None:
    """Refuse, before allocating, a simulation whose state (new_net_state and new_traffic's packet
    table) would exceed archsim's limit: a 1000x1000 mesh asked for 18-26 GiB."""
    from archsim.errors import ArchsimInputError
    from archsim.limits import MAX_NOC_STATE_BYTES

    n, w, e = cfg.nodes, ring_size(cfg), P * cfg.input_speedup
    g = n * P * cfg.num_vcs
    per_vc = Q_LEN * 4 + V_LEN + 8 + OC_LEN * 4 + VP_LEN * 4
    per_node = (w * (RING_COLS * 8 + 4 + 4) + P * (PM_LEN * 8 + 4) + e * SPT_LEN * 4 + TM_LEN * 8 + NB_LEN * 8
                + cfg.num_vcs * TV_LEN * 4 + SQ_LEN * 8 + HP_LEN * 8 + F_LEN + XY_LEN * 8 + 4 + 4 + 4)
    fixed = 2**16  # scratch rows and lookup tables, a few KiB
    total = (fixed + g * per_vc + n * per_node + flit_capacity * (FP_LEN * 8 + 4)
             + packet_rows * (PK_LEN * 8 + 4))
    if total > MAX_NOC_STATE_BYTES:
        raise ArchsimInputError(
            f"the cycle-level network state of a {cfg.mesh_x}x{cfg.mesh_y} mesh with {cfg.num_vcs} VC(s) of "
            f"{cfg.vc_buf_size} flits would take {total / 2**30:,.1f} GiB; archsim's limit is "
            f"{MAX_NOC_STATE_BYTES / 2**30:g} GiB: use a smaller mesh or fewer, shorter buffers")


def new_net_state(cfg: NocConfig, flit_capacity: int) -> NetState:
    n, v = cfg.nodes, cfg.num_vcs
    nv, w, e = P * v, ring_size(cfg), P * cfg.input_speedup
    g = n * nv
    i32, i64, z = np.int32, np.int64, np.zeros
    vq = z((g, Q_LEN), i32)
    vq[:, Q_HEAD] = vq[:, Q_TAIL] = -1
    sptr = z((n * e, SPT_LEN), i32)
    sptr[:, SW_RR] = np.tile(np.arange(e) % cfg.input_speedup, n)
    fp = z((flit_capacity, FP_LEN), i64)
    tm = z((n, TM_LEN), i64)
    tm[:, TM_PID] = tm[:, TM_VC] = tm[:, TM_LASTVC] = -1
    sc = z(S_LEN, i64)
    sc[S_FP_TOP] = flit_capacity
    lut = z((max(nv, e), LUT_LEN), i64)
    iv = np.arange(nv)
    lut[:nv, LUT_PORT], lut[:nv, LUT_VC] = iv // v, iv % v
    lut[:nv, LUT_EIN] = (iv // v) * cfg.input_speedup + (iv % v) % cfg.input_speedup
    lut[:e, LUT_EPORT] = np.arange(e) // cfg.input_speedup
    nodes = np.arange(n)
    nxy = np.stack([nodes % cfg.mesh_x, nodes // cfg.mesh_x], axis=1).astype(i64)
    return NetState(
        vq=vq, vs=z((g, V_LEN), np.int8), vready=z(g, i64), pm=z((n * P, PM_LEN), i64),
        oc=z((g, OC_LEN), i32),
        vptr=z((g, VP_LEN), i32), sa_gptr=z(n * P, i32), sptr=sptr, nbuf=z((n, NB_LEN), i64), fp=fp,
        fp_free=np.arange(flit_capacity - 1, -1, -1, dtype=i32), ev=z(n * w, i32),
        wl=z((w, n + 1), i32), ring=z((n * w, RING_COLS), i64), busy=z(n, i32), tml=z(n, i32),
        flags=z((n, F_LEN), np.uint8), tm=tm, tmv=z((n * v, TV_LEN), i32), scr_v=z((nv, SV_LEN), i64),
        scr_p=z((P, SCRP_LEN), i64), scr_e=z((e * P, SCRE_LEN), i64), sc=sc, lut=lut, nxy=nxy)


def new_stats() -> np.ndarray:
    stats = np.zeros(T_LEN, np.float64)
    stats[T_PLAT_MIN] = stats[T_NLAT_MIN] = np.inf
    stats[T_PLAT_MAX] = stats[T_NLAT_MAX] = -np.inf
    return stats


def new_traffic(n_nodes: int, pk: np.ndarray, *, msg=None, succ_ptr=None, succ_idx=None,
                rel=None, pool: bool = False) -> Traffic:
    """Packet table `pk` (PK_LEN columns) and, for a trace, the message table."""
    n_msgs = 0 if msg is None else msg.shape[0]
    sq = np.zeros((n_nodes, SQ_LEN), np.int64)
    sq[:, SQ_HEAD] = sq[:, SQ_TAIL] = -1
    sq[:, SQ_NEXT_CT] = NEVER
    npk = pk.shape[0]
    return Traffic(
        # int64, not int32: a packet id taken from this stack goes into a flit code as `pid << 32`
        # (terminal._inject). numba computes that in int64 whatever the array's type, but with
        # NUMBA_DISABLE_JIT=1 an element of an int32 array is a numpy int32 and the shift gave 0.
        pk=pk, pk_free=np.arange(npk - 1, -1, -1, dtype=np.int64) if pool else np.zeros(0, np.int64),
        sq=sq, msg=np.zeros((0, M_LEN), np.int64) if msg is None else msg,
        succ_ptr=np.zeros(1, np.int64) if succ_ptr is None else succ_ptr,
        succ_idx=np.zeros(0, np.int64) if succ_idx is None else succ_idx,
        rel=np.zeros(0, np.int64) if rel is None else rel,
        hp=np.zeros((max(n_msgs, n_nodes) + 1, HP_LEN), np.int64), stats=new_stats())


def flat(arrays) -> list:
    """1-D views of state arrays, as the kernels take them (see the module docstring)."""
    out = []
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ValueError("network state arrays must be C-contiguous")
        out.append(a.reshape(-1))
    return out
