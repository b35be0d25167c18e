"""archsim: a cycle-level performance model of AI accelerators for LLM inference.

The public Python API (the CLI is a thin shell over it; docs/api.md):

    import archsim
    system = archsim.load_system("dgx-h100", overrides=[("chip.hbm.bandwidth", "6 TB/s")])
    result = archsim.run(system, "llama3.1-70b", archsim.Scenario(phase="decode", batch=8),
                         options={"tp": 8})
    print(archsim.render(result)); result.to_dict(); result.to_pandas()
    archsim.compare(["dgx-h100", "cs3x4"], "llama3.1-70b", weight_dtype="int8")   # -> Comparison
    archsim.serve("h100-sxm", "llama3.1-8b", rate=4, requests=200)                # -> ServingResult
    archsim.sweep("examples/h100_bandwidth_sweep.yaml")                           # -> SweepResult
    archsim.write_html(result, "run.html")                                        # a self-contained page

Names are imported lazily so that `import archsim` (and the CLI's start-up)
does not pay for numba or matplotlib until they are used.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # chip families and plugins (docs/plugins.md)
    "Family": "archsim.family",
    "families": "archsim.family",
    "load_plugin": "archsim.family",
    # hardware description
    "System": "archsim.hw.load",
    "load_system": "archsim.hw.load",
    "system_peaks": "archsim.hw.peaks",
    # workload
    "Scenario": "archsim.workload.model",
    "Transformer": "archsim.workload.model",
    "load_transformer": "archsim.workload.model",
    "lower": "archsim.workload.lower",
    "parameter_count": "archsim.workload.lower",
    "Op": "archsim.workload.ops",
    "OpGraph": "archsim.workload.ops",
    # mapping
    "MAPPERS": "archsim.mapping.base",
    "Mapping": "archsim.mapping.base",
    "Option": "archsim.mapping.base",
    "Segment": "archsim.mapping.base",
    "register_mapper": "archsim.mapping.base",
    "resolve_mapper": "archsim.mapping.base",
    "roofline": "archsim.mapping.roofline",
    # mapping files and search (docs/mapping.md)
    "load_mapping": "archsim.mapping.file",
    "save_mapping": "archsim.mapping.file",
    "effective_mapping": "archsim.mapping.file",
    "search_mappings": "archsim.search.api",  # (not `search`: that name is the subpackage)
    "load_space": "archsim.search.space",
    # engine
    "TaskGraph": "archsim.engine",
    "TaskGraphBuilder": "archsim.engine",
    "load_task_graph": "archsim.engine",
    "simulate": "archsim.engine",
    "SimResult": "archsim.engine",
    # studies and their results (archsim/api.py: each returns an object with .to_pandas() and _repr_html_)
    "run": "archsim.api",
    "compare": "archsim.api",
    "serve": "archsim.api",
    "sweep": "archsim.sweep",  # the package, callable (archsim/sweep/__init__.py)
    "build_graph": "archsim.pipeline",
    "RunResult": "archsim.report.result",
    "Comparison": "archsim.report.compare",
    "ServeComparison": "archsim.report.compare",
    "ServingResult": "archsim.serving.result",
    "SweepResult": "archsim.sweep.result",
    "ValidationReport": "archsim.validation.report",
    "write_html": "archsim.report.html",
    "render": "archsim.report.text",
    "explain": "archsim.report.explain",
    "write_trace": "archsim.report.trace",
    # sweeps and validation
    "load_sweep": "archsim.sweep",
    "run_sweep": "archsim.sweep",
    "run_cases": "archsim.validation",
    # errors
    "ArchsimInputError": "archsim.errors",
    "InfeasibleError": "archsim.errors",
    "SpecError": "archsim.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archsim' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"archsim.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
