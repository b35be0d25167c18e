"""Disaggregated prefill and decode (DistServe, Splitwise): two pools, possibly of different systems, and the
K/V of every prompt moved from the prefill pool to the decode pool over a link.

    setup = prepare_disaggregated("dgx-h100", "llama3.1-70b", spec)   # spec.disaggregated.link.kind set
    result = serve_disaggregated(setup, spec)

- The prefill pool runs each request's prefill (its scheduler, KV cache and replicas as in colocated serving, a
  cached prefix included) and emits its first token: the user's TTFT.
- Its K/V (prompt tokens x the model's K/V bytes per token, every layer) then crosses the link from the prefill
  replica that computed it: one transfer at a time per prefill replica, first come first served, each taking
  latency + bytes / bandwidth, and its energy per byte.
- The decode pool receives it (a request arriving with its prompt's K/V and first token, routed by the pool's
  router) and decodes the rest, with speculative decoding if asked.
The decode pool does not push back on the prefill pool (a prefill replica never waits for room in a decode
replica), and transfers do not slow the iterations of either pool (the NICs' DMA runs beside compute): both
stated in the run. Results are the same per-request and aggregate figures as colocated serving, with energy and
cost of both pools and the link, and goodput per chip and per dollar.

Links (per transfer; `lanes` = the chips of a prefill replica or of a decode replica, whichever is fewer, up to
8, each sending its share of the K/V over its own NIC):
- nvlink: both pools on one NVLink system: its interconnect's per-chip link bandwidth x lanes, its hop latency,
  the chip's energy.link per bit (or 4 pJ/bit ASSUMED);
- infiniband: 50 GB/s per lane (400 Gb/s NDR, one ConnectX-7 per GPU: NVIDIA DGX H100 datasheet), 5 us
  (ASSUMED: an RDMA write through one switch), 15 pJ/bit (ASSUMED: NICs, a switch and optics at both ends);
- ethernet: 12.5 GB/s in all (ASSUMED: one 100 GbE NIC per replica), 20 us (ASSUMED), 20 pJ/bit (ASSUMED);
- ideal: infinite bandwidth, no latency, no energy (the bound a perfect link gives).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.hw.load import System, load_system
from archsim.serving import state as S
from archsim.serving.loop import LoopRun, simulate_requests
from archsim.serving.prefix import cached_tokens
from archsim.spec import SpecNode
from archsim.workload.lower import kv_bytes_per_token as model_kv_bytes

LINK_DEFAULTS = {  # (bandwidth per lane B/s, latency s, J per bit, lanes or None for the chips)
    "infiniband": (50e9, 5e-6, 15e-12, None),
    "ethernet": (12.5e9, 20e-6, 20e-12, 1),
    "ideal": (math.inf, 0.0, 0.0, 1),
}
DEFAULT_NVLINK_J_PER_BIT = 4e-12  # ASSUMED, as h100-sxm's energy.link
MAX_LANES = 8  # ASSUMED: a replica sends over at most 8 NICs (one per GPU of a DGX)


@dataclass
class Link:
    kind: str
    bandwidth: float  # bytes/s per transfer
    latency_s: float
    joules_per_byte: float

    def seconds(self, nbytes) -> np.ndarray:
        return self.latency_s + (0.0 if math.isinf(self.bandwidth) else np.asarray(nbytes) / self.bandwidth)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "bandwidth_bytes_per_s": None if math.isinf(self.bandwidth) else self.bandwidth,
                "latency_s": self.latency_s, "energy_j_per_byte": self.joules_per_byte}


@dataclass
class DisaggSetup:
    prefill: object  # ServeSetup of the prefill pool
    decode: object  # ServeSetup of the decode pool
    link: Link
    kv_bytes_per_token: float  # the whole model's K/V of one token
    shared_system: bool  # both pools take chips of one system
    notes: list = field(default_factory=list)


def pool_system(system: System, chips: int | None) -> System:
    """`system`, or the share of `chips` of it: its price and power overhead in proportion."""
    if chips is None or chips == system.count:
        return system
    if chips > system.count:
        raise ArchsimInputError(f"a pool of {chips} chips of {system.name}, which has {system.count}")
    share = chips / system.count
    price = system.price
    if price is not None and price.capital_usd is not None:
        price = SpecNode(dict(price.to_dict(), capital_usd=price.capital_usd * share), "price")
    power = system.power
    if power is not None and power.get("overhead") is not None:
        power = SpecNode(dict(power.to_dict(), overhead=power.overhead * share), "power")
    return replace(system, name=f"{system.name}[{chips} of {system.count}]", count=chips, price=price, power=power)


def _pool_spec(spec: SpecNode, pool: SpecNode, *, speculative: bool, prefix: bool) -> SpecNode:
    """The serving description one pool runs: its replicas; speculation only in the decode pool, cached
    prefixes only in the prefill pool."""
    out = {k: getattr(spec, k) for k in spec.to_dict()}
    out["replicas"] = SpecNode({"count": pool.replicas, "router": spec.replicas.router}, "replicas")
    if not speculative:
        out["speculative"] = SpecNode({k: None for k in spec.speculative.to_dict()} | {"k": 4}, "speculative")
    if not prefix:
        out["prefix_cache"] = SpecNode(dict(spec.prefix_cache.to_dict(), shared_tokens=None, hit_rate=None,
                                            hashes=False, capacity_tokens=None), "prefix_cache")
    return SpecNode(out, "")


def _link(spec_link: SpecNode, prefill, decode, same_system: bool) -> Link:
    kind = spec_link.kind
    lanes = min(prefill.chips_per_replica, decode.chips_per_replica, MAX_LANES)
    if kind == "nvlink":
        ic = prefill.system.interconnect
        if not same_system or ic is None or prefill.system.kind != "gpu":
            raise ArchsimInputError("link nvlink joins pools on one NVLink system (prefill_chips and decode_chips "
                                    "of one GPU system); between systems use infiniband or ethernet")
        energy = prefill.system.chip.get("energy")
        own = energy.get("link") if energy is not None else None  # parsed to J per byte
        bw, lat = float(ic.link_bandwidth) * lanes, float(ic.hop_latency)
        jbyte = float(own) if own is not None else DEFAULT_NVLINK_J_PER_BIT * 8
    else:
        lane_bw, lat, jbit, fixed = LINK_DEFAULTS[kind]
        bw = lane_bw * (fixed if fixed is not None else lanes)
        jbyte = jbit * 8
    if spec_link.bandwidth is not None:
        bw = float(spec_link.bandwidth)
    if spec_link.latency is not None:
        lat = float(spec_link.latency)
    if spec_link.energy is not None:
        jbyte = float(spec_link.energy)
    return Link(kind, bw, lat, jbyte)


def prepare_disaggregated(system, workload: str, spec, *, scenario=None, options: dict | None = None,
                          overrides: list | None = None, fidelity: str = "task") -> DisaggSetup:
    """Both pools set up as colocated replicas are (serve.prepare), and the link between them."""
    from archsim.serving.serve import prepare

    d = spec.disaggregated
    default = system.name if isinstance(system, System) else system
    names = [d.prefill.system or default, d.decode.system or default]
    same = names[0] == names[1] and (d.prefill.chips is not None or d.decode.chips is not None)
    loaded = [system if isinstance(system, System) and n == system.name else load_system(n, overrides) for n in names]
    if same:
        chips = [d.prefill.chips or loaded[0].count - (d.decode.chips or 0),
                 d.decode.chips or loaded[1].count - (d.prefill.chips or 0)]
        if min(chips) < 1 or sum(chips) > loaded[0].count:
            raise ArchsimInputError(f"the prefill and decode pools take {chips[0]} + {chips[1]} chips of "
                                    f"{loaded[0].name}, which has {loaded[0].count}")
    else:
        chips = [d.prefill.chips, d.decode.chips]
    pools = [pool_system(s, c) for s, c in zip(loaded, chips)]
    setups = []
    for pool, node, is_decode in ((pools[0], d.prefill, False), (pools[1], d.decode, True)):
        pool_options = dict(options or {}) if node.options is None else {k: str(v) for k, v in node.options.items()}
        setups.append(prepare(pool, workload, _pool_spec(spec, node, speculative=is_decode, prefix=not is_decode),
                              scenario=scenario, options=pool_options, fidelity=fidelity))
    model = setups[0].model
    kv = model_kv_bytes(model, setups[0].scenario.kv_dtype)
    link = _link(d.link, setups[0], setups[1], same)
    notes = [f"disaggregated: prefill on {pools[0].name} ({setups[0].replicas} x {setups[0].mapping}), decode on "
             f"{pools[1].name} ({setups[1].replicas} x {setups[1].mapping}); K/V over {link.kind} "
             + ("(no time, no energy)" if link.kind == "ideal" else
                f"({link.bandwidth / 1e9:,.1f} GB/s, {link.latency_s * 1e6:,.1f} us, "
                f"{link.joules_per_byte / 8 * 1e12:,.1f} pJ/bit per transfer)"),
             "disaggregated: no back-pressure from the decode pool (a prefill never waits for decode memory); "
             "transfers run beside both pools' iterations (DMA) and queue per prefill replica"]
    return DisaggSetup(setups[0], setups[1], link, kv, same, notes)


def serve_disaggregated(setup: DisaggSetup, spec, *, rate: float | None = None, requests=None):
    """Simulate the requests on the two pools and the link; a ServingResult."""
    from archsim.serving.arrivals import generate
    from archsim.serving.disagg_result import build_disaggregated
    from archsim.serving.serve import accepted_drafts, ready_table

    requests = requests or generate(spec, rate=rate)
    if len(requests) == 0:
        raise ArchsimInputError("no requests to simulate (is the duration shorter than the first arrival?)")
    p, d = setup.prefill, setup.decode
    prompt, output = requests.prompt_tokens, requests.output_tokens
    ones = np.ones_like(output)
    ready_table(p, prompt, ones)
    cached, prefix_note = cached_tokens(spec, requests, p.loop.block_tokens, p.loop.reserved_tokens)
    first = simulate_requests(requests.arrival_s, prompt, ones, p.cost_fn, p.loop, table=p.table, direct=p.direct,
                              cached_tokens=cached)
    moved = (first.status == S.ST_FINISHED) & (output >= 2)
    nbytes = prompt * setup.kv_bytes_per_token
    start, end = _transfers(first, moved, nbytes, setup.link)
    index = np.nonzero(moved)[0]
    index = index[np.argsort(end[index], kind="stable")]
    second = None
    if index.size:
        ready_table(d, prompt[index], output[index])
        accepted = accepted_drafts(d, spec, output[index])
        second = simulate_requests(end[index], prompt[index], output[index], d.cost_fn, d.loop, table=d.table,
                                   direct=d.direct, accepted=accepted, prefilled=True)
    run = _merge(first, second, index, requests, p, d)
    link = {"transfers": int(moved.sum()), "bytes": float(nbytes[moved].sum()),
            "energy_j": float(nbytes[moved].sum()) * setup.link.joules_per_byte,
            "transfer_s": _stats(end[moved] - start[moved]),
            "wait_s": _stats(start[moved] - first.first_token_s[moved]), **setup.link.to_dict()}
    result = build_disaggregated(setup, spec, requests, run, link, first, second)
    if prefix_note:
        result.notes.append(prefix_note)
    return result


def _stats(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"mean": None, "p99": None, "max": None}
    return {"mean": float(values.mean()), "p99": float(np.percentile(values, 99)), "max": float(values.max())}


def _transfers(first: LoopRun, moved: np.ndarray, nbytes: np.ndarray, link: Link):
    """(start, end) of every request's K/V transfer: first come first served on its prefill replica's link."""
    start, end = np.full(moved.size, np.nan), np.full(moved.size, np.nan)
    ready = first.first_token_s
    for r in np.unique(first.replica[moved]):
        mine = np.nonzero(moved & (first.replica == r))[0]
        free = 0.0
        for i in mine[np.argsort(ready[mine], kind="stable")]:
            start[i] = max(ready[i], free)
            end[i] = start[i] + float(link.seconds(nbytes[i]))
            free = end[i]
    return start, end


def _merge(first: LoopRun, second: LoopRun | None, index: np.ndarray, requests, p, d) -> LoopRun:
    """One LoopRun over both pools: per request in arrival order (the first token from the prefill pool, the rest
    from the decode pool), the iteration logs side by side (decode replicas numbered after the prefill ones)."""
    n = first.arrival_s.size
    output = requests.output_tokens
    status, reject = first.status.copy(), first.reject_reason.copy()
    finish, generated = first.finish_s.copy(), first.generated.copy()
    recomputes, swaps = first.recomputes.copy(), first.swaps.copy()
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(output[:-1], out=offsets[1:])
    token_s = np.full(int(output.sum()), -1.0)
    token_s[offsets[generated > 0]] = first.first_token_s[generated > 0]
    long = output >= 2
    status[long & (status == S.ST_FINISHED)] = S.ST_RUNNING  # finished only when the decode pool says so
    finish[long] = -1.0
    replica = first.replica.copy()
    iterations = {k: v.copy() for k, v in first.iterations.items()}
    busy, joules = [first.replica_busy_s], [first.replica_joules]
    end_s, status_run = first.end_s, first.run_status
    counters = dict(first.counters)
    if second is not None:
        status[index] = second.status
        reject[index] = np.where(second.reject_reason > 0, second.reject_reason, reject[index])
        finish[index] = second.finish_s
        generated[index] = second.generated
        recomputes[index] += second.recomputes
        swaps[index] += second.swaps
        for k, i in enumerate(index):
            got = second.token_times(k)[1:]
            token_s[offsets[i] + 1:offsets[i] + 1 + got.size] = got
        for key, values in second.iterations.items():
            shifted = values + p.replicas if key == "replica" else values
            iterations[key] = np.concatenate([iterations[key], shifted])
        busy.append(second.replica_busy_s)
        joules.append(second.replica_joules)
        end_s = max(end_s, second.end_s)
        if second.run_status != "done":
            status_run = second.run_status
        for key in ("iterations", "lookups", "misses", "finished", "rejected", "preempt_recompute", "preempt_swap",
                    "verify_steps", "verify_tokens", "cost_fn_calls", "wall_s", "fill_s", "kernel_entries"):
            counters[key] = counters.get(key, 0) + second.counters.get(key, 0)
        counters["max_waiting"] = max(counters["max_waiting"], second.counters["max_waiting"])
        counters["hit_rate"] = ((counters["lookups"] - counters["misses"]) / counters["lookups"]
                                if counters["lookups"] else 1.0)
    counters["finished"] = int(np.count_nonzero(status == S.ST_FINISHED))
    counters["rejected"] = int(np.count_nonzero(status == S.ST_REJECTED))
    config = replace(d.loop, replicas=p.replicas + d.replicas)
    return LoopRun(config=config, arrival_s=first.arrival_s, prompt_tokens=first.prompt_tokens,
                   output_tokens=output, replica=replica, status=status, reject_reason=reject,
                   scheduled_s=first.scheduled_s, first_token_s=first.first_token_s, finish_s=finish,
                   generated=generated, recomputes=recomputes, swaps=swaps, token_s=token_s, token_offset=offsets,
                   iterations=iterations, replica_busy_s=np.concatenate(busy), replica_joules=np.concatenate(joules),
                   end_s=end_s, run_status=status_run, counters=counters, cached_tokens=first.cached_tokens)
