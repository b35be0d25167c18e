"""The simplest task-level mapper, for any chip: the whole system as one
matrix unit, one vector unit and one memory.

Each operator becomes a compute task (matrix or vector unit, work = FLOPs) and
a memory task (work = bytes) that run side by side; the next operator starts
when both are done. With no contention this reproduces the roofline (up to
rounding each task to whole cycles), which is what it is for: proving the
engine path end to end and serving chip kinds without a dedicated mapper.
"""
from __future__ import annotations

from archsim.engine import TaskGraphBuilder
from archsim.hw.peaks import system_peaks
from archsim.mapping.base import Mapping, Segment, register_mapper
from archsim.workload.ops import MATRIX_KINDS
from archsim.workload.inline import reject_collective, require_uniform_layers


@register_mapper("aggregate", family="any", default_for=("any",),
                 description="whole system as one matrix unit, one vector unit and one memory (roofline on the engine)")
def map_aggregate(system, graph, scenario, options) -> Mapping:
    reject_collective(graph, "aggregate")
    require_uniform_layers(graph, "aggregate")
    peaks = system_peaks(system, scenario.weight_dtype)
    clock = float(system.clock_hz)
    b = TaskGraphBuilder(clock_hz=clock)
    matrix = b.add_resource(name="matrix", kind="compute", rate=peaks.matrix_flops / clock)
    vector = b.add_resource(name="vector", kind="compute", rate=peaks.vector_flops / clock)
    memory = b.add_resource(name=peaks.memory_name.lower(), kind="memory", rate=peaks.memory_bw / clock)
    previous: list[int] = []
    for op in graph.ops:
        unit = matrix if op.kind in MATRIX_KINDS else vector
        tasks = []
        if op.flops > 0:
            tasks.append(b.add_task(resource=unit, work=op.flops, deps=previous, op=op.name, layer=op.layer,
                                    category="compute"))
        if op.bytes > 0:
            tasks.append(b.add_task(resource=memory, work=op.bytes, deps=previous, op=op.name, layer=op.layer,
                                    category="memory"))
        previous = tasks or previous
    return Mapping("aggregate", dict(options), [Segment(b.build(), 1, "model")], chips_used=system.count,
                   notes=["aggregate mapper: the system is one matrix unit, one vector unit and one memory; "
                          "no communication is modelled"])
