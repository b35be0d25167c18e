"""`archsim serve SYSTEM MODEL`: a stream of requests on replicas of a mapping (docs/serving.md)."""
from __future__ import annotations

import argparse
import contextlib

from archsim.commands.common import (add_html_argument, add_mapping_arguments, add_speculative_argument,
                                     options_from_args, overrides_from_args, write_html_report, write_json)
from archsim.errors import ArchsimInputError

NAME = "serve"
HELP = "simulate serving a request stream (arrivals, batching, KV cache, replicas) and report latency, " \
       "throughput, goodput, energy and cost"
SLO_KEYS = {"ttft": "ttft", "ttft_p99": "ttft", "tpot": "tpot", "tpot_p99": "tpot"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("chip", help="bundled chip/system name or a YAML path")
    p.add_argument("workload", help="bundled model name or a YAML path")
    add_serving_arguments(p)
    add_model_arguments(p)
    add_output_arguments(p)


def add_serving_arguments(p: argparse.ArgumentParser) -> None:
    """The serving description's flags (also `archsim compare --serve`)."""
    p.add_argument("--serving", metavar="FILE", help="serving description (YAML, docs/serving.md); flags override it")
    p.add_argument("--scenario", help="MLPerf preset: mlperf-offline, mlperf-server or mlperf-interactive")
    g = p.add_argument_group("arrivals")
    g.add_argument("--arrivals", help="poisson | gamma | trace | offline | concurrency (default: trace with --trace, "
                                      "else poisson)")
    g.add_argument("--concurrency", type=int, help="closed loop (--arrivals concurrency): N clients, each sending "
                                                   "its next request when its last one ends")
    g.add_argument("--rate", type=float, help="requests per second (poisson, gamma; the start of --find-max-rate)")
    g.add_argument("--cv", type=float, help="gamma: coefficient of variation of the inter-arrival times")
    g.add_argument("--requests", type=int, help="requests to generate (default 1000), or the first N of a trace")
    g.add_argument("--duration", help="arrivals in the first N seconds only, e.g. 600s")
    g.add_argument("--trace", help="replay a request trace: azure-conv, azure-code or a CSV path")
    g.add_argument("--time-scale", type=float, help="trace: multiply arrival times by this (0.5 = twice the rate)")
    g.add_argument("--seed", type=int, help="random seed (default 0): same seed, same requests")
    g.add_argument("--prompt-tokens", type=int, help="every prompt this long (fixed lengths)")
    g.add_argument("--output-tokens", type=int, help="every output this long (fixed lengths)")
    g = p.add_argument_group("scheduler, KV cache and replicas")
    g.add_argument("--scheduler", help="static | continuous (default) | chunked | inflight (TensorRT-LLM)")
    g.add_argument("--max-seqs", type=int, help="sequences per iteration at most (default 256)")
    g.add_argument("--max-batched-tokens", type=int,
                   help="static, continuous, inflight: tokens per iteration (default 8192)")
    g.add_argument("--chunk-tokens", type=int, help="chunked: token budget per iteration (default 512)")
    g.add_argument("--admission", help="on_demand (default) | reserve (blocks for prompt + output up front)")
    g.add_argument("--iteration-overhead", help="host time added to every iteration (the serving runtime's own "
                                                "work the GPU waits for), e.g. 0.5ms (default 0)")
    g.add_argument("--block-tokens", type=int, help="tokens per KV block (default 16)")
    g.add_argument("--kv-capacity-tokens", type=int, help="KV tokens per replica (default: from memory)")
    g.add_argument("--preemption", help="recompute (default) | swap (needs --swap-space)")
    g.add_argument("--swap-space", help="host memory per GPU for swapped KV, e.g. '64 GiB'")
    g.add_argument("--shared-prefix", type=int, help="prefix caching: every prompt starts with this many shared "
                                                      "tokens (a system prompt), held once per replica")
    g.add_argument("--prefix-hit-rate", type=float, help="share of requests that find the shared prefix cached "
                                                         "(default 1)")
    g.add_argument("--prefix-hashes", action="store_true", default=None,
                   help="prefix caching from the trace's block hashes (hash_ids column), an LRU cache")
    g.add_argument("--prefix-cache-tokens", type=int, help="with --prefix-hashes: KV tokens per replica for cached "
                                                           "prefixes (default a tenth of the KV cache)")
    g.add_argument("--disaggregate", metavar="SPEC",
                   help="disaggregated prefill and decode pools: prefill=SYSTEM,decode=SYSTEM (default the "
                        "command's), prefill_chips=N,decode_chips=N (a share of one system), *_replicas, *_tp, *_pp, "
                        "link=nvlink|infiniband|ethernet|ideal, bandwidth=..., latency=..., energy=...")
    g.add_argument("--replicas", type=int, help="copies of the mapping (each with -o tp=..., pp=...)")
    g.add_argument("--router", help="round_robin (default) | least_tokens")
    g = p.add_argument_group("SLO and limits")
    g.add_argument("--slo", help="per-request limits, also on the P99s: ttft_p99=2s,tpot_p99=200ms")
    g.add_argument("--find-max-rate", action="store_true",
                   help="bisect for the highest Poisson rate whose P99 TTFT and TPOT meet --slo (fixed seed)")
    g.add_argument("--rate-tolerance", type=float, default=0.02, help="relative width at which the search stops")
    g.add_argument("--max-sim-time", help="stop at this simulated time, e.g. 7200s (default: last arrival + "
                                          "max(last arrival, 3600 s))")
    g.add_argument("--max-queue", type=int, help="stop (unstable) when this many requests wait (default 100000)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and mapping")
    g.add_argument("--dtype", default="bf16", help="weight and activation dtype (default bf16)")
    g.add_argument("--weight-dtype", default=None, help="weight dtype (default: --dtype)")
    g.add_argument("--kv-dtype", default=None, help="KV-cache dtype (default: --dtype)")
    add_mapping_arguments(g)
    add_speculative_argument(g)
    g.add_argument("--direct", action="store_true", help="call the cost function for every iteration (no table)")


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("outputs")
    g.add_argument("--json", metavar="FILE", help="write the results as JSON")
    g.add_argument("--csv", metavar="FILE", help="write one row per request")
    g.add_argument("--timeline", metavar="FILE", help="write a Chrome/Perfetto trace of requests and iterations")
    g.add_argument("--plot", metavar="DIR", help="write latency CDFs, throughput vs latency, KV use (PNG, SVG)")
    add_html_argument(g)
    g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar for the rate search (drawn only on a terminal anyway)")


def parse_slo(text: str | None) -> dict:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise ArchsimInputError(f"--slo expects KEY=TIME pairs like ttft_p99=2s,tpot_p99=200ms, got {part!r}")
        key, value = (x.strip() for x in part.split("=", 1))
        if key not in SLO_KEYS:
            raise ArchsimInputError(f"--slo key {key!r} is not one of {', '.join(SLO_KEYS)}")
        out["slo_" + SLO_KEYS[key]] = value
    return out


def _flags(args) -> dict:
    names = ("arrivals", "concurrency", "rate", "cv", "requests", "duration", "trace", "time_scale", "seed",
             "prompt_tokens", "output_tokens", "scheduler", "max_seqs", "max_batched_tokens", "chunk_tokens",
             "admission", "iteration_overhead",
             "block_tokens", "kv_capacity_tokens", "preemption", "swap_space", "replicas", "router",
             "max_sim_time", "max_queue", "shared_prefix", "prefix_hit_rate", "prefix_hashes", "prefix_cache_tokens")
    flags = {n: getattr(args, n) for n in names}
    flags["speculative"] = getattr(args, "speculative", None)
    flags["disaggregate"] = getattr(args, "disaggregate", None)
    flags.update(parse_slo(args.slo))
    return flags


def run(args) -> int:
    from archsim.serving.api import run_serving
    from archsim.serving.text import render, render_search

    if args.mapper not in ("auto", "gpu-tiled"):
        raise ArchsimInputError(f"serving times iterations with the family's default mapper for now; "
                                f"--mapper {args.mapper} is not supported here")

    from archsim.progress import progress_bar

    dtypes = dict(weight_dtype=args.weight_dtype or args.dtype, act_dtype=args.dtype,
                  kv_dtype=args.kv_dtype or args.dtype)
    with progress_bar(None, "rate search") if args.find_max_rate else contextlib.nullcontext() as advance:
        def progress(point):
            advance(note=f"{point['rate']:,.3f}/s {'meets' if point['meets'] else 'misses'} the SLO")

        result, search = run_serving(args.chip, args.workload, scenario_name=args.scenario,
                                     serving_file=args.serving, flags=_flags(args), dtypes=dtypes,
                                     options=options_from_args(args), overrides=overrides_from_args(args),
                                     fidelity=args.fidelity, direct=args.direct, find_max_rate=args.find_max_rate,
                                     rate_tolerance=args.rate_tolerance, progress=progress)
    if search is not None:
        print(render_search(search))
        if result is None:
            _write_outputs(args, None, search)
            return 0
        print()
    print(render(result))
    _write_outputs(args, result, search)
    return 0


def _write_outputs(args, result, search) -> None:
    if args.json:
        doc = result.to_dict() if result is not None else {}
        if search is not None:
            doc["rate_search"] = search.to_dict()
        write_json(args.json, doc)
    if result is None:
        return
    if args.csv:
        from archsim.serving.outputs import write_csv

        rows = write_csv(result, args.csv)
        print(f"csv: {args.csv} ({rows:,} requests)")
    if args.timeline:
        from archsim.serving.outputs import write_timeline

        info = write_timeline(result, args.timeline)
        left = info["left_out"]
        print(f"timeline: {args.timeline} ({info['events']:,} events; {info['replicas']} replica tracks, "
              f"{info['lanes']} request lanes" + (f"; left out {left['iterations']:,} iterations and "
                                                  f"{left['requests']:,} requests" if any(left.values()) else "")
              + "); open it in ui.perfetto.dev")
    if args.plot:
        from archsim.serving.plots import write_plots

        written = write_plots(result, args.plot, search)
        print(f"plots: {', '.join(sorted(written))} in {args.plot} (PNG and SVG)")
    write_html_report(args, result, search=search, trace=args.timeline)
