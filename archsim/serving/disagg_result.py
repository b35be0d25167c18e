"""The result of a disaggregated run (archsim/serving/disagg.py): the same per-request and aggregate figures
as colocated serving (metrics.py), with the energy and cost of both pools and of the link between them."""
from __future__ import annotations

from archsim import __version__
from archsim.energy.cost import JOULES_PER_KWH, SECONDS_PER_YEAR, price_of
from archsim.serving.metrics import per_request, summarize, timeseries
from archsim.serving.prefix import summary as prefix_summary
from archsim.serving.result import ServingResult, efficiency


def _pool(setup, run) -> dict:
    loop = setup.loop
    return {"system": setup.system.name, "chips": setup.system.count, "replicas": setup.replicas,
            "replica_mapping": setup.mapping, "mapper_options": dict(setup.options),
            "kv_capacity_tokens_per_replica": setup.capacity_tokens, "kv_capacity": setup.capacity_note,
            "scheduler": {k: getattr(loop, k) for k in ("policy", "admission", "preemption", "max_seqs",
                                                      "max_batched_tokens", "chunk_tokens", "block_tokens")},
            "busy_fraction": float(run.replica_busy_s.sum() / (setup.replicas * run.end_s)) if run and run.end_s
            else 0.0, "iterations": int(run.counters["iterations"]) if run else 0,
            "dynamic_j": float(run.replica_joules.sum()) if run else 0.0, "run_status": run.run_status if run else None}


def _static_w(system) -> float | None:
    idle = system.chip.power.get("idle") if system.chip.get("power") is not None else None
    if idle is None:
        return None
    overhead = float(system.power.overhead) if system.power is not None and system.power.get("overhead") else 0.0
    return float(idle) * system.count + overhead


def _cost(systems, span: float, energy_j: float | None, tokens: int) -> dict:
    capital, inputs = 0.0, []
    for system in systems:
        price, source = price_of(system)
        if price is None:
            return {"note": source}
        capital += price["capital_usd"] / (price["amortization_years"] * SECONDS_PER_YEAR) * span
        inputs.append(dict(price, source=source))
    if energy_j is None:
        return {"note": "no cost: the energy of the run is unknown (see the energy note)"}
    first = inputs[0]  # electricity and PUE of the prefill pool's system for both (stated)
    energy_usd = energy_j / JOULES_PER_KWH * first["pue"] * first["electricity_usd_per_kwh"]
    total = capital + energy_usd
    per = (lambda usd: usd / tokens * 1e6 if tokens else None)
    return {"cost_per_million_tokens_usd": per(total), "capital_usd_per_million_tokens": per(capital),
            "energy_usd_per_million_tokens": per(energy_usd), "inputs": inputs,
            "note": "both pools' capital amortized over the run time, busy all the time; energy at the wall at the "
                    "prefill pool's electricity price and PUE"}


def build_disaggregated(setup, spec, requests, run, link: dict, first, second) -> ServingResult:
    p, d = setup.prefill, setup.decode
    slo = spec.slo
    summary = summarize(run, slo.ttft, slo.tpot)
    span = run.end_s
    tokens = int(run.generated.sum())
    dynamic = float(run.replica_joules.sum()) + link["energy_j"]
    watts = [_static_w(p.system), _static_w(d.system)]
    if None in watts:
        energy = {"dynamic_j": dynamic, "note": "no static power for a pool's chips: energy per token not computed"}
    else:
        static = sum(watts) * span
        total = dynamic + static
        energy = {"energy_j": total, "dynamic_j": dynamic, "static_j": static, "static_power_w": sum(watts),
                  "link_j": link["energy_j"], "energy_per_output_token_j": total / tokens if tokens else None,
                  "avg_power_w": total / span if span > 0 else None,
                  "note": f"static: both pools' chips ({watts[0]:,.0f} W + {watts[1]:,.0f} W) over the {span:,.1f} s "
                          "simulated; dynamic: every iteration of both pools, plus the K/V moved over the link"}
    cost = _cost([p.system, d.system], span, energy.get("energy_j"), summary["throughput"]["output_tokens"])
    chips = p.system.count + d.system.count
    summary["efficiency"] = efficiency(summary, cost, chips)
    prefix = prefix_summary(run.cached_tokens, requests, p.loop.reserved_tokens)
    if prefix is not None:
        summary["prefix_cache"] = prefix
    if d.speculation is not None:
        steps = run.counters.get("verify_steps", 0)
        summary["speculative"] = {"verify_steps": steps, "tokens_from_verify_steps": run.counters["verify_tokens"],
                                  "tokens_per_verify_step": run.counters["verify_tokens"] / steps if steps else None,
                                  "expected_tokens_per_verify_step": d.speculation.expected_tokens}
    summary["link"] = link
    setup_dict = {"disaggregated": True, "prefill": _pool(p, first), "decode": _pool(d, second),
                  "link": setup.link.to_dict(), "kv_bytes_per_token": setup.kv_bytes_per_token,
                  "chips_used": p.replicas * p.chips_per_replica + d.replicas * d.chips_per_replica, "chips": chips,
                  "replicas": p.replicas + d.replicas, "fidelity": p.fidelity,
                  "dtypes": {"weight": p.scenario.weight_dtype, "act": p.scenario.act_dtype, "kv": p.scenario.kv_dtype},
                  "run_status": run.run_status, "arrivals_seed": spec.arrivals.seed,
                  "kv_capacity_tokens_per_replica": d.capacity_tokens, "kv_blocks_per_replica": d.loop.blocks,
                  "replica_mapping": f"prefill {p.replicas} x {p.mapping}, decode {d.replicas} x {d.mapping}",
                  "scheduler": _pool(d, second)["scheduler"], "router": d.loop.router,
                  "kv_capacity": f"prefill: {p.capacity_note}; decode: {d.capacity_note}"}
    if d.speculation is not None:
        setup_dict["speculative"] = dict(d.speculative)
    c = run.counters
    table = {"mode": "direct" if c["direct"] else "table", "cost_fn_calls": c["cost_fn_calls"],
             "lookups": c["lookups"], "misses": c["misses"], "hit_rate": c["hit_rate"],
             "grid_points": c["table_points"], "grid_filled": c["table_filled"], "kernel_entries": c["kernel_entries"],
             "loop_wall_s": c["wall_s"], "fill_wall_s": c["fill_s"]}
    table["pipeline_runs"] = sum(getattr(x.cost_fn, "pipeline_runs", 0) for x in (p, d))
    if d.table is not None:
        table["axes_sizes"] = [int(a.size) for a in (d.table.t_axis, d.table.d_axis, d.table.c_axis)]
    notes = list(setup.notes) + [n for n in p.notes + d.notes if n not in setup.notes]
    notes.append("load and KV-use figures pool both pools' replicas (prefill replicas first)")
    if not summary["stability"]["stable"]:
        notes.append(f"UNSTABLE: {summary['stability']['reason']}; latency percentiles cover finished requests only")
    if summary["rejected"]:
        reasons = ", ".join(f"{n} {why}" for why, n in summary["rejected_by_reason"].items())
        notes.append(f"{summary['rejected']} requests rejected and counted: {reasons}")
    provenance = {"archsim_version": __version__, "config_hash": f"{p.system.config_hash}+{d.system.config_hash}",
                  "chip_source": f"{p.system.source} + {d.system.source}", "fidelity": p.fidelity,
                  "cost": f"{type(p.cost_fn).__name__} + {type(d.cost_fn).__name__}"}
    name = f"{p.system.name} -> {d.system.name}"
    return ServingResult(name, p.workload, requests.description, setup_dict, summary, energy, cost, table, provenance,
                         notes, run, per_request(run), timeseries(run))
