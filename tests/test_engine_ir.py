"""The task-graph IR: builder, bulk adds, .npz round trip and one bad input per validation rule."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsim.engine import CATEGORIES, TaskGraph, TaskGraphBuilder, TaskGraphError, load_task_graph, simulate
from archsim.errors import ArchsimInputError


def small_builder():
    b = TaskGraphBuilder(clock_hz=1_830_000_000)
    hbm = b.add_resource(name="hbm", kind="memory", rate=1830.0, latency=500, capacity=1)
    sm = b.add_resource(name="sm", kind="compute", rate=512.0, capacity=4)
    links = [b.add_resource(name=f"link{i}", kind="interconnect", rate=64.0, latency=20) for i in range(3)]
    t0 = b.add_task(resource=hbm, work=4096.0, op="L3.qkv", layer=3, category="memory")
    t1 = b.add_task(resource=sm, work=1e6, deps=[t0], op="L3.qkv", layer=3)
    t2 = b.add_transfer(route=links, work=8192.0, deps=[t1], op="L3.allreduce", layer=3)
    b.add_task(resource=None, deps=[t2], latency=100, op="launch")
    return b


def graph_fields(g):
    return {f.name: getattr(g, f.name) for f in dataclasses.fields(g)}


def test_builder_makes_the_arrays():
    g = small_builder().build()
    assert (g.n_tasks, g.n_resources) == (4, 5)
    assert g.route_ptr.tolist() == [0, 1, 2, 5, 5]
    assert g.task_route(2).tolist() == [2, 3, 4]
    assert g.task_resource.tolist() == [0, 1, 2, -1]
    assert g.task_deps(1).tolist() == [0]
    assert g.op_labels[g.task_op].tolist() == ["L3.qkv", "L3.qkv", "L3.allreduce", "launch"]
    assert g.task_layer.tolist() == [3, 3, 3, -1]
    # Category defaults to the resource kind's, compute for delays.
    assert [CATEGORIES[c] for c in g.task_category] == ["memory", "compute", "communication", "compute"]
    assert g.resource_name.tolist()[:2] == ["hbm", "sm"]
    assert g.describe_task(2) == "task 2 (op 'L3.allreduce')"


def test_bulk_adds_equal_one_at_a_time_adds():
    one = TaskGraphBuilder(clock_hz=1e9)
    bulk = TaskGraphBuilder(clock_hz=1e9)
    for b in (one, bulk):
        b.add_resource("a", "compute", rate=2.0)
        b.add_resource("l0", "noc", rate=1.0, latency=1)
        b.add_resource("l1", "noc", rate=1.0, latency=1)
    one.add_task(0, 4.0, op="x", layer=0)
    one.add_task(None, deps=[0], latency=3, op="y", layer=0)
    one.add_task(0, 2.0, deps=[0, 1], op="x", layer=1, category="memory")
    one.add_transfer([1, 2], 5.0, deps=[2], op="z", layer=1)
    one.add_transfer([2], 1.0, op="z", layer=1)
    bulk.add_tasks([0, -1, 0], work=[4.0, 0.0, 2.0], dep_ptr=[0, 0, 1, 3], dep_idx=[0, 0, 1],
                   op=np.array(["x", "y", "x"]), layer=[0, 0, 1], latency=[0, 3, 0],
                   category=np.array([0, 0, 1]))
    bulk.add_transfers([0, 2, 3], [1, 2, 2], work=[5.0, 1.0], dep_ptr=[0, 1, 1], dep_idx=[2],
                       op=bulk.op_id("z"), layer=1)
    a, b = one.build(), bulk.build()
    for name, value in graph_fields(a).items():
        assert np.array_equal(value, getattr(b, name)), name


def test_bulk_add_of_a_million_tasks(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(0)
    b = TaskGraphBuilder(clock_hz=1e9)
    for i in range(10):
        b.add_resource(f"r{i}", "compute", rate=1.0)
    deps = np.maximum(np.arange(n) - 1 - rng.integers(0, 100, n), 0)[1:]
    idx = b.add_tasks(rng.integers(0, 10, n), work=rng.integers(1, 9, n).astype(float),
                      dep_ptr=np.concatenate([[0, 0], np.arange(1, n)]), dep_idx=deps, op="bulk")
    assert idx == range(0, n)
    g = b.build()
    assert g.n_tasks == n and g.dep_idx.shape == (n - 1,)


def test_save_and_load_round_trip(tmp_path):
    g = small_builder().build()
    path = tmp_path / "graph.npz"
    g.save(path)
    h = load_task_graph(path)
    assert h.clock_hz == g.clock_hz
    for name, value in graph_fields(g).items():
        assert np.array_equal(value, getattr(h, name)), name
    assert np.array_equal(simulate(g).end_cycle, simulate(h).end_cycle)


def test_load_missing_file_and_wrong_contents(tmp_path):
    with pytest.raises(ArchsimInputError, match="does not exist"):
        load_task_graph(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ArchsimInputError, match="not a readable .npz"):
        load_task_graph(tmp_path / "junk.npz")
    np.savez(tmp_path / "partial.npz", clock_hz=1.0)
    with pytest.raises(TaskGraphError, match="missing arrays"):
        load_task_graph(tmp_path / "partial.npz")
    fields = graph_fields(small_builder().build())
    fields["op_labels"] = np.array([object(), 1], dtype=object)
    np.savez(tmp_path / "pickled.npz", format_version=1, **fields)
    with pytest.raises(TaskGraphError, match="cannot read its arrays"):
        load_task_graph(tmp_path / "pickled.npz")


def test_load_checks_the_graph(tmp_path):
    fields = graph_fields(small_builder().build())
    fields["resource_rate"] = fields["resource_rate"].copy()
    fields["resource_rate"][1] = 0.0
    np.savez(tmp_path / "bad.npz", format_version=1, **fields)
    with pytest.raises(TaskGraphError, match=r"resource 1 \('sm'\): rate must be a positive"):
        load_task_graph(tmp_path / "bad.npz")


def replaced(**changes):
    fields = graph_fields(small_builder().build())
    fields.update(changes)
    return fields


@pytest.mark.parametrize("changes, message", [
    (dict(clock_hz=0.0), "clock_hz must be a positive number"),
    (dict(resource_rate=[1.0, -2.0, 1.0, 1.0, 1.0]), r"resource 1 \('sm'\): rate must be a positive"),
    (dict(resource_rate=[1.0, np.inf, 1.0, 1.0, 1.0]), r"resource 1 \('sm'\): rate must be a positive"),
    (dict(resource_latency=[0, -1, 0, 0, 0]), r"resource 1 \('sm'\): latency must be"),
    (dict(resource_capacity=[1, 0, 1, 1, 1]), r"resource 1 \('sm'\): capacity must be an integer >= 1"),
    (dict(resource_kind=[0, 9, 0, 0, 0]), r"resource 1 \('sm'\): kind code must index"),
    (dict(resource_name=["a"]), "resource_name has 1 entries; expected one per resource"),
    (dict(task_work=[1.0, -1.0, 1.0, 0.0]), "task 1: work must be a finite number >= 0"),
    (dict(task_work=[1.0, 1.0, 1.0, 5.0]), "task 3 .*a delay task .* must have work 0"),
    (dict(task_latency=[0, 0, -5, 0]), "task 2: latency must be"),
    (dict(task_category=[0, 0, 7, 0]), "task 2: category code must index"),
    (dict(task_op=[0, 0, 9, 0]), "task 2: op label index 9 is out of range"),
    (dict(route_res=[0, 1, 2, 3, 9]), r"task 2: route resource index 9 is out of range; expected 0 <= index < 5"),
    (dict(route_res=[0, 1, 2, 3, 2]), r"task 2 .*route \[2, 3, 2\] names a resource twice"),
    (dict(route_ptr=[0, 1, 3, 2, 5]), "route_ptr must start at 0, never decrease"),
    (dict(route_ptr=[0, 1, 2, 5]), "route_ptr has 4 entries; expected n_tasks \\+ 1"),
    (dict(dep_idx=[0, 1, 7]), r"task 3: dependency index 7 is out of range; expected 0 <= index < 4"),
    (dict(dep_idx=[0, 2, 2]), "task 2 .* depends on itself"),
    (dict(dep_ptr=[0, 1, 2, 3, 4], dep_idx=[2, 0, 1, 2]), r"dependencies form a cycle: 1 -> 2 -> 0 -> 1 \(first: task 1"),
    (dict(task_latency=[0.5, 0, 0, 0]), "task_latency must hold integers"),
    (dict(task_work=np.zeros((2, 2))), "task_work must be a 1-D array"),
])
def test_each_validation_rule(changes, message):
    with pytest.raises(TaskGraphError, match=message) as info:
        TaskGraph(**replaced(**changes))
    assert isinstance(info.value, ArchsimInputError)


@pytest.mark.parametrize("call, message", [
    (lambda b: b.add_resource("x", "dram", rate=1.0), r"resource 'x': kind must be a str among"),
    (lambda b: b.add_resource("x", "memory", rate=0), r"resource 'x': rate must be a positive finite"),
    (lambda b: b.add_resource("x", "memory", rate=1.0, capacity=0), r"resource 'x': capacity must be an integer >= 1"),
    (lambda b: b.add_resource("x", "memory", rate=1.0, latency=2.5), r"resource 'x': latency must be an integer >= 0"),
    (lambda b: b.add_task(7, 1.0), r"task 4 \(op ''\): resource 7 is not a resource index"),
    (lambda b: b.add_task(0, -1.0, op="a"), r"task 4 \(op 'a'\): work must be a finite number >= 0"),
    (lambda b: b.add_task(0, 1.0, deps=[4]), r"dependency 4 is not an earlier task"),
    (lambda b: b.add_task(0, 1.0, category="io"), r"category must be a str among"),
    (lambda b: b.add_task(None, work=3.0), r"a delay \(resource=None\) has no work"),
    (lambda b: b.add_delay(-1), r"latency must be an integer >= 0"),
    (lambda b: b.add_transfer([], 1.0), r"a transfer route needs at least one link"),
    (lambda b: b.add_tasks([0, 5], work=1.0), r"resource index 5 is out of range"),
    (lambda b: b.add_tasks([0, 1], work=[1.0, 2.0, 3.0]), r"work must be a scalar or have one entry per task"),
    (lambda b: b.add_tasks([0, 1], dep_ptr=[0, 1, 1], dep_idx=[9]), r"dep_idx holds task indices outside"),
    (lambda b: b.add_tasks([0, 1], dep_ptr=[0, 1], dep_idx=[0]), r"dep_ptr must have n \+ 1"),
    (lambda b: b.add_tasks([0], dep_ptr=[0, 1]), r"give both dep_ptr and dep_idx"),
    (lambda b: b.add_tasks([0], op=np.array([3])), r"op ids must come from op_id"),
    (lambda b: b.add_tasks([0], latency=1.5), r"latency must be integers"),
    (lambda b: b.add_transfers([0, 0], [], work=1.0), r"route_ptr must start at 0, grow by at least 1"),
])
def test_builder_rejects_bad_calls_with_clear_text(call, message):
    with pytest.raises(TaskGraphError, match=message):
        call(small_builder())


def test_builder_rejects_bad_clock():
    with pytest.raises(TaskGraphError, match="clock_hz must be a positive number"):
        TaskGraphBuilder(clock_hz=-1)


def test_duration_overflow_is_an_input_error():
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("slow", "memory", rate=1e-300)
    b.add_task(r, 1e300)
    with pytest.raises(TaskGraphError, match="does not fit in 2\\*\\*62 cycles"):
        simulate(b.build())
