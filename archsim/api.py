"""The notebook-friendly entry points: each runs one kind of study and returns a result object with
`.to_pandas()`, `._repr_html_()` (a summary in a notebook) and `.to_dict()` (docs/api.md).

    import archsim
    r = archsim.run("h100-sxm", "llama3.1-8b", phase="decode", batch=8, whatif=True)
    c = archsim.compare(["dgx-h100", "cs3x4"], "llama3.1-70b", weight_dtype="int8")
    s = archsim.serve("h100-sxm", "llama3.1-8b", rate=4, requests=200, prompt_tokens=500, output_tokens=100)
    w = archsim.sweep("examples/h100_bandwidth_sweep.yaml", fidelity="roofline")
    archsim.write_html(c, "race.html")

Each is the same composition the command line makes (the CLI is a shell over these modules); nothing
here computes a number.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from archsim.errors import ArchsimInputError
from archsim.sweep.study import sweep  # archsim.sweep(...) is this too (the package is callable)

if TYPE_CHECKING:  # for the annotations only: importing them costs numba/numpy at start-up
    from archsim.hw.load import System
    from archsim.report.compare import Comparison
    from archsim.report.result import RunResult
    from archsim.serving.result import ServingResult
    from archsim.workload.model import Scenario


def _scenario(scenario: "Scenario | None", fields: dict) -> "Scenario":
    from archsim.workload.model import Scenario

    names = {f.name for f in dataclasses.fields(Scenario)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ArchsimInputError(f"unknown scenario field {unknown[0]!r}; fields: {', '.join(sorted(names))}")
    base = scenario or Scenario()
    dtype = fields.pop("dtype", None)
    if dtype is not None:  # one dtype for weights, activations and KV unless given apart (the CLI's --dtype)
        for key in ("weight_dtype", "act_dtype", "kv_dtype"):
            fields.setdefault(key, dtype)
    return dataclasses.replace(base, **fields).check()


def run(chip: "str | System", workload: str, scenario: "Scenario | None" = None, *, mapper: str = "auto",
        options: dict | None = None, overrides: list | None = None, fidelity: str = "task",
        whatif: bool | str = False, **scenario_fields) -> "RunResult":
    """Simulate `workload` on `chip` (a name, a YAML path or a loaded System) -> RunResult.

    The scenario is `scenario` (an archsim.Scenario) with any of its fields given as keywords
    (phase="prefill", batch=8, prompt_len=2048, context_len=1024, weight_dtype="int8", dtype="fp8").
    whatif: True (re-simulate with each resource class 2x as fast), "auto" (the CLI's default: unless
    the task graphs are very large) or False (default)."""
    from archsim.pipeline import run as run_pipeline

    result = run_pipeline(chip, workload, _scenario(scenario, dict(scenario_fields)), mapper=mapper,
                          options=options, overrides=overrides, fidelity=fidelity)
    mode = "auto" if whatif == "auto" else ("on" if whatif else "off")
    if mode != "off":
        from archsim.whatif import add_whatif

        add_whatif(result, mode)
    return result


def scenario_text(scenario: "Scenario") -> str:
    """The scenario in words, as `archsim compare` prints it."""
    text = f"batch {scenario.batch}, {scenario.weight_dtype}"
    return text + (f", prompt {scenario.prompt_len}" if scenario.phase == "prefill" else
                   f", context {scenario.context_len}")


def compare(chips: list[str], workload: str, scenario: "Scenario | None" = None, *, mapper: str = "auto",
            options: dict | None = None, overrides: list | None = None, fidelity: str = "task",
            whatif: bool | str = "auto", **scenario_fields) -> "Comparison":
    """One workload on several chips or systems -> Comparison (one row per chip; a chip on which the
    workload does not fit is a row with the reason). `options` apply to every chip's mapper; a key
    'CHIP:KEY' to that chip only (like -o dgx-h100:tp=8)."""
    from archsim.report.compare import Comparison, compare as compare_rows

    chips = list(chips)
    sc = _scenario(scenario, dict(scenario_fields))

    def one(chip: str):
        mine = {k.split(":", 1)[1] if ":" in k else k: v for k, v in (options or {}).items()
                if ":" not in k or k.split(":", 1)[0] == chip}
        return run(chip, workload, sc, mapper=mapper, options=mine, overrides=overrides, fidelity=fidelity,
                   whatif=whatif)

    return Comparison(workload, scenario_text(sc), compare_rows(chips, one))


def serve(chip: "str | System", workload: str, serving: str | None = None, *, scenario: "Scenario | None" = None,
          options: dict | None = None, overrides: list | None = None, fidelity: str = "task",
          **flags) -> "ServingResult":
    """Serve a request stream -> ServingResult. `serving`: a serving YAML file (docs/serving.md); `flags`:
    its keys as the command line names them (rate=4, requests=200, prompt_tokens=500, output_tokens=100,
    scheduler="chunked", replicas=2, slo_ttft="2s", slo_tpot="200ms", trace="azure-conv", ...), which win
    over the file. `scenario`: dtypes of the model (an archsim.Scenario; phase and batch are the
    scheduler's)."""
    from archsim.serving.serve import serve as serve_requests
    from archsim.serving.spec import load_serving

    spec = load_serving(serving, {k: v for k, v in flags.items() if v is not None})
    return serve_requests(chip, workload, spec, scenario=scenario, options=options, overrides=overrides,
                          fidelity=fidelity)


__all__ = ["compare", "run", "scenario_text", "serve", "sweep"]
