"""engine: the task-graph IR and the simulators that consume it.

Build a graph with `TaskGraphBuilder`, run it with `simulate`; semantics in
docs/engine.md. The engine knows nothing of chips or transformers: it sees
arrays of tasks on resources.
"""
from archsim.engine.builder import TaskGraphBuilder
from archsim.engine.ir import CATEGORIES, RESOURCE_KINDS, TaskGraph, TaskGraphError, load_task_graph
from archsim.engine.kernels import REASON_DEPENDENCY, REASON_RESOURCE, REASON_START
from archsim.engine.simulate import SimResult, simulate, task_durations

__all__ = [
    "CATEGORIES",
    "REASON_DEPENDENCY",
    "REASON_RESOURCE",
    "REASON_START",
    "RESOURCE_KINDS",
    "SimResult",
    "TaskGraph",
    "TaskGraphBuilder",
    "TaskGraphError",
    "load_task_graph",
    "simulate",
    "task_durations",
]
