"""Terminal summary of a serving run (`archsim serve`), and of a rate search."""
from __future__ import annotations


def _ms(value) -> str:
    return "-" if value is None else f"{value * 1e3:,.2f}"


def _num(value, digits=1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(result) -> str:
    r, s, st = result, result.summary, result.setup
    sched = st["scheduler"]
    policy = {"static": "static batching", "continuous": "continuous batching",
              "chunked": f"chunked prefill ({sched['chunk_tokens']:,}-token budget)",
              "inflight": "in-flight batching (decodes and whole prompts together)"}[sched["policy"]]
    lines = [
        f"archsim {r.provenance['archsim_version']}: serving {r.workload} on {r.chip}: {st['replicas']} replica"
        f"{'s' if st['replicas'] != 1 else ''} x {st['replica_mapping']} ({st['chips_used']} of "
        f"{st['chips']} chips), fidelity {st['fidelity']}, dtype {st['dtypes']['weight']}",
        f"scheduler: {policy}, max {sched['max_seqs']} sequences, "
        + (f"{sched['max_batched_tokens']:,} tokens per iteration, " if sched["policy"] != "chunked" else "")
        + f"{sched['admission']} admission, preemption by {sched['preemption']}"
        + (f", {sched['iteration_overhead_s'] * 1e3:g} ms of host time per iteration"
           if sched.get("iteration_overhead_s") else "") + f"; router {st['router']}",
        f"requests: {r.requests_description}",
        f"KV cache: {st['kv_capacity']} ({st['kv_blocks_per_replica']:,} blocks of {sched['block_tokens']})",
        "",
        f"{'latency (ms)':<16}{'mean':>11}{'p50':>11}{'p90':>11}{'p99':>11}{'max':>11}{'count':>10}",
    ]
    names = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "inter-token"), ("e2e_s", "end-to-end"),
             ("queue_s", "queueing"))
    for key, label in names:
        x = s["latency"][key]
        lines.append(f"{label:<16}{_ms(x['mean']):>11}{_ms(x['p50']):>11}{_ms(x['p90']):>11}{_ms(x['p99']):>11}"
                     f"{_ms(x['max']):>11}{x['count']:>10,}")
    tp = s["throughput"]
    offered = tp["offered_requests_per_s"]
    lines += ["", f"throughput: {_num(tp['output_tokens_per_s'])} output tokens/s, {_num(tp['total_tokens_per_s'])} "
                  f"tokens/s with prompts, {_num(tp['requests_per_s'], 3)} requests/s"
                  + (f" (offered {offered:,.3f}/s)" if offered else "")
                  + f" over {s['simulated_s']:,.1f} s simulated"]
    if "slo" in s:
        g = s["slo"]
        limits = ", ".join(x for x in ((f"TTFT <= {g['ttft_s'] * 1e3:g} ms" if g["ttft_s"] is not None else ""),
                                       (f"TPOT <= {g['tpot_s'] * 1e3:g} ms" if g["tpot_s"] is not None else ""))
                           if x)
        lines.append(f"SLO ({limits}): {g['requests_meeting']:,} of {s['requests']:,} requests meet it "
                     f"({g['fraction_meeting']:.1%}); goodput {g['goodput_requests_per_s']:,.3f} requests/s, "
                     f"{g['goodput_output_tokens_per_s']:,.1f} output tokens/s; P99s within it: "
                     f"{'yes' if g['p99_met'] else 'no'}")
    ld = s["load"]
    lines.append(f"load: batch {ld['batch_size_mean']:.1f} sequences on average (max {ld['batch_size_max']}), "
                 f"replicas busy {ld['busy_fraction']:.1%} of the time; KV cache {ld['kv_used_fraction_mean']:.1%} "
                 f"used on average (max {ld['kv_used_fraction_max']:.1%}); waiting {ld['waiting_mean']:.1f} on "
                 f"average (max {ld['waiting_max']:,})")
    pre = s["preemptions"]
    lines.append(f"preemptions: {pre['recompute']:,} by recompute, {pre['swap']:,} by swap "
                 f"({pre['requests_preempted']:,} requests); rejected: {s['rejected']:,}; "
                 f"unfinished: {s['unfinished']:,}")
    stab = s["stability"]
    lines.append(f"stability: {'stable' if stab['stable'] else 'UNSTABLE'} ({stab['reason']})")
    link = s.get("link")
    if link:
        st_p, st_d = result.setup["prefill"], result.setup["decode"]
        lines.append(f"pools: prefill {st_p['system']} busy {st_p['busy_fraction']:.1%}, decode {st_d['system']} busy "
                     f"{st_d['busy_fraction']:.1%}; K/V over {link['kind']}: {link['transfers']:,} transfers, "
                     f"{link['bytes'] / 1e9:,.2f} GB, {_ms(link['transfer_s']['mean'])} ms each on average (P99 "
                     f"{_ms(link['transfer_s']['p99'])} ms, waiting {_ms(link['wait_s']['mean'])} ms), "
                     f"{link['energy_j']:,.1f} J")
    eff = s.get("efficiency")
    if eff:
        lines.append(f"per chip ({eff['chips']}): {eff['output_tokens_per_s_per_chip']:,.2f} output tokens/s"
                     + (f", goodput {eff['goodput_output_tokens_per_s_per_chip']:,.2f}"
                        if eff["goodput_output_tokens_per_s_per_chip"] is not None else "")
                     + (f"; goodput per dollar: {eff['goodput_output_tokens_per_usd']:,.0f} output tokens"
                        if eff["goodput_output_tokens_per_usd"] is not None else ""))
    pc = s.get("prefix_cache")
    if pc:
        lines.append(f"prefix cache: {pc['requests_with_hits']:,} requests ({pc['request_hit_rate']:.1%}) found a "
                     f"cached prefix; {pc['cached_prompt_tokens']:,} of {pc['prompt_tokens']:,} prompt tokens "
                     f"({pc['cached_share_of_prompt_tokens']:.1%}) not prefilled; "
                     f"{pc['reserved_tokens_per_replica']:,} KV tokens per replica set aside")
    sp = s.get("speculative")
    if sp and sp["tokens_per_verify_step"] is not None:
        lines.append(f"speculative decoding: {sp['tokens_per_verify_step']:.3f} tokens per verify step over "
                     f"{sp['verify_steps']:,} steps (expected {sp['expected_tokens_per_verify_step']:.3f})")
    lines += energy_lines(r)
    t = r.table
    if t["mode"] == "direct":
        lines.append("iteration costs: cost_fn called directly for every iteration "
                     f"({t['cost_fn_calls']:,} distinct)")
    else:
        runs = f" ({t['pipeline_runs']:,} pipeline runs in all)" if "pipeline_runs" in t else ""
        lines.append(f"iteration costs: a {' x '.join(map(str, t.get('axes_sizes', [])))} grid, {t['cost_fn_calls']:,} "
                     f"cost_fn calls this run{runs}; hit rate {t['hit_rate']:.2%} over {t['lookups']:,} iterations; "
                     f"loop {t['loop_wall_s']:.2f} s wall ({t['fill_wall_s']:.2f} s filling the table)")
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


def energy_lines(r) -> list[str]:
    e, c = r.energy, r.cost
    if e.get("energy_j") is None:
        return [f"energy: {e.get('note', 'not computed')}"]
    out = [f"energy {e['energy_per_output_token_j']:.3f} J per output token ({e['energy_j'] / 1e3:,.1f} kJ: dynamic "
           f"{e['dynamic_j'] / 1e3:,.1f} kJ + static {e['static_j'] / 1e3:,.1f} kJ), average power "
           f"{e['avg_power_w']:,.0f} W; {e['note']}"
           if e.get("energy_per_output_token_j") is not None else f"energy {e['energy_j'] / 1e3:,.1f} kJ"]
    if c.get("cost_per_million_tokens_usd") is not None:
        inputs = c["inputs"] if isinstance(c["inputs"], list) else [c["inputs"]]  # disaggregated: both pools
        prices = " + ".join(f"{i['source']}: ${i['capital_usd']:,.0f} over {i['amortization_years']:g} years"
                            for i in inputs)
        i = inputs[0]
        out.append(f"cost ${c['cost_per_million_tokens_usd']:,.2f} per million output tokens: capital "
                   f"${c['capital_usd_per_million_tokens']:,.2f} + electricity "
                   f"${c['energy_usd_per_million_tokens']:,.2f} ({prices}; "
                   f"${i['electricity_usd_per_kwh']:g}/kWh, PUE {i['pue']:g}; busy all the time at this load)")
    else:
        out.append(f"cost: {c.get('note')}")
    return out


def render_search(search) -> str:
    lines = [f"rate search (bisection, same seed at every rate): {search.criterion}",
             f"{'rate req/s':>12}{'P99 TTFT ms':>14}{'P99 TPOT ms':>14}{'out tok/s':>12}{'stable':>8}  meets"]
    for p in sorted(search.points, key=lambda q: q["rate"]):
        lines.append(f"{p['rate']:>12,.3f}{_ms(p['ttft_p99_s']):>14}{_ms(p['tpot_p99_s']):>14}"
                     f"{p['output_tokens_per_s']:>12,.1f}{('yes' if p['stable'] else 'no'):>8}  "
                     f"{'yes' if p['meets'] else 'no'}")
    if search.best is None:
        lines.append(f"no rate meets the SLO (lowest tried {min(p['rate'] for p in search.points):g} requests/s)")
    else:
        lines.append(f"max rate meeting the SLO: {search.best_rate:,.3f} requests/s = "
                     f"{search.best.summary['throughput']['output_tokens_per_s']:,.1f} output tokens/s "
                     f"(within {search.tolerance:.0%} of the lowest failing rate tried)")
    return "\n".join(lines)
