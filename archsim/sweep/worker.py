"""What a worker process does for one point: load (or reuse) the chip, run the pipeline, and
return one row of plain data. The same function serves local processes and Dask workers.

A point that cannot run (infeasible, a bad value the file checks could not
catch) comes back as an error row, never as an exception: one failing point
never stops a sweep. Anything else is a bug and comes back as an `internal`
error row with the exception, which `archsim sweep` reports and reruns on resume.
"""
from __future__ import annotations

import os
import socket
import traceback
from collections import OrderedDict
from dataclasses import fields, replace
from time import perf_counter, process_time

# Chips loaded in this process, by (name, overrides). Loading and validating a
# chip file costs more than a roofline point, and a sweep revisits the same
# few chips, so each worker loads each one once.
_SYSTEMS: OrderedDict = OrderedDict()
MAX_CACHED_SYSTEMS = 64

# Lists of per-operator / per-layer rows are left out of a sweep's metrics
# (`archsim run` on the point gives them): they would make each row ~100x larger.
BULKY = ("ops", "per_layer", "resource_groups")

_WORKER_ID = None

# Serving points: pipeline step costs kept across the points this process runs (IterationCost's memo), so
# points on one chip, model and mapping price each iteration shape once. Bounded in archsim/serving/cost.py.
_STEPS: dict = {}


def worker_id() -> str:
    global _WORKER_ID
    if _WORKER_ID is None or not _WORKER_ID.endswith(f":{os.getpid()}"):
        _WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
    return _WORKER_ID


def _system(chip: str, overrides: tuple):
    from archsim.hw.load import load_system

    key = (chip, overrides)
    system = _SYSTEMS.get(key)
    if system is None:
        system = load_system(chip, [tuple(o) for o in overrides])
        _SYSTEMS[key] = system
        if len(_SYSTEMS) > MAX_CACHED_SYSTEMS:
            _SYSTEMS.popitem(last=False)
    else:
        _SYSTEMS.move_to_end(key)
    return system


def metrics_of(result) -> dict:
    """The JSON result (RunResult.to_dict()) without its per-operator lists, plus the time split totals."""
    names = {f.name for f in fields(result)}
    slim = replace(result, **{k: [] for k in BULKY if k in names})
    d = slim.to_dict()
    for k in BULKY:
        d.pop(k, None)
    for key, value in result.totals().items():
        d.setdefault(key, value)
    return d


def run_point(key: str, config: dict, plugins: tuple[str, ...] = ()) -> dict:
    """Run one point; return its row (status ok with metrics, or error with the reason).

    `plugins`: the plugins the sweep's own process loaded (archsim.family.plugin_specs), loaded here
    first (once per process) by workers that did not inherit them: a Dask cluster's, started apart.
    Local workers are forked and already have them."""
    from archsim.errors import ArchsimInputError, InfeasibleError
    from archsim.family import load_plugin
    from archsim.pipeline import run
    from archsim.workload.model import Scenario

    start, cpu_start = perf_counter(), process_time()
    row: dict = {"key": key, "status": "error", "error_kind": None, "error": None, "metrics": None}
    try:
        for spec in plugins:
            load_plugin(spec)
        system = _system(config["chip"], tuple(tuple(o) for o in config["overrides"]))
        if config.get("serving") is not None:
            from archsim.sweep.serving import run_serving_point

            row.update(status="ok", metrics=run_serving_point(system, config, _STEPS))
        else:
            result = run(system, config["workload"], Scenario(**config["scenario"]), mapper=config["mapper"],
                         options=config["options"], fidelity=config["fidelity"])
            row.update(status="ok", metrics=metrics_of(result))
    except InfeasibleError as exc:
        row.update(error_kind="infeasible", error=exc.reason, metrics={"details": exc.details} if exc.details
                   else None)
    except ArchsimInputError as exc:
        row.update(error_kind="input", error=str(exc))
    except Exception as exc:  # a bug: keep the sweep going, report it, rerun the point on resume
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        row.update(error_kind="internal", error=f"{type(exc).__name__}: {exc}{where}")
    row["run_s"] = perf_counter() - start
    row["cpu_s"] = process_time() - cpu_start  # for benchmarks: run_s minus waiting for a busy CPU
    row["worker"] = worker_id()
    return row


def run_points(items: list) -> list[dict]:
    """A batch of (key, config) pairs, for executors that send several points per message."""
    return [run_point(key, config) for key, config in items]
