"""The wafer router (config.wafer_router): one hop per `hop_latency` cycles,
one flit per cycle per link, credits kept, deterministic (docs/noc.md,
"Wafer router"). The BookSim2 presets are checked bit for bit elsewhere
(test_noc_booksim.py); these tests only add the 0-cycle crossbar and link."""
import numpy as np
import pytest

from archsim.engine.noc import MessageTrace, MessageTraceBuilder, NocConfig, preset, simulate_messages
from archsim.engine.noc.collectives import collective_trace
from archsim.engine.noc.config import WAFER_VC_BUFFER_FLITS, wafer_router
from archsim.errors import ArchsimInputError

TERMINALS = 4  # injection and ejection channels, 2 cycles each


@pytest.mark.parametrize("hop_latency", [1, 2, 3])
def test_zero_load_latency_is_hops_times_hop_latency_plus_the_terminal_constant(hop_latency):
    cfg = wafer_router(12, 7, hop_latency=hop_latency, colors=24)
    rng = np.random.default_rng(hop_latency)
    for s, d in [(0, 0), (0, 1), (0, 11), (0, 83), *rng.integers(0, 84, (20, 2)).tolist()]:
        hops = abs(s % 12 - d % 12) + abs(s // 12 - d // 12)
        r = simulate_messages(cfg, MessageTrace.from_arrays([s], [d], 1, [5]))
        assert r.arrival_cycle[0] - 5 == hops * hop_latency + TERMINALS == cfg.zero_load_latency(hops)


def test_a_stream_moves_one_flit_per_cycle_per_link():
    cfg = wafer_router(32, 1, colors=8)
    # one 500-flit message over 31 hops: head latency, then one flit per cycle
    r = simulate_messages(cfg, MessageTrace.from_arrays([0], [31], 500))
    assert r.arrival_cycle[0] == 31 + TERMINALS + 499
    # the same as 500 one-flit messages, arriving one per cycle
    r = simulate_messages(cfg, MessageTrace.from_arrays(np.zeros(500), np.full(500, 31), 1))
    assert (np.diff(np.sort(r.arrival_cycle)) == 1).all() and r.makespan_cycles == 31 + TERMINALS + 499
    # every core streams 200 flits to its east neighbour at once: every link busy every cycle
    src = np.arange(31)
    r = simulate_messages(cfg, MessageTrace.from_arrays(src, src + 1, 200))
    assert (r.arrival_cycle == 1 + TERMINALS + 199).all()


def test_full_throughput_with_one_colour_and_the_smallest_buffer_that_covers_the_credit_loop():
    # credit loops: 4 cycles on the injection channel, 2 x hop_latency on a link
    for hop_latency in (1, 2, 3):
        buf = max(4, 2 * hop_latency)
        cfg = wafer_router(10, 1, hop_latency=hop_latency, colors=1)
        assert cfg.vc_buf_size == buf
        r = simulate_messages(cfg, MessageTrace.from_arrays([0], [9], 300))
        assert r.arrival_cycle[0] == 9 * hop_latency + TERMINALS + 299
        # one flit less and the stream slows down
        slow = wafer_router(10, 1, hop_latency=hop_latency, colors=1, vc_buf_size=buf - 1)
        assert simulate_messages(slow, MessageTrace.from_arrays([0], [9], 300)).arrival_cycle[0] > \
            9 * hop_latency + TERMINALS + 299 + 50


def test_two_streams_into_one_link_share_it():
    cfg = wafer_router(9, 1, colors=4)
    r = simulate_messages(cfg, MessageTrace.from_arrays([0, 1], [8, 8], 100))
    assert r.makespan_cycles >= 200  # 200 flits through the last link and the ejection port
    assert r.makespan_cycles <= 200 + 8 + TERMINALS + 2


def test_delay_after_dependencies():
    cfg = wafer_router(6, 1)
    b = MessageTraceBuilder()
    a = b.add(0, 3, size_flits=3, earliest=2)
    c = b.add(3, 5, size_flits=1, after=[a], delay=36)
    b.add(5, 0, size_flits=1, earliest=500, after=[c], delay=1)
    r = simulate_messages(cfg, b.build())
    assert r.arrival_cycle[0] == 2 + 3 + TERMINALS + 2
    assert r.ready_cycle[1] == r.arrival_cycle[0] + 36
    assert r.ready_cycle[2] == 500  # earliest is later than arrival + delay
    with pytest.raises(ArchsimInputError, match="'delay'"):
        simulate_messages(cfg, MessageTrace.from_arrays([0], [1], 1, 0, None, -1))


def test_wafer_router_config():
    cfg = wafer_router(4, 4, hop_latency=1, colors=24)
    assert (cfg.num_vcs, cfg.vc_buf_size, cfg.speculative, cfg.crossbar_delay, cfg.link_delay) == \
        (24, WAFER_VC_BUFFER_FLITS, True, 0, 0)
    assert wafer_router(colors=99).num_vcs == 32 and wafer_router(hop_latency=3).vc_buf_size == 6
    assert preset("wafer") == wafer_router()
    with pytest.raises(ArchsimInputError, match="hop latency"):
        wafer_router(hop_latency=0)
    # a 0-cycle crossbar is also accepted without speculation: the flit leaves in its grant cycle
    cfg = NocConfig(mesh_x=5, mesh_y=1, crossbar_delay=0, link_delay=0)
    r = simulate_messages(cfg, MessageTrace.from_arrays([0], [4], 1))
    assert r.arrival_cycle[0] == cfg.zero_load_latency(4) == 2 + 5 * 1 + 4 + 2


def test_deterministic_and_a_region_behaves_as_its_rows():
    cfg = wafer_router(16, 4, colors=8)
    tr = collective_trace("row_reduce", 16, 4, 5)
    a, b = simulate_messages(cfg, tr), simulate_messages(cfg, tr)
    assert (a.arrival_cycle == b.arrival_cycle).all() and a.cycles == b.cycles
    row = simulate_messages(wafer_router(16, 1, colors=8), collective_trace("row_reduce", 16, 1, 5))
    assert (a.arrival_cycle.reshape(4, -1) == row.arrival_cycle[None, :]).all()
