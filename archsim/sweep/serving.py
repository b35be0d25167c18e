"""Serving sweeps: a `serving:` block (the schema of a `--serving` file) and `serving.<key>` axes, so each
point is a serving run (`archsim serve`) instead of one step (docs/sweep.md, "Serving sweeps").

    serving: {arrivals: {rate: 2, requests: 40, seed: 0}, prompt: {tokens: 300}, output: {tokens: 40}}
    find_max_rate: false           # true: each point reports the highest rate meeting serving.slo
    axes:
      serving.arrivals.rate: [2, 8]              # any key of the serving description, by its path ...
      serving.scheduler: [continuous, chunked]   # ... or by its `archsim serve` flag name
      options.tp: [1, 2]

Every value is checked with the serving schema's own rules, and every combination the sweep runs with the
rules between keys (`load_serving`'s), before any point runs. A point runs `run_serving`, the code behind
`archsim serve`, with the same description, so its row equals that command's result (wall-clock fields aside).
"""
from __future__ import annotations

from archsim.errors import Problem, SpecError
from archsim.serving.spec import FLAG_PATHS, SERVING, arrival_process, serving_from_data
from archsim.spec import Field, check_value, did_you_mean

# Scenario fields a serving run takes (dtypes); batch, phase and lengths come from the request stream.
SERVING_SCENARIO = ("weight_dtype", "act_dtype", "kv_dtype")
# The mappers `archsim serve` accepts (commands/serve.py): serving times iterations with the family's default.
SERVING_MAPPERS = ("auto", "gpu-tiled")


def _leaves(schema: dict, prefix: str = "") -> dict[str, Field]:
    out = {}
    for key, sub in schema.items():
        if isinstance(sub, dict):
            out.update(_leaves(sub, f"{prefix}{key}."))
        elif sub.kind != "mapping" and not (prefix == "" and key in ("version", "kind", "description")):
            out[prefix + key] = sub
    return out


# Every key a serving axis can vary, by its path in the serving description: arrivals.rate, scheduler.max_seqs...
SERVING_KEYS = _leaves(SERVING)
# `archsim serve` flag names as short axis names: serving.rate = serving.arrivals.rate.
FLAG_KEYS = {flag: ".".join(path) for flag, path in FLAG_PATHS.items()}


def serving_key(axis: str) -> str | None:
    """`serving.scheduler.max_seqs` or `serving.max_seqs` -> 'scheduler.max_seqs'; None if it names no key."""
    rest = axis.split(".", 1)[1] if "." in axis else ""
    if rest in SERVING_KEYS:
        return rest
    return FLAG_KEYS.get(rest)


def unknown_serving_axis(axis: str) -> str:
    rest = axis.split(".", 1)[1] if "." in axis else ""
    section = rest.split(".", 1)[0]
    keys = [k for k in SERVING_KEYS if k.startswith(section + ".")] if "." in rest else []
    hint = did_you_mean(rest, list(SERVING_KEYS) + list(FLAG_KEYS))
    listing = (f"keys of {section}: {', '.join(k.split('.', 1)[1] for k in keys)}" if keys else
               "sections: " + ", ".join(dict.fromkeys(k.split(".")[0] for k in SERVING_KEYS))
               + "; or an `archsim serve` flag name: " + ", ".join(FLAG_KEYS))
    return (f"unknown serving key {rest!r}{hint}; a serving axis is serving.<section>.<key> (the keys of a "
            f"--serving file, docs/serving.md) or serving.<flag>; {listing}")


def check_values(axis: str, values: list, file: str, lines: dict) -> tuple[tuple, list[Problem]]:
    """Each value against the key's field: (parsed values, problems located at axes.<axis>.<i>)."""
    field = SERVING_KEYS[serving_key(axis)]
    parsed, problems = [], []
    for i, v in enumerate(values):
        path = ("axes", axis, i)
        ok, value, found = check_value(v, field, file, {path: lines.get(path, lines.get(path[:2]))}, path)
        problems += found
        parsed.append(value if ok else v)
    return tuple(parsed), problems


def block_lines(lines: dict) -> dict:
    """The sweep file's lines of its serving block, keyed relative to the block (as a --serving file's)."""
    return {k[1:]: v for k, v in lines.items() if len(k) > 1 and k[0] == "serving"}


def with_defaults(block: dict) -> dict:
    """A sweep's block may leave out a --serving file's `version: 1` and `kind: serving`."""
    return {"version": 1, "kind": "serving", **block}


def check_block(block: dict, file: str, lines: dict, find_max_rate: bool) -> tuple[object, list[Problem]]:
    """The serving block alone (before any axis): (validated SpecNode or None, problems)."""
    flags = {"rate": 1.0} if find_max_rate and (block.get("arrivals") or {}).get("rate") is None else {}
    try:
        return serving_from_data(with_defaults(block), file, block_lines(lines), flags), []
    except SpecError as exc:
        return None, [_rebase(p, lines, {}) for p in exc.problems]


def read_block(data: dict, node, kinds: dict, mapper: str, workloads: list, file: str, lines, resolve,
               problems: list) -> tuple[dict | None, dict]:
    """A sweep file's serving block (trace paths through `resolve`: relative to the sweep file) and its values
    by key path, units parsed; appends the problems of a serving sweep (axes or find_max_rate without a block,
    the block's own, step-shaped settings beside it)."""
    block = data.get("serving")
    find = bool(node.get("find_max_rate")) if node is not None else False
    serving_axes = [name for name, kind in kinds.items() if kind == "serving"]
    first: dict = {}
    for name in serving_axes:  # serving.rate and serving.arrivals.rate: one key, two axes
        other = first.setdefault(serving_key(name), name)
        if other != name:
            problems.append(Problem(file, lines.get(("axes", name)), f"axes.{name}",
                                    f"sets {serving_key(name)}, as axis {other!r} does: keep one of them"))
    if data.get("rate_tolerance") is not None and not find:
        problems.append(Problem(file, lines.get(("rate_tolerance",)), "rate_tolerance",
                                "rate_tolerance is the width of the rate search: set find_max_rate: true too"))
    if not isinstance(block, dict):  # missing, or not a mapping (the schema said so)
        if block is None:
            problems += [Problem(file, lines.get(("axes", name)), f"axes.{name}",
                                 "a serving axis needs a `serving:` block: the request stream and scheduler each "
                                 "point serves (the keys of a --serving file, docs/serving.md)")
                         for name in serving_axes]
            if find:
                problems.append(Problem(file, lines.get(("find_max_rate",)), "find_max_rate",
                                        "find_max_rate needs a `serving:` block with arrivals and an slo"))
        return None, {}
    block = dict(block)
    for section in ("arrivals", "prompt", "output"):
        part = block.get(section)
        if isinstance(part, dict) and isinstance(part.get("trace"), str):
            block[section] = {**part, "trace": resolve(part["trace"])}
    base, found = check_block(block, file, lines, find)
    problems += found
    problems += scenario_problems(dict(data.get("scenario") or {}), list(kinds), mapper, workloads, file, lines)
    if find:
        problems += [Problem(file, lines.get(("axes", name)), f"axes.{name}",
                             "find_max_rate searches the arrival rate itself (from serving.arrivals.rate, or 1/s); "
                             "drop this axis, or find_max_rate")
                     for name in serving_axes if serving_key(name) == "arrivals.rate"]
    return block, flatten(base.to_dict()) if base is not None else {}


def apply(block: dict, assignments: list[tuple[str, object]]) -> dict:
    """The block with each (key path, value) set: a point's serving description as written."""
    import copy

    data = copy.deepcopy(block)
    for path, value in assignments:
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return data


def check_point(block: dict, assignments: list[tuple[str, str, int, object]], file: str, lines: dict,
                find_max_rate: bool) -> tuple[dict | None, list[Problem]]:
    """One combination of serving axis values (key path, axis name, value index, value), checked with the rules
    between keys: (the effective description, units parsed, for the point's key; or None and the problems)."""
    data = apply(block, [(path, value) for path, _, _, value in assignments])
    sub = block_lines(lines)
    where = {}
    for path, axis, i, value in assignments:
        line = lines.get(("axes", axis, i), lines.get(("axes", axis)))
        sub[tuple(path.split("."))] = line
        where[path] = (axis, value, line)
    at = ", ".join(f"{axis}={value}" for _, axis, _, value in assignments)
    flags = {"rate": 1.0} if find_max_rate and (data.get("arrivals") or {}).get("rate") is None else {}
    try:
        spec = serving_from_data(with_defaults(data), file, sub, flags)
    except SpecError as exc:
        return None, [_rebase(p, lines, where, at) for p in exc.problems]
    problems = []
    if find_max_rate:
        line = lines.get(("find_max_rate",))
        if arrival_process(spec) not in ("poisson", "gamma"):
            problems.append(Problem(file, line, "find_max_rate", "the rate search varies a Poisson (or gamma) "
                                    f"arrival rate; the arrivals here are {arrival_process(spec)!r}"
                                    + (f" (at {at})" if at else "")))
        if spec.slo.ttft is None and spec.slo.tpot is None:
            problems.append(Problem(file, line, "find_max_rate", "the rate search needs an SLO: serving.slo "
                                    "{ttft: 2 s, tpot: 200 ms} (one or both)" + (f" (at {at})" if at else "")))
    return (None if problems else spec.to_dict()), problems


def _rebase(p: Problem, lines: dict, where: dict, at: str = "") -> Problem:
    """A problem of the serving description, located in the sweep file: at the axis that set the key, else in
    the serving block; with the point's axis values when several combinations run."""
    if p.path in where:
        axis, value, line = where[p.path]
        return Problem(p.file, line, f"axes.{axis}", f"{value!r}: {p.message}" + (f" (at {at})" if at else ""))
    line = p.line if p.line is not None else lines.get(("serving",))
    return Problem(p.file, line, "serving." + p.path if p.path else "serving",
                   p.message + (f" (at {at})" if at else ""))


def scenario_problems(scenario: dict, axes: list, mapper: str, workload_names: list, file: str,
                      lines: dict) -> list[Problem]:
    """What a serving sweep cannot take: step-shaped scenario fields, another mapper, an inline workload."""
    from archsim.workload.inline import is_inline

    out = []
    why = ("a serving point takes only the dtypes from the scenario (" + ", ".join(SERVING_SCENARIO)
           + "); batch, phase and lengths come from the request stream and the scheduler")
    for key in scenario:
        if key not in SERVING_SCENARIO:
            out.append(Problem(file, lines.get(("scenario", key), lines.get(("scenario",))), f"scenario.{key}", why))
    for name in axes:
        if name.startswith("scenario.") and name.split(".", 1)[1] not in SERVING_SCENARIO:
            out.append(Problem(file, lines.get(("axes", name)), f"axes.{name}",
                               why + "; vary serving.<key> axes instead"))
    if mapper not in SERVING_MAPPERS:
        out.append(Problem(file, lines.get(("mapper",)), "mapper",
                           f"serving times iterations with the family's default mapper; mapper {mapper!r} is not "
                           "supported in a serving sweep (leave mapper out)"))
    for name in workload_names:
        if is_inline(name):
            out.append(Problem(file, lines.get(("workload",)), "workload",
                               f"a serving run needs a model, not {name!r}"))
    return out


FILE_KEYS = ("arrivals.trace", "prompt.trace", "output.trace", "speculative.draft")
_DIGESTS: dict = {}


def file_digests(effective: dict) -> dict:
    """A digest of each file the description names (a trace CSV, a draft model's YAML), for the point's key: an
    edited trace gives new keys, as an edited chip file does. Bundled names are not files and need none."""
    import hashlib
    from pathlib import Path

    out = {}
    for key, value in flatten(effective).items():
        if key in FILE_KEYS and isinstance(value, str) and Path(value).is_file():
            path = Path(value).resolve()
            stamp = (str(path), path.stat().st_mtime_ns, path.stat().st_size)
            if stamp not in _DIGESTS:
                _DIGESTS[stamp] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            out[key] = _DIGESTS[stamp]
    return out


def flatten(data: dict, prefix: str = "") -> dict:
    """{'arrivals': {'rate': 2.0}} -> {'arrivals.rate': 2.0}: the leaves that are serving keys."""
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        elif path in SERVING_KEYS:
            out[path] = value
    return out


def run_serving_point(system, config: dict, step_memo: dict | None = None) -> dict:
    """One serving point, as `archsim serve` runs it (run_serving): its row's metrics."""
    from archsim.serving.api import run_serving

    run = config["serving"]
    result, search = run_serving(system, config["workload"], serving=run["description"], dtypes=config["scenario"],
                                 options=config["options"], fidelity=config["fidelity"],
                                 find_max_rate=run["find_max_rate"], rate_tolerance=run["rate_tolerance"],
                                 step_memo=step_memo)
    return serving_metrics(result, search)


def serving_metrics(result, search=None) -> dict:
    """A serving run's row: the headline numbers under flat names (the database's columns, `archsim results`'
    defaults), then the result's JSON as `archsim serve --json` writes it, without the sampled time series."""
    out: dict = {"kind": "serving"}
    if result is not None:
        doc = result.to_dict()
        doc.pop("timeseries", None)
        s, energy, cost = result.summary, result.energy, result.cost
        lat, thr, slo = s["latency"], s["throughput"], s.get("slo")
        out.update(
            ttft_p50_s=lat["ttft_s"]["p50"], ttft_p99_s=lat["ttft_s"]["p99"], tpot_p50_s=lat["tpot_s"]["p50"],
            tpot_p99_s=lat["tpot_s"]["p99"], e2e_p99_s=lat["e2e_s"]["p99"], tokens_per_s=thr["output_tokens_per_s"],
            requests_per_s=thr["requests_per_s"], goodput_tokens_per_s=slo["goodput_output_tokens_per_s"] if slo
            else None, goodput_requests_per_s=slo["goodput_requests_per_s"] if slo else None,
            goodput_fraction=slo["fraction_meeting"] if slo else None,
            cost_per_million_tokens=cost.get("cost_per_million_tokens_usd"),
            energy_per_token_j=energy.get("energy_per_output_token_j"), avg_power_w=energy.get("avg_power_w"),
            preemptions=s["preemptions"]["recompute"] + s["preemptions"]["swap"], rejected=s["rejected"],
            unfinished=s["unfinished"], stable=s["stability"]["stable"], chips_used=result.setup["chips_used"])
        out = {k: v for k, v in out.items() if v is not None}  # no SLO, no price: no such column
    else:  # the search found no rate meeting the SLO
        doc = {}
    if search is not None:
        out["max_rate_requests_per_s"] = search.best_rate
        doc["rate_search"] = search.to_dict()
    out.update(doc)
    return out
