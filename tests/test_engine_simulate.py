"""The engine on small graphs whose cycles are worked out by hand (docs/engine.md)."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.engine import (REASON_DEPENDENCY, REASON_RESOURCE, REASON_START, TaskGraphBuilder, simulate,
                            task_durations)
from engine_reference import reference_simulate


def check_against_reference(g, res):
    ref = reference_simulate(g)
    for key in ("ready", "start", "end"):
        assert getattr(res, f"{key}_cycle").tolist() == ref[key]
    assert res.busy_cycles.tolist() == ref["busy"]
    assert res.makespan_cycles == ref["makespan"]


def test_single_task_lasts_latency_plus_rounded_up_work():
    b = TaskGraphBuilder(clock_hz=2e9)
    r = b.add_resource("hbm", "memory", rate=3.0, latency=5)
    b.add_task(r, work=10.0, op="load")
    g = b.build()
    res = simulate(g)
    assert (res.start_cycle[0], res.end_cycle[0]) == (0, 5 + 4)  # ceil(10 / 3) = 4
    assert res.busy_cycles.tolist() == [9]
    assert res.makespan_cycles == 9 and res.makespan_s == pytest.approx(9 / 2e9)
    assert res.duration_cycles.tolist() == [9]
    assert res.utilization.tolist() == [1.0]
    assert res.critical_path.tolist() == [0] and res.critical_reason.tolist() == [REASON_START]


def test_capacity_serves_that_many_tasks_at_full_rate():
    b = TaskGraphBuilder(clock_hz=1e9)
    sm = b.add_resource("sms", "compute", rate=2.0, capacity=2)
    for _ in range(3):
        b.add_task(sm, work=8.0)
    res = simulate(b.build())
    assert res.start_cycle.tolist() == [0, 0, 4]
    assert res.end_cycle.tolist() == [4, 4, 8]
    assert res.busy_cycles.tolist() == [12]
    assert res.utilization[0] == pytest.approx(12 / (2 * 8))
    assert res.wait_cycles.tolist() == [0, 0, 4]
    assert res.blocked_by[2] in (0, 1)
    assert res.critical_reason.tolist() == [REASON_START, REASON_RESOURCE]


def test_fifo_order_is_ready_cycle_then_task_index():
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    d5 = b.add_delay(5)                          # 0
    late_low = b.add_task(r, 10.0, deps=[d5])    # 1: ready at 5
    d2 = b.add_delay(2)                          # 2
    early = b.add_task(r, 10.0, deps=[d2])       # 3: ready at 2, starts at once
    late_high = b.add_task(r, 10.0, deps=[d5])   # 4: ready at 5, after task 1
    g = b.build()
    res = simulate(g)
    assert res.start_cycle[[early, late_low, late_high]].tolist() == [2, 12, 22]
    assert res.busy_cycles.tolist() == [30]
    check_against_reference(g, res)


def test_cut_through_transfer_holds_each_link_until_its_tail_leaves():
    b = TaskGraphBuilder(clock_hz=1e9)
    l0 = b.add_resource("l0", "noc", rate=2.0, latency=1)
    l1 = b.add_resource("l1", "noc", rate=1.0, latency=3)
    x = b.add_transfer([l0, l1], work=10.0, latency=2)  # serialization at the slowest link: 10
    y = b.add_transfer([l0], work=2.0)                  # waits for l0: 1 + ceil(2 / 2) = 2 cycles
    z = b.add_task(l1, work=1.0)                        # waits for l1: 3 + 1 = 4 cycles
    g = b.build()
    duration, hold = task_durations(g)
    assert duration.tolist() == [2 + 1 + 3 + 10, 2, 4]
    assert hold.tolist() == [2 + 1 + 10, 2 + 1 + 3 + 10, 2, 4]
    res = simulate(g)
    assert res.start_cycle[[x, y, z]].tolist() == [0, 13, 16]
    assert res.end_cycle[[x, y, z]].tolist() == [16, 15, 20]
    assert res.busy_cycles.tolist() == [13 + 2, 16 + 4]
    check_against_reference(g, res)


def test_a_route_waits_at_the_head_of_every_fifo_blocking_those_behind():
    b = TaskGraphBuilder(clock_hz=1e9)
    r1 = b.add_resource("r1", "noc", rate=1.0)
    r2 = b.add_resource("r2", "noc", rate=1.0, capacity=2)
    t0 = b.add_task(r1, 100.0)              # 0..100
    x = b.add_transfer([r2, r1], 10.0)      # needs r1: 100..110
    y = b.add_task(r2, 50.0)                # r2 has a free server, but x is ahead in its FIFO
    g = b.build()
    res = simulate(g)
    assert res.start_cycle.tolist() == [0, 100, 100]
    assert res.end_cycle.tolist() == [100, 110, 150]
    assert res.blocked_by[[x, y]].tolist() == [t0, t0]
    assert res.critical_path.tolist() == [t0, y]
    assert res.critical_reason.tolist() == [REASON_START, REASON_RESOURCE]
    check_against_reference(g, res)


def test_delays_hold_no_resource():
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    launch = b.add_delay(7, op="launch")
    k1 = b.add_task(r, 3.0, deps=[launch])
    also = b.add_task(None, deps=[launch], latency=0)
    res = simulate(b.build())
    assert res.start_cycle.tolist() == [0, 7, 7]
    assert res.end_cycle.tolist() == [7, 10, 7]
    assert res.busy_cycles.tolist() == [3]
    assert res.critical_path.tolist() == [launch, k1]
    assert res.critical_reason.tolist() == [REASON_START, REASON_DEPENDENCY]
    assert also == 2


def test_zero_cycle_cascades_resolve_in_rounds_at_the_same_cycle():
    # At cycle 5 task 2 is ready in the first round and takes r; task 1 only
    # becomes ready when the zero-cycle delay 3 finishes, a round later.
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    d0 = b.add_delay(5)
    idx = b.add_tasks([r, r, -1], work=[4.0, 4.0, 0.0], dep_ptr=[0, 1, 2, 3], dep_idx=[3, d0, d0])
    assert list(idx) == [1, 2, 3]
    g = b.build()
    res = simulate(g)
    assert res.ready_cycle.tolist() == [0, 5, 5, 5]
    assert res.start_cycle.tolist() == [0, 9, 5, 5]
    check_against_reference(g, res)


def test_dependency_chain_and_critical_path():
    b = TaskGraphBuilder(clock_hz=1e9)
    mem = b.add_resource("hbm", "memory", rate=4.0, latency=2)
    pe = b.add_resource("pe", "compute", rate=1.0)
    a = b.add_task(mem, 8.0)                # 0..4
    c = b.add_task(pe, 3.0, deps=[a])       # 4..7
    d = b.add_task(pe, 1.0, deps=[a])       # 7..8, waits for c on pe
    e = b.add_task(mem, 4.0, deps=[c, d])   # 8..11
    res = simulate(b.build())
    assert res.end_cycle.tolist() == [4, 7, 8, 11]
    assert res.critical_path.tolist() == [a, c, d, e]
    assert res.critical_reason.tolist() == [REASON_START, REASON_DEPENDENCY, REASON_RESOURCE, REASON_DEPENDENCY]


def test_empty_graph():
    res = simulate(TaskGraphBuilder(clock_hz=1e9).build())
    assert res.makespan_cycles == 0
    assert res.critical_path.size == 0 and res.start_cycle.size == 0


def test_simulate_rejects_other_types():
    with pytest.raises(TypeError, match="expects a TaskGraph"):
        simulate({"tasks": []})


def test_results_are_int64():
    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("r", "compute", rate=1.0)
    b.add_task(r, 1.0)
    res = simulate(b.build())
    for name in ("ready_cycle", "start_cycle", "end_cycle", "busy_cycles", "critical_path", "critical_reason",
                 "blocked_by"):
        assert getattr(res, name).dtype == np.int64, name
    assert isinstance(res.makespan_cycles, int)
