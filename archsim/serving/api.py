"""One call for a serving run, as `archsim serve` makes it: a description from an MLPerf preset, a file and
flags; the replica set up once; one run, or the search for the highest rate meeting the SLO.

    result, search = run_serving("dgx-h100", "llama2-70b", scenario_name="mlperf-server", find_max_rate=True,
                                 flags={"replicas": 4, "max_seqs": 1024}, options={"tp": 2},
                                 dtypes=dict(weight_dtype="fp8", act_dtype="fp16", kv_dtype="fp8"))

Used by the command line, `archsim compare --serve` and the serving validation cases.
"""
from __future__ import annotations

from pathlib import Path

from archsim.errors import ArchsimInputError


def run_serving(chip, workload: str, *, scenario_name: str | None = None, serving_file: str | None = None,
                flags: dict | None = None, dtypes: dict | None = None, options: dict | None = None,
                overrides: list | None = None, fidelity: str = "task", direct: bool = False,
                find_max_rate: bool = False, rate_tolerance: float = 0.02, progress=None,
                serving: dict | None = None, step_memo: dict | None = None):
    """(ServingResult or None, RateSearch or None); with `find_max_rate` the result is the best rate's.

    serving: the description as data (a sweep point's), instead of `serving_file`. step_memo: a dict that keeps
    the pipeline's step costs across calls (a sweep's points on one chip and model): the same numbers, fewer
    pipeline runs."""
    from archsim.serving.scenarios import scenario_preset
    from archsim.serving.serve import prepare, serve
    from archsim.serving.spec import arrival_process, disaggregated, load_serving, serving_from_data
    from archsim.workload.model import Scenario

    model_name = Path(workload).stem if workload.endswith((".yaml", ".yml")) else workload
    base, notes = scenario_preset(scenario_name, model_name) if scenario_name else ({}, [])
    flags = {k: v for k, v in (flags or {}).items()}
    if find_max_rate and flags.get("rate") is None:
        flags["rate"] = 1.0  # the search's starting rate
    if serving is not None:
        spec = serving_from_data({"version": 1, "kind": "serving", **serving}, "serving", {}, flags, base)
    else:
        spec = load_serving(serving_file, flags, base)
    if find_max_rate and arrival_process(spec) not in ("poisson", "gamma"):
        raise ArchsimInputError("--find-max-rate searches over Poisson (or gamma) arrival rates; "
                                f"the arrivals here are {arrival_process(spec)!r}")
    if find_max_rate and spec.slo.ttft is None and spec.slo.tpot is None:
        raise ArchsimInputError("--find-max-rate needs an SLO: --slo ttft_p99=2s,tpot_p99=200ms or an MLPerf "
                                "--scenario")
    scenario = Scenario(phase="decode", **(dtypes or {})).check()
    if disaggregated(spec):
        from archsim.serving.disagg import prepare_disaggregated, serve_disaggregated

        if direct:
            raise ArchsimInputError("--direct times colocated iterations; a disaggregated run uses the cost tables")
        dsetup = prepare_disaggregated(chip, workload, spec, scenario=scenario, options=options, overrides=overrides,
                                       fidelity=fidelity)
        dsetup.notes.extend(notes)

        def one(rate=None):
            return serve_disaggregated(dsetup, spec, rate=rate)
    else:
        setup = prepare(chip, workload, spec, scenario=scenario, options=options, overrides=overrides,
                        fidelity=fidelity, direct=direct, step_memo=step_memo)
        setup.notes.extend(notes)

        def one(rate=None):
            return serve(setup.system, workload, spec, setup=setup, rate=rate)
    if not find_max_rate:
        return one(), None
    from archsim.serving.rate_search import find_max_rate as search_rate

    search = search_rate(one, spec.slo.ttft, spec.slo.tpot, start=spec.arrivals.rate, tolerance=rate_tolerance,
                         progress=progress)
    return search.best, search
