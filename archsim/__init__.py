"""archsim: a cycle-level performance model of AI accelerators for LLM inference.

The public Python API (the CLI is a thin shell over it):

    import archsim
    system = archsim.load_system("dgx-h100", overrides=[("chip.hbm.bandwidth", "6 TB/s")])
    result = archsim.run(system, "llama3.1-70b", archsim.Scenario(phase="decode", batch=8),
                         options={"tp": 8})
    print(archsim.render(result)); result.to_dict()

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
    # the pipeline and its result
    "run": "archsim.pipeline",
    "build_graph": "archsim.pipeline",
    "RunResult": "archsim.report.result",
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
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
