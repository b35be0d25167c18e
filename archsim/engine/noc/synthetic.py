"""Synthetic traffic with BookSim2's measurement protocol.

`simulate_synthetic` runs warm-up, measurement and drain phases exactly as
BookSim2's TrafficManager::_SingleSim does (sample periods, statistics cleared
at the start of warm-up periods 0 and 2 and at the start of measurement,
convergence tests between periods, the latency threshold that declares a load
unstable, draining the measured packets, then the whole network), so its
numbers are comparable with BookSim's line by line.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from archsim.engine.noc.config import NocConfig
from archsim.engine.noc.loop import STOP_AT_T1, STOP_EMPTY, STOP_MEASURED_DRAINED, _run
from archsim.engine.noc.state import (NEVER, P, flat, PK_LEN, S_HEAP_N, S_IF_CTIME, S_IF_FLITS, S_PK_TOP,
                                      SQ_NEXT_CT,
                                      T_ACC_FLITS, T_HOPS_SUM, T_NLAT_MAX, T_NLAT_MIN, T_NLAT_SUM,
                                      T_PLAT_MAX, T_PLAT_MIN, T_PLAT_N, T_PLAT_SUM, T_SENT_FLITS,
                                      check_state_size, config_vector, new_net_state, new_stats, new_traffic,
                                      ring_size)
from archsim.engine.noc.terminal import (MODE_SYNTH, PHASE_DRAINING, PHASE_RUNNING, PHASE_WARMUP,
                                         SP_DRAIN_TIME, SP_LEN, SP_PATTERN, SP_PHASE, SP_PKT_FLITS,
                                         _heap_push)
from archsim.errors import ArchsimInputError

PATTERNS = ("uniform", "transpose", "bitcomp", "hotspot", "neighbor")


@dataclass(frozen=True)
class SyntheticTraffic:
    """Bernoulli injection of `rate` flits per node per cycle in packets of
    `packet_flits`. Destinations (BookSim's definitions, node = x + k*y):
    uniform over all nodes (the source included); transpose (x, y) -> (y, x);
    bitcomp (x, y) -> (k-1-x, m-1-y); neighbor (x, y) -> (x+1 mod k, y+1 mod m);
    hotspot: with probability `hotspot_fraction` one of `hotspot_nodes`
    (weighted by `hotspot_rates`), else uniform. BookSim's `hotspot` sends all
    traffic to the hotspots (fraction 1)."""

    pattern: str = "uniform"
    rate: float = 0.1
    packet_flits: int = 1
    hotspot_nodes: tuple = ()
    hotspot_rates: tuple = ()
    hotspot_fraction: float = 1.0

    def check(self, cfg: NocConfig) -> None:
        if self.pattern not in PATTERNS:
            raise ArchsimInputError(f"The traffic pattern must be one of {', '.join(PATTERNS)}. "
                                    f"Got {self.pattern!r} instead.")
        if not self.packet_flits >= 1:
            raise ArchsimInputError(f"packet_flits must be at least 1. Got {self.packet_flits!r} instead.")
        # A zero rate injects nothing, so there is no packet to measure (and the drain would never end).
        if not 0.0 < self.rate <= self.packet_flits:
            raise ArchsimInputError(f"The injection rate is in flits per node per cycle and must be in "
                                    f"(0, packet_flits = {self.packet_flits}]. Got {self.rate!r} instead.")
        if self.pattern == "transpose" and cfg.mesh_x != cfg.mesh_y:
            raise ArchsimInputError(f"The transpose pattern needs a square mesh; got {cfg.mesh_x}x{cfg.mesh_y}.")
        if self.pattern == "hotspot":
            nodes = self.hotspot_nodes or (cfg.mesh_x // 2 + cfg.mesh_x * (cfg.mesh_y // 2),)
            bad = [n for n in nodes if not 0 <= n < cfg.nodes]
            if bad:
                raise ArchsimInputError(f"hotspot node {bad[0]} is outside the {cfg.nodes}-node mesh.")
            if self.hotspot_rates and len(self.hotspot_rates) != len(nodes):
                raise ArchsimInputError("hotspot_rates must have one weight per hotspot node.")
            if not 0.0 <= self.hotspot_fraction <= 1.0:
                raise ArchsimInputError("hotspot_fraction must be in [0, 1].")

    def hotspots(self, cfg: NocConfig):
        nodes = self.hotspot_nodes or (cfg.mesh_x // 2 + cfg.mesh_x * (cfg.mesh_y // 2),)
        w = np.asarray(self.hotspot_rates or [1.0] * len(nodes), np.float64)
        return np.asarray(nodes, np.int64), np.cumsum(w) / w.sum()


@dataclass(frozen=True)
class Measurement:
    """BookSim's simulation parameters. The defaults are the fixed-length
    protocol of the reference runs: 3 warm-up and 3 measured periods of 10,000
    cycles (convergence thresholds disabled), then drain."""

    sim_type: str = "latency"
    warmup_periods: int = 3
    sample_period: int = 10000
    max_samples: int = 10
    latency_thres: float = 500.0
    warmup_thres: float = 1.0e9
    acc_warmup_thres: float = 1.0e9
    stopping_thres: float = 1.0e9
    acc_stopping_thres: float = 1.0e9
    seed: int = 0

    def check(self) -> None:
        if self.sim_type not in ("latency", "throughput"):
            raise ArchsimInputError(f"sim_type must be 'latency' or 'throughput'. Got {self.sim_type!r} instead.")
        if self.sample_period < 1 or self.max_samples < 1 or self.warmup_periods < 0:
            raise ArchsimInputError("sample_period and max_samples must be >= 1, warmup_periods >= 0.")
        if not self.latency_thres > 0:
            raise ArchsimInputError(f"latency_thres must be a positive number of cycles. Got {self.latency_thres!r} "
                                    "instead.")


@dataclass
class NocStats:
    """Result of one synthetic run (latencies in cycles, rates per node per cycle)."""

    stable: bool
    status: str
    packet_latency_avg: float
    packet_latency_min: float
    packet_latency_max: float
    network_latency_avg: float
    network_latency_min: float
    network_latency_max: float
    accepted_flit_rate: float
    injected_flit_rate: float
    offered_flit_rate: float
    hops_avg: float
    packets_measured: int
    cycles: int
    wall_s: float
    router_cycles_per_s: float
    config: dict = field(default_factory=dict)
    traffic: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class _Sim:
    """A synthetic run's state, advanced period by period."""

    def __init__(self, cfg: NocConfig, traffic: SyntheticTraffic, meas: Measurement):
        self.cfg, self.traffic = cfg, traffic
        n = cfg.nodes
        v, b = cfg.num_vcs, cfg.vc_buf_size
        # every packet in flight has a flit in a source, a buffer or a channel slot
        slots = n * (1 + P * v * b + (P + 1) * ring_size(cfg)) + 1
        check_state_size(cfg, n * P * v * b + 1, slots)
        self.S = new_net_state(cfg, n * P * v * b + 1)
        self.T = new_traffic(n, np.zeros((slots, PK_LEN), np.int64), pool=True)
        self.S.sc[S_PK_TOP] = slots
        self.cf = config_vector(cfg)
        self.sp = np.zeros(SP_LEN, np.int64)
        self.sp[SP_PATTERN] = PATTERNS.index(traffic.pattern)
        self.sp[SP_PKT_FLITS] = traffic.packet_flits
        self.rate = traffic.rate / traffic.packet_flits
        self.hot, self.hot_cdf = traffic.hotspots(cfg)
        self.rng = np.random.default_rng(meas.seed)
        self.t = 0
        self.wall = 0.0
        if self.rate > 0:
            first = self.rng.geometric(self.rate, size=n) - 1
            self.T.sq[:, SQ_NEXT_CT] = first
            for node in range(n):
                _heap_push(self.T.hp.reshape(-1), self.S.sc, int(first[node]), node)

    def run(self, t1, phase, stop=STOP_AT_T1):
        self.sp[SP_PHASE] = phase
        start = time.perf_counter()
        self.t = _run(*flat(self.S), *flat(self.T), self.cf, self.t, t1, MODE_SYNTH, stop, self.sp, self.rate,
                      self.rng, self.hot, self.hot_cdf, self.traffic.hotspot_fraction)
        self.wall += time.perf_counter() - start

    def clear(self):
        self.T.stats[:] = new_stats()
        self.reset_time = self.t

    def inflight_latency(self):
        """BookSim's instability test: mean latency of retired packets and of
        every flit still in flight (counted from its creation)."""
        st, sc = self.T.stats, self.S.sc
        total = st[T_PLAT_SUM] + sc[S_IF_FLITS] * self.t - sc[S_IF_CTIME]
        count = st[T_PLAT_N] + sc[S_IF_FLITS]
        return total / count if count else 0.0

    def stop_generating(self):
        self.T.sq[:, SQ_NEXT_CT] = NEVER
        self.S.sc[S_HEAP_N] = 0


def _rel_change(cur, prev):
    if cur == 0.0:
        return math.nan if prev == 0.0 else math.inf
    return abs((cur - prev) / cur)


def simulate_synthetic(cfg: NocConfig, traffic: SyntheticTraffic,
                       meas: Measurement | None = None) -> NocStats:
    """Simulate `traffic` on `cfg` with BookSim's warm-up / measure / drain."""
    from archsim.engine.noc._cache import compile_notice

    with compile_notice("synthetic traffic"):
        return _simulate_synthetic(cfg, traffic, meas)


def _simulate_synthetic(cfg: NocConfig, traffic: SyntheticTraffic,
                        meas: Measurement | None = None) -> NocStats:
    meas = meas or Measurement()
    traffic.check(cfg)
    meas.check()
    sim = _Sim(cfg, traffic, meas)
    sim.clear()
    measure_latency = meas.sim_type == "latency"
    state, converged, total_phases, clear_last = PHASE_WARMUP, 0, 0, False
    prev_lat = prev_acc = 0.0
    status = None
    while total_phases < meas.max_samples and (state != PHASE_RUNNING or converged < 3):
        if clear_last or (state == PHASE_WARMUP and total_phases % 2 == 0):
            clear_last = False
            sim.clear()
        sim.run(sim.t + meas.sample_period, state)
        st = sim.T.stats
        cur_lat = st[T_PLAT_SUM] / st[T_PLAT_N] if st[T_PLAT_N] else math.nan
        cur_acc = st[T_ACC_FLITS] / (sim.t - sim.reset_time) / cfg.nodes
        lat_change, acc_change = _rel_change(cur_lat, prev_lat), _rel_change(cur_acc, prev_acc)
        prev_lat, prev_acc = cur_lat, cur_acc
        if measure_latency and sim.inflight_latency() > meas.latency_thres:
            status = f"unstable: average latency exceeded {meas.latency_thres:g} cycles (aborted)"
            break
        if state == PHASE_WARMUP:
            if meas.warmup_periods > 0:
                done = total_phases + 1 >= meas.warmup_periods
            else:
                done = not (measure_latency and lat_change > meas.warmup_thres) and \
                    not acc_change > meas.acc_warmup_thres
            if done:
                clear_last, state = True, PHASE_RUNNING
        elif not (measure_latency and lat_change > meas.stopping_thres) and \
                not acc_change > meas.acc_stopping_thres:
            converged += 1
        else:
            converged = 0
        total_phases += 1
    if status is None and state != PHASE_RUNNING:
        status = "unstable: too many sample periods needed to converge"
    drain_time = sim.t
    if status is None:
        sim.sp[SP_DRAIN_TIME] = drain_time
        status = _drain_measured(sim, meas) if measure_latency else "saturated" if \
            sim.T.stats[T_ACC_FLITS] / (drain_time - sim.reset_time) / cfg.nodes < 0.95 * traffic.rate \
            else "stable"
    stable = status == "stable"
    window = drain_time - sim.reset_time
    accepted = sim.T.stats[T_ACC_FLITS] / window / cfg.nodes if window else 0.0
    injected = sim.T.stats[T_SENT_FLITS] / window / cfg.nodes if window else 0.0
    sim.stop_generating()
    if stable or meas.sim_type == "throughput":
        sim.run(2**62, PHASE_DRAINING, STOP_EMPTY)
    # Like BookSim, an unstable load in latency mode reports no latency.
    has_latency = stable or meas.sim_type == "throughput"
    return _stats(sim, cfg, traffic, stable, status, accepted, injected, has_latency)


def _drain_measured(sim: _Sim, meas: Measurement) -> str:
    """Run until every measured packet has arrived, checking the latency
    threshold every 1,000 cycles as BookSim does."""
    while True:
        t0 = sim.t
        sim.run(t0 + 1000, PHASE_DRAINING, STOP_MEASURED_DRAINED)
        if sim.t < t0 + 1000:
            return "stable"
        if sim.inflight_latency() > meas.latency_thres:
            return f"unstable: average latency exceeded {meas.latency_thres:g} cycles while draining"


def _stats(sim, cfg, traffic, stable, status, accepted, injected, has_latency) -> NocStats:
    st = sim.T.stats
    n = st[T_PLAT_N] if has_latency else 0

    def avg(key):
        return float(st[key] / n) if n else math.nan

    def ext(key):
        return float(st[key]) if n else math.nan

    return NocStats(
        stable=stable, status=status,
        packet_latency_avg=avg(T_PLAT_SUM), packet_latency_min=ext(T_PLAT_MIN),
        packet_latency_max=ext(T_PLAT_MAX), network_latency_avg=avg(T_NLAT_SUM),
        network_latency_min=ext(T_NLAT_MIN), network_latency_max=ext(T_NLAT_MAX),
        accepted_flit_rate=float(accepted), injected_flit_rate=float(injected),
        offered_flit_rate=float(traffic.rate), hops_avg=avg(T_HOPS_SUM), packets_measured=int(n),
        cycles=int(sim.t), wall_s=sim.wall,
        router_cycles_per_s=cfg.nodes * sim.t / sim.wall if sim.wall > 0 else math.inf,
        config=cfg.to_dict(), traffic=asdict(traffic))
