"""The result of a serving run: per-request arrays, the summary, energy and cost, provenance.

Field names carry units. `to_dict()` is the JSON of `archsim serve --json` (per-request data go to
the CSV; the time series are sampled); the arrays stay on the object for plots and traces.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archsim import __version__
from archsim.energy.cost import cost_of
from archsim.serving.metrics import per_request, summarize, timeseries
from archsim.serving.prefix import summary as prefix_summary


@dataclass
class ServingResult:
    chip: str
    workload: str
    requests_description: str
    setup: dict  # parallelism, capacity, scheduler and table settings
    summary: dict  # latency stats, throughput, goodput, preemptions, rejections, stability
    energy: dict
    cost: dict
    table: dict  # cost-table fills, lookups, hit rate (or direct calls)
    provenance: dict
    notes: list = field(default_factory=list)
    run: object = field(default=None, repr=False)  # the LoopRun (arrays), not serialized
    per_request: dict = field(default_factory=dict, repr=False)
    timeseries: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, setup, spec, requests, run, ttft_slo_s=None, tpot_slo_s=None) -> "ServingResult":
        system, loop = setup.system, setup.loop
        summary = summarize(run, ttft_slo_s, tpot_slo_s)
        energy = _energy(system, run, setup)
        cost = cost_of(system, run.end_s, energy.get("energy_j"), summary["throughput"]["output_tokens"])
        c = run.counters
        table = {"mode": "direct" if c["direct"] else "table", "cost_fn_calls": c["cost_fn_calls"],
                 "lookups": c["lookups"], "misses": c["misses"], "hit_rate": c["hit_rate"],
                 "grid_points": c["table_points"], "grid_filled": c["table_filled"],
                 "kernel_entries": c["kernel_entries"], "loop_wall_s": c["wall_s"], "fill_wall_s": c["fill_s"]}
        if setup.table is not None:
            table["axes_sizes"] = [int(a.size) for a in (setup.table.t_axis, setup.table.d_axis, setup.table.c_axis)]
        runs = getattr(setup.cost_fn, "pipeline_runs", None)
        if runs is not None:
            table["pipeline_runs"] = runs
        notes = list(setup.notes)
        if getattr(setup.cost_fn, "energy_note", None):
            notes.append(setup.cost_fn.energy_note)
        if not summary["stability"]["stable"]:
            notes.append(f"UNSTABLE: {summary['stability']['reason']}; latency percentiles cover finished "
                         "requests only")
        if summary["rejected"]:
            reasons = ", ".join(f"{n} {why}" for why, n in summary["rejected_by_reason"].items())
            notes.append(f"{summary['rejected']} requests rejected and counted: {reasons}")
        setup_dict = {
            "replicas": setup.replicas, "replica_mapping": setup.mapping,
            "chips_used": setup.replicas * setup.chips_per_replica, "chips": system.count,
            "kv_capacity_tokens_per_replica": setup.capacity_tokens,
            "kv_capacity": setup.capacity_note, "kv_blocks_per_replica": loop.blocks,
            "host_kv_tokens_per_replica": loop.host_capacity_tokens, "swap_s_per_token": loop.swap_s_per_token,
            "scheduler": {k: getattr(loop, k) for k in ("policy", "admission", "preemption", "max_seqs",
                                                          "max_batched_tokens", "chunk_tokens", "block_tokens",
                                                          "iteration_overhead_s", "clients")},
            "router": loop.router, "max_context": loop.max_context, "fidelity": setup.fidelity,
            "dtypes": {"weight": setup.scenario.weight_dtype, "act": setup.scenario.act_dtype,
                       "kv": setup.scenario.kv_dtype},
            "mapper_options": dict(setup.options), "run_status": run.run_status,
            "max_sim_time_s": loop.max_sim_time_s, "max_queue": loop.max_queue,
            "arrivals_seed": spec.arrivals.seed,
        }
        summary["efficiency"] = efficiency(summary, cost, system.count)
        prefix = prefix_summary(run.cached_tokens, requests, loop.reserved_tokens)
        if prefix is not None:
            summary["prefix_cache"] = prefix
        if setup.speculation is not None:
            setup_dict["speculative"] = dict(setup.speculative)
            steps = c.get("verify_steps", 0)
            summary["speculative"] = {
                "verify_steps": steps, "tokens_from_verify_steps": c.get("verify_tokens", 0),
                "tokens_per_verify_step": c["verify_tokens"] / steps if steps else None,
                "expected_tokens_per_verify_step": setup.speculation.expected_tokens}
        provenance = {"archsim_version": __version__, "config_hash": system.config_hash,
                      "chip_source": system.source, "fidelity": setup.fidelity,
                      "cost": type(setup.cost_fn).__name__}
        return cls(system.name, setup.workload, requests.description, setup_dict, summary, energy, cost, table,
                   provenance, notes, run, per_request(run), timeseries(run))

    TABLES = ("requests", "timeseries")

    def to_pandas(self, table: str = "requests"):
        """A pandas DataFrame: one row per request (arrival, lengths, replica, queue, TTFT, TPOT, end-to-end,
        preemptions; NaN where a request did not finish) or of the sampled time series ('timeseries')."""
        from archsim.report.tables import frame_of_columns

        if table == "requests":
            return frame_of_columns(self.per_request)
        if table == "timeseries":
            return frame_of_columns(self.timeseries)
        raise ValueError(f"table must be one of {', '.join(self.TABLES)}, got {table!r}")

    def _repr_html_(self) -> str:
        from archsim.report.markup.notebook import serve_fragment

        return serve_fragment(self)

    def to_dict(self) -> dict:
        series = {k: np.round(v, 9).tolist() for k, v in self.timeseries.items()}
        return {"chip": self.chip, "workload": self.workload, "requests": self.requests_description,
                "setup": self.setup, "summary": self.summary, "energy": self.energy, "cost": self.cost,
                "table": self.table, "timeseries": series, "provenance": self.provenance, "notes": self.notes}


def _energy(system, run, setup) -> dict:
    """Dynamic energy of every iteration plus the static power of every chip of the system over the run."""
    dynamic = float(run.replica_joules.sum())
    idle = system.chip.power.get("idle") if system.chip.get("power") is not None else None
    span = run.end_s
    tokens = int(run.generated.sum())
    if idle is None:
        return {"dynamic_j": dynamic, "note": f"no static power: {system.chip.name} has no power.idle; "
                                              "energy per token not computed"}
    overhead = float(system.power.overhead) if system.power is not None else 0.0
    static_w = float(idle) * system.count + overhead
    total = dynamic + static_w * span
    return {"energy_j": total, "dynamic_j": dynamic, "static_j": static_w * span, "static_power_w": static_w,
            "energy_per_output_token_j": total / tokens if tokens else None,
            "avg_power_w": total / span if span > 0 else None,
            "note": f"static: {float(idle):,.0f} W x {system.count} chip{'s' if system.count != 1 else ''}"
                    + (f" + {overhead:,.0f} W overhead" if overhead else "")
                    + f" over the {span:,.1f} s simulated (idle time included); dynamic: the sum of each "
                      "iteration's dynamic joules from the cost function"}


def efficiency(summary: dict, cost: dict, chips: int) -> dict:
    """Throughput and goodput per chip of the system and per dollar of the run (capital over the simulated time
    and energy, archsim/energy/cost.py): what a chip, or a dollar, buys at this load and SLO."""
    thr = summary["throughput"]
    slo = summary.get("slo")
    good = slo["goodput_output_tokens_per_s"] if slo else None
    per_m = cost.get("cost_per_million_tokens_usd")
    span = summary["simulated_s"]
    usd = per_m * thr["output_tokens"] / 1e6 if per_m is not None else None
    return {"chips": chips, "output_tokens_per_s_per_chip": thr["output_tokens_per_s"] / chips,
            "goodput_output_tokens_per_s_per_chip": good / chips if good is not None else None,
            "usd_per_hour": usd / span * 3600 if usd and span > 0 else None,
            "goodput_output_tokens_per_usd": good * span / usd if good is not None and usd else None}
