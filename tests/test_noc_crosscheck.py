"""Cross-check with the task-level engine's cut-through transfers (docs/noc.md).

The same collective is run as messages on the cycle-level network and as
transfers on per-link resources of the engine, calibrated so an isolated
message takes the same time in both. Lightly loaded (no two messages on one
link or port at once, short messages) they agree within 10%; under load the
engine's end-to-end link reservation serialises whole transfers on a shared
link, while the network interleaves flits.
"""
import pytest

from archsim.engine import simulate
from archsim.engine.noc import MessageTrace, preset, simulate_messages
from archsim.engine.noc.collectives import collective_trace, to_task_graph


def _both(cfg, trace):
    return simulate_messages(cfg, trace).makespan_cycles, simulate(to_task_graph(cfg, trace)).makespan_cycles


@pytest.mark.parametrize("router", ["mesh_min", "mesh_min_spec", "mesh_typical"])
@pytest.mark.parametrize("pattern", ["row_reduce", "col_reduce", "row_broadcast", "col_broadcast", "shift"])
@pytest.mark.parametrize("flits", [1, 4])
def test_lightly_loaded_collectives_agree_within_10_percent(router, pattern, flits):
    cfg = preset(router).with_mesh(8, 8)
    cycle, task = _both(cfg, collective_trace(pattern, 8, 8, flits))
    assert task == pytest.approx(cycle, rel=0.10)


def test_isolated_messages_take_the_same_time():
    cfg = preset("mesh_typical").with_mesh(6, 5)
    for s, d, size in [(0, 29, 1), (7, 3, 9), (12, 13, 2)]:
        cycle, task = _both(cfg, MessageTrace.from_arrays([s], [d], size))
        assert cycle == task


def test_under_load_the_engine_serialises_whole_transfers_on_shared_links():
    cfg = preset("mesh_min").with_mesh(8, 8)
    # 2-hop shifts: every link carries two messages at once
    cycle, task = _both(cfg, collective_trace("shift2", 8, 8, 4))
    assert task > 2 * cycle
    # gather of short partials to the middle of each row
    cycle, task = _both(cfg, collective_trace("row_gather", 8, 8, 1))
    assert task > 2 * cycle


def test_under_load_the_engine_ignores_the_one_flit_per_cycle_terminal_ports():
    # long partials gathered into one core: the network ejects one flit per
    # cycle, the engine lets the two input links deliver at once
    cfg = preset("mesh_min").with_mesh(16, 2)
    cycle, task = _both(cfg, collective_trace("row_gather", 16, 2, 64))
    assert task < 0.8 * cycle
