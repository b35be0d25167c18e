"""The serving description: a YAML file (`--serving FILE`) and command-line flags, one schema.

    version: 1
    kind: serving
    arrivals: {process: poisson, rate: 4.0, requests: 2000, seed: 0}
    prompt: {distribution: lognormal, mean: 1000, cv: 1.0, max: 8000}
    output: {distribution: fixed, tokens: 200}
    scheduler: {policy: chunked, max_seqs: 256, chunk_tokens: 512, admission: on_demand}
    kv_cache: {block_tokens: 16, preemption: recompute}
    replicas: {count: 2, router: least_tokens}
    slo: {ttft: 2 s, tpot: 200 ms}

Flags are applied on top of the file and checked by the same rules; a problem names the file, line
and key (or the flag). Every key, its default and meaning: SERVING below and docs/serving.md.
"""
from __future__ import annotations

import copy
from pathlib import Path

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.speculative import SPECULATIVE, from_node, parse_speculative
from archsim.spec import Field, SpecNode, check_section, check_value, key_value_pairs, load_yaml, validate

LENGTH_DISTRIBUTIONS = ("fixed", "uniform", "lognormal", "empirical", "trace")


LINK_KINDS = ("nvlink", "infiniband", "ethernet", "ideal")


def _pool(which: str) -> dict:
    return {
        "system": Field("str", f"the {which} pool's chip or system (default: the command's SYSTEM)", required=False),
        "chips": Field("int", "chips of that system the pool takes (default all of them; two pools of one system "
                              "share its chips)", required=False, positive=True),
        "replicas": Field("int", "replicas in the pool, behind the router", required=False, default=1, positive=True),
        "options": Field("mapping", "mapper options of its replicas, e.g. {tp: 4}", required=False),
    }


def _lengths(what: str) -> dict:
    return {
        "distribution": Field("choice", f"how {what} lengths are drawn (default: from the trace when arrivals "
                                        "replay one, else fixed)", required=False, choices=LENGTH_DISTRIBUTIONS),
        "tokens": Field("int", "fixed: every request's length", required=False, positive=True),
        "min": Field("int", "uniform: lowest; lognormal: lengths are clipped to at least this", required=False,
                     positive=True),
        "max": Field("int", "uniform: highest; lognormal and trace: clipped to at most this", required=False,
                     positive=True),
        "mean": Field("float", "lognormal: mean length", required=False, positive=True),
        "cv": Field("float", "lognormal: coefficient of variation (std / mean)", required=False, positive=True),
        "trace": Field("str", "empirical: the trace whose lengths are resampled (default: the arrivals' trace)",
                       required=False),
    }


SERVING = {
    "version": Field("choice", "schema version of this file", choices=(1,)),
    "kind": Field("choice", "file kind", choices=("serving",)),
    "description": Field("str", "one line about the setup", required=False, default=""),
    "arrivals": {
        "process": Field("choice", "poisson | gamma | trace | offline (all at t = 0) | concurrency (a closed loop "
                                   "of `concurrency` clients); default trace when a trace is named, else poisson",
                         required=False, choices=("poisson", "gamma", "trace", "offline", "concurrency")),
        "concurrency": Field("int", "process concurrency: clients, each sending its next request the moment its "
                                    "last one ends (AIPerf's and genai-perf's --concurrency)", required=False,
                             positive=True),
        "rate": Field("float", "requests per second (poisson, gamma)", required=False, positive=True),
        "cv": Field("float", "gamma: coefficient of variation of the inter-arrival times", required=False,
                    positive=True),
        "requests": Field("int", "requests to generate (poisson, gamma, offline, concurrency; default 1000) or the "
                                 "first N of a trace", required=False, positive=True),
        "duration": Field("time", "generate (or replay) arrivals in the first N seconds, e.g. '600 s'",
                          required=False, positive=True),
        "trace": Field("str", "azure-conv | azure-code | a CSV path (timestamp, prompt tokens, output tokens)",
                       required=False),
        "time_scale": Field("float", "trace: multiply arrival times by this (0.5 = twice the rate)", required=False,
                            default=1.0, positive=True),
        "seed": Field("int", "seed of numpy's Generator: same seed, same requests", required=False, default=0,
                      minimum=0),
    },
    "prompt": _lengths("prompt"),
    "output": _lengths("output"),
    "scheduler": {
        "policy": Field("choice", "static | continuous (vLLM, no chunking) | chunked (Sarathi-Serve) | inflight "
                                  "(TensorRT-LLM: decodes and whole prompts in one iteration)",
                        required=False, default="continuous", choices=("static", "continuous", "chunked", "inflight")),
        "max_seqs": Field("int", "sequences in one iteration at most", required=False, default=256, positive=True),
        "max_batched_tokens": Field("int", "static, continuous, inflight: tokens in one iteration at most (a longer "
                                           "prompt is rejected)", required=False, default=8192, positive=True),
        "chunk_tokens": Field("int", "chunked: the token budget of one iteration", required=False, default=512,
                              positive=True),
        "admission": Field("choice", "reserve (blocks for prompt + output at admission) | on_demand",
                           required=False, default="on_demand", choices=("reserve", "on_demand")),
        "iteration_overhead": Field("time", "host time added to every iteration: the serving runtime's own work "
                                            "(scheduling, input preparation, sampling bookkeeping, detokenizing) "
                                            "that the GPU waits for, e.g. '0.5 ms' (default 0: fully overlapped)",
                                    required=False, default=0.0, minimum=0.0),
    },
    "kv_cache": {
        "block_tokens": Field("int", "tokens per KV block", required=False, default=16, positive=True),
        "capacity_tokens": Field("int", "KV tokens per replica (default: from the system's memory after "
                                        "weights and activations)", required=False, positive=True),
        "preemption": Field("choice", "recompute | swap (needs swap_space)", required=False, default="recompute",
                            choices=("recompute", "swap")),
        "swap_space": Field("bytes", "host memory per replica for swapped KV, e.g. '64 GiB' (default none)",
                            required=False, default=0),
        "swap_bandwidth": Field("bandwidth", "device <-> host bandwidth per replica for swapping",
                                required=False),
    },
    "replicas": {
        "count": Field("int", "copies of the mapping behind the router", required=False, default=1, positive=True),
        "router": Field("choice", "round_robin | least_tokens (least outstanding tokens)", required=False,
                        default="round_robin", choices=("round_robin", "least_tokens")),
    },
    "slo": {
        "ttft": Field("time", "time-to-first-token limit per request (and on the P99 for --find-max-rate)",
                      required=False, positive=True),
        "tpot": Field("time", "time-per-output-token limit per request (and on the P99)", required=False,
                      positive=True),
    },
    "limits": {
        "max_sim_time": Field("time", "stop the run at this simulated time (default: last arrival + "
                                      "max(last arrival, 3600 s))", required=False, positive=True),
        "max_queue": Field("int", "stop the run (unstable) when this many requests wait", required=False,
                           default=100_000, positive=True),
    },
    "table": {
        "points_per_octave": Field("int", "grid points per doubling on each axis of the cost table",
                                   required=False, default=4, positive=True),
    },
    "speculative": SPECULATIVE,
    "disaggregated": {
        "prefill": _pool("prefill"),
        "decode": _pool("decode"),
        "link": {
            "kind": Field("choice", "how K/V moves from a prefill to a decode replica: nvlink (one NVLink system), "
                                    "infiniband, ethernet or ideal (no time, no energy); setting it makes serving "
                                    "disaggregated", required=False, choices=LINK_KINDS),
            "bandwidth": Field("bandwidth", "per transfer (default: the kind's, docs/serving.md)", required=False,
                               positive=True),
            "latency": Field("time", "per transfer (default: the kind's)", required=False, minimum=0),
            "energy": Field("energy_per_byte", "per bit or byte moved (default: the kind's)", required=False,
                            minimum=0),
        },
    },
    "prefix_cache": {
        "shared_tokens": Field("int", "a prefix every prompt starts with (a system prompt), in tokens; its K/V is "
                                      "kept once per replica", required=False, positive=True),
        "hit_rate": Field("float", "shared_tokens: the share of requests that find it in the cache (default 1)",
                          required=False, minimum=0.0),
        "hashes": Field("bool", "find cached prefixes from the trace's block hashes (hash_ids column): an LRU "
                                "cache of blocks in arrival order", required=False, default=False),
        "hash_block_tokens": Field("int", "hashes: tokens per hashed block of the trace (Mooncake's traces: 512)",
                                   required=False, default=512, positive=True),
        "capacity_tokens": Field("int", "hashes: KV tokens per replica kept for cached prefixes (default a tenth of "
                                        "the KV cache)", required=False, positive=True),
    },
}

# flag name -> key path in SERVING
FLAG_PATHS = {
    "arrivals": ("arrivals", "process"), "rate": ("arrivals", "rate"), "cv": ("arrivals", "cv"),
    "concurrency": ("arrivals", "concurrency"),
    "requests": ("arrivals", "requests"), "duration": ("arrivals", "duration"), "trace": ("arrivals", "trace"),
    "time_scale": ("arrivals", "time_scale"), "seed": ("arrivals", "seed"),
    "prompt_tokens": ("prompt", "tokens"), "output_tokens": ("output", "tokens"),
    "scheduler": ("scheduler", "policy"), "max_seqs": ("scheduler", "max_seqs"),
    "max_batched_tokens": ("scheduler", "max_batched_tokens"), "chunk_tokens": ("scheduler", "chunk_tokens"),
    "admission": ("scheduler", "admission"), "iteration_overhead": ("scheduler", "iteration_overhead"),
    "block_tokens": ("kv_cache", "block_tokens"),
    "kv_capacity_tokens": ("kv_cache", "capacity_tokens"), "preemption": ("kv_cache", "preemption"),
    "swap_space": ("kv_cache", "swap_space"), "replicas": ("replicas", "count"), "router": ("replicas", "router"),
    "max_sim_time": ("limits", "max_sim_time"), "max_queue": ("limits", "max_queue"),
    "slo_ttft": ("slo", "ttft"), "slo_tpot": ("slo", "tpot"),
    "shared_prefix": ("prefix_cache", "shared_tokens"), "prefix_hit_rate": ("prefix_cache", "hit_rate"),
    "prefix_hashes": ("prefix_cache", "hashes"), "prefix_cache_tokens": ("prefix_cache", "capacity_tokens"),
}


def load_serving(path: str | None = None, flags: dict | None = None, base: dict | None = None) -> SpecNode:
    """Read a serving file (or start from `base` or nothing), apply `flags` ({flag name: value}, None = unset),
    check everything against SERVING and the rules between keys; SpecError lists every problem."""
    if path is not None:
        file = str(path)
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ArchsimInputError(f"cannot read serving file {path}: {exc.strerror}") from None
        data, lines = load_yaml(text, file)
        if not isinstance(data, dict):
            raise SpecError([Problem(file, 1, "", "expected a mapping with version: 1, kind: serving, ...")])
    else:
        file, lines = "command line", {}
        data = {"version": 1, "kind": "serving"}
    return serving_from_data(data, file, lines, flags, base)


def serving_from_data(data: dict, file: str, lines: dict | None = None, flags: dict | None = None,
                      base: dict | None = None) -> SpecNode:
    """`load_serving` on a description already read (a sweep's `serving:` block with a point's axis values):
    `lines` maps key paths (relative to the description) to lines of `file`. `data` is not changed."""
    data, lines = copy.deepcopy(data), dict(lines or {})
    for section, values in (base or {}).items():  # presets (mlperf scenarios) under the file's own values
        if isinstance(values, dict):
            merged = dict(values)
            merged.update(data.get(section) or {})
            data[section] = merged
    flag_problems = []
    for flag, value in (flags or {}).items():
        if value is None:
            continue
        if flag == "disaggregate":  # --disaggregate decode=groq-lpu-576,link=infiniband: the whole section
            section = parse_disaggregate(value)
            _, found = check_section(section, SERVING["disaggregated"], "--disaggregate", {}, ("disaggregated",))
            flag_problems += found
            data["disaggregated"] = section
            lines[("disaggregated",)] = None
            for pool, values in section.items():
                lines.update({("disaggregated", pool, key): None for key in values})
            continue
        if flag == "speculative":  # --speculative draft=MODEL,k=4,alpha=0.8: the whole section
            section = parse_speculative(value)
            _, found = check_section(section, SPECULATIVE, "--speculative", {}, ("speculative",))
            flag_problems += found
            data["speculative"] = section
            lines.update({("speculative", key): None for key in section})
            lines[("speculative",)] = None
            continue
        section, key = FLAG_PATHS[flag]
        ok, _, found = check_value(value, SERVING[section][key], "--" + flag.replace("_", "-"), {}, (section, key))
        if not ok:
            flag_problems += found
            continue
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            continue  # the schema reports the section's own problem
        data[section][key] = value
        lines[(section, key)] = None  # marks "from a flag" in problem messages
        if flag in ("prompt_tokens", "output_tokens"):
            data[section]["distribution"] = "fixed"  # --prompt-tokens N: every prompt is N tokens
    if flag_problems:
        raise SpecError(flag_problems)
    spec = validate(data, SERVING, file, lines)
    problems = _cross_checks(spec, file, lines)
    if problems:
        raise SpecError(problems)
    return spec


def _cross_checks(spec: SpecNode, file: str, lines: dict) -> list[Problem]:
    problems = []

    def problem(path: tuple, message: str):
        line = lines.get(path) or lines.get(path[:1])
        problems.append(Problem(file if lines.get(path, 0) is not None else "--" + _flag(path), line,
                                ".".join(path), message))

    a = spec.arrivals
    process = arrival_process(spec)
    if process in ("poisson", "gamma") and a.rate is None:
        problem(("arrivals", "rate"), f"a {process} process needs a rate in requests per second (--rate)")
    if process == "gamma" and a.cv is None:
        problem(("arrivals", "cv"), "a gamma process needs the cv of its inter-arrival times")
    if process == "concurrency" and a.concurrency is None:
        problem(("arrivals", "concurrency"), "a closed loop needs its number of clients (--concurrency N)")
    if a.concurrency is not None and process != "concurrency":
        problem(("arrivals", "concurrency"), f"concurrency is the client count of a closed loop (arrivals.process: "
                                             f"concurrency); the arrivals here are {process!r}")
    if process == "concurrency" and a.duration is not None:
        problem(("arrivals", "duration"), "a closed loop issues its requests as earlier ones end: give their count "
                                          "(requests), not a duration")
    if process == "trace" and a.trace is None:
        problem(("arrivals", "trace"), "trace replay needs a trace: azure-conv, azure-code or a CSV path")
    for which in ("prompt", "output"):
        s = spec.get(which)
        dist = length_distribution(spec, which)
        if dist == "fixed" and s.tokens is None:
            problem((which, "tokens"), f"fixed {which} lengths need tokens (--{which}-tokens)")
        if dist == "uniform" and (s.min is None or s.max is None):
            problem((which, "min" if s.min is None else "max"), "a uniform distribution needs min and max")
        if dist == "uniform" and s.min is not None and s.max is not None and s.min > s.max:
            problem((which, "min"), f"min ({s.min}) is above max ({s.max})")
        if dist == "lognormal" and (s.mean is None or s.cv is None):
            problem((which, "mean" if s.mean is None else "cv"), "a lognormal distribution needs mean and cv")
        if dist == "trace" and process != "trace":
            problem((which, "distribution"), "lengths 'trace' come with trace replay (arrivals.process: trace); "
                                             "use 'empirical' to resample a trace's lengths")
        if dist == "empirical" and s.trace is None and a.trace is None:
            problem((which, "trace"), "empirical lengths need a trace to resample (or arrivals.trace)")
    if spec.kv_cache.preemption == "swap" and not spec.kv_cache.swap_space:
        problem(("kv_cache", "swap_space"), "preemption by swap needs host memory: set swap_space (e.g. '64 GiB')")
    pc = spec.prefix_cache
    if pc.hit_rate is not None and pc.hit_rate > 1.0:
        problem(("prefix_cache", "hit_rate"), f"a hit rate is at most 1, got {pc.hit_rate:g}")
    if pc.hit_rate is not None and pc.shared_tokens is None:
        problem(("prefix_cache", "hit_rate"), "hit_rate is the share of requests that find shared_tokens cached: "
                                              "set shared_tokens (--shared-prefix)")
    if pc.hashes and pc.shared_tokens is not None:
        problem(("prefix_cache", "hashes"), "cached prefixes come either from shared_tokens or from the trace's "
                                            "block hashes, not both")
    if pc.hashes and process != "trace":
        problem(("prefix_cache", "hashes"), "block hashes come with trace replay (a trace with a hash_ids column)")
    if pc.capacity_tokens is not None and not pc.hashes:
        problem(("prefix_cache", "capacity_tokens"), "capacity_tokens sizes the cache of hashed blocks (hashes: "
                                                     "true); a shared prefix takes its own blocks")
    d = spec.disaggregated
    pools_set = any(d.get(pool).get(key) is not None for pool in ("prefill", "decode")
                    for key in ("system", "chips", "options"))
    if pools_set and d.link.kind is None:
        problem(("disaggregated", "link"), "disaggregated serving needs the link between its pools: kind nvlink, "
                                           "infiniband, ethernet or ideal")
    if d.link.kind is not None and process == "concurrency":
        problem(("arrivals", "process"), "a closed loop (concurrency) is not modelled with disaggregated pools: a "
                                         "request's end in the decode pool would have to issue the next prefill")
    if d.link.kind is not None and spec.scheduler.policy == "static":
        problem(("scheduler", "policy"), "disaggregated serving needs continuous or chunked batching")
    try:
        from_node(spec.speculative, file, lines)
    except SpecError as err:
        for p in err.problems:
            flagged = lines.get(("speculative",), 0) is None
            problems.append(Problem("--speculative" if flagged else file, p.line, p.path, p.message))
    return problems


def speculation(spec: SpecNode):
    """The Speculation a checked serving description asks for, or None."""
    return from_node(spec.speculative)


DISAGGREGATE_KEYS = {
    "prefill": ("prefill", "system"), "decode": ("decode", "system"), "prefill_chips": ("prefill", "chips"),
    "decode_chips": ("decode", "chips"), "prefill_replicas": ("prefill", "replicas"),
    "decode_replicas": ("decode", "replicas"), "link": ("link", "kind"), "bandwidth": ("link", "bandwidth"),
    "latency": ("link", "latency"), "energy": ("link", "energy"),
    "prefill_tp": ("prefill", "options", "tp"), "prefill_pp": ("prefill", "options", "pp"),
    "decode_tp": ("decode", "options", "tp"), "decode_pp": ("decode", "options", "pp"),
}


def parse_disaggregate(text: str) -> dict:
    """'decode=groq-lpu-576,decode_chips=288,link=infiniband' -> the disaggregated section as a dict."""
    import yaml

    out: dict = {"prefill": {}, "decode": {}, "link": {}}
    for key, value in key_value_pairs(text, "--disaggregate", "decode=groq-lpu-576,link=infiniband",
                                      DISAGGREGATE_KEYS):
        path = DISAGGREGATE_KEYS[key]
        parsed = yaml.safe_load(value) if path[-1] in ("chips", "replicas", "tp", "pp") else value
        target = out[path[0]]
        if len(path) == 3:
            target = target.setdefault("options", {})
        target[path[-1]] = parsed
    return {k: v for k, v in out.items() if v}


def disaggregated(spec: SpecNode) -> bool:
    return spec.disaggregated.link.kind is not None


def _flag(path: tuple) -> str:
    for flag, p in FLAG_PATHS.items():
        if p == path:
            return flag.replace("_", "-")
    return ".".join(path)


def arrival_process(spec: SpecNode) -> str:
    a = spec.arrivals
    return a.process or ("trace" if a.trace is not None else "poisson")


def length_distribution(spec: SpecNode, which: str) -> str:
    s = spec.get(which)
    if s.distribution:
        return s.distribution
    if arrival_process(spec) == "trace":
        return "trace"
    return "fixed"
