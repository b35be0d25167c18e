"""What a run did, counted for the energy model: work per resource and operator
from the engine's task graphs, and FLOPs per operator from the operator graph.

Work units are whatever the mapper gave each resource (bytes on memories and
links; cycles or operations on some compute units), so each family's resolver
(archsim/families/<kind>/energy.py, or a plugin's) says which resources it reads as bytes and
takes FLOPs from the operator graph, where they are exact.
"""
from __future__ import annotations

import weakref

import numpy as np

from archsim.workload.ops import MATRIX_KINDS  # tensor/matrix-unit work; the rest is vector work

OTHER_CLASS = "collective"  # task labels that are no operator of the graph (all-reduces, hand-offs)


def resource_work(runs) -> dict[tuple[str, str], float]:
    """(resource name, op label) -> work summed over tasks and segment repeats.

    A task whose route crosses several resources (a multi-hop transfer) puts its
    whole work on each of them: every link carries the bytes once.
    """
    out: dict[tuple[str, str], float] = {}
    for run in runs:
        for k, value in _graph_work(run.graph):
            out[k] = out.get(k, 0.0) + value * run.repeat
    return out


_WORK: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _graph_work(g) -> list[tuple[tuple[str, str], float]]:
    """((resource name, op label), work) of one task graph, in resource-major order; kept per graph object (a
    serving run's steps share most of their layer graphs, and a TaskGraph is immutable: the same graph gives the
    same list, so the sums above add the same floats in the same order)."""
    found = _WORK.get(g)
    if found is None:
        found = []
        if g.n_tasks and g.route_res.size:
            labels = len(g.op_labels)
            owner = np.repeat(np.arange(g.n_tasks), np.diff(g.route_ptr))
            key = g.route_res * labels + g.task_op[owner]
            sums = np.bincount(key, weights=g.task_work[owner], minlength=g.n_resources * labels)
            for idx in np.flatnonzero(sums):
                r, op = divmod(int(idx), labels)
                found.append(((str(g.resource_name[r]), str(g.op_labels[op])), float(sums[idx])))
        _WORK[g] = found
    return found


def by_resource(work: dict[tuple[str, str], float], names) -> dict[str, float]:
    """op label -> work on the resources called `names` (a tuple of resource names)."""
    out: dict[str, float] = {}
    for (resource, label), value in work.items():
        if resource in names:
            out[label] = out.get(label, 0.0) + value
    return out


def op_flops(graph) -> tuple[dict[str, float], dict[str, float]]:
    """(matrix FLOPs, vector FLOPs) per operator name, for the whole workload (all layers, all chips)."""
    matrix: dict[str, float] = {}
    vector: dict[str, float] = {}
    for op in graph.ops:
        if op.flops > 0:
            target = matrix if op.kind in MATRIX_KINDS else vector
            target[op.name] = target.get(op.name, 0.0) + float(op.flops)
    return matrix, vector


def op_class(label: str, kinds: dict[str, str]) -> str:
    """The operator class ('gemm', 'attn_score', ...) of a task label; 'L0.qkv' stands for every layer's qkv."""
    return kinds.get(label, OTHER_CLASS)
