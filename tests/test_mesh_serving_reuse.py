"""Chunk layers shared across serving steps on the wafer (archsim/families/mesh/mapper/reuse.py): the same
seconds and joules as mapping each step on its own, and the shapes built once."""
import numpy as np
import pytest

from archsim.families.mesh import serving as mesh_serving
from archsim.families.mesh.mapper.pipeline import fill_and_drain
from archsim.families.mesh.mapper.reuse import shared_chunks
from archsim.hw.load import load_system
from archsim.spec import parse_override
from archsim.pipeline import step_cost
from archsim.serving.cost import IterationCost
from archsim.workload.lower import lower
from archsim.workload.model import Scenario, load_transformer

# a 64x48-core wafer and the tiny model (as tests/test_mesh_chunking.py): runs take milliseconds
SMALL_WAFER = [parse_override("grid.width=64"), parse_override("grid.height=48")]
OPTIONS = {"region": "32x16", "prefill_chunk": "64"}  # two layer regions: chunks pipelined


def _store():
    model = load_transformer("tiny")
    return shared_chunks(lambda b: lower(model, Scenario(phase="prefill", batch=b, prompt_len=1, prefix_len=0)))


def test_shared_chunks_equal_the_per_step_mapping_and_are_built_once():
    system = load_system("wse3", SMALL_WAFER)
    store = _store()
    for p, batch in ((128, 1), (256, 1), (320, 1), (256, 2)):
        scenario = Scenario(phase="prefill", batch=batch, prompt_len=p)
        want = step_cost(system, "tiny", scenario, options=OPTIONS)
        with store:
            got = step_cost(system, "tiny", scenario, options=OPTIONS)
        assert got[0] == pytest.approx(want[0], rel=1e-12) and got[1] == pytest.approx(want[1], rel=1e-12)
    # chunks of 64 tokens: 128 builds 2 shapes, 256 reuses them and builds 2, 320 reuses 4 and builds 1; two
    # prompts are other shapes (4 built); a step's lowering choice builds its last full chunk in the other
    # layout (MeshGEMM blocks) only where MeshGEMV passes do not beat that layout's floor (here once of 4)
    assert 2 + 2 + 1 + 4 <= store.misses <= 2 + 2 + 1 + 4 + 4
    assert store.hits >= 2 + 4


def test_the_blocks_floor_is_never_above_a_blocks_layer():
    """The core's busy cycles on the non-attention operators bound the whole layer in blocks from below."""
    from archsim.families.mesh.mapper.costs import MeshCosts
    from archsim.families.mesh.mapper.lowering import Lowering
    from archsim.families.mesh.mapper.reuse import blocks_floor, chunk_layer

    system = load_system("wse3", SMALL_WAFER)
    costs = MeshCosts.from_system(system, 2.0)
    plan = type("Plan", (), {"region_w": 32, "region_h": 16})()
    store = _store()
    for batch, size in ((1, 16), (1, 64), (2, 48)):
        floor = blocks_floor(store, plan, costs, "meshgemv", 2, batch, size)
        assert floor > 0
        for prefix in (0, size, 5 * size, 4000):
            assert chunk_layer(store, plan, costs, "meshgemv", 2, Lowering(False), batch, size, prefix).cycles >= floor


def test_the_wafer_serving_cost_shares_chunks_and_equals_two_plain_passes():
    system = load_system("wse3", SMALL_WAFER)
    plain = IterationCost(system, "tiny", Scenario(), OPTIONS)
    shared = IterationCost(system, "tiny", Scenario(), OPTIONS, family_serving=mesh_serving)
    for p, d, c in ((128, 0, 0), (256, 4, 400), (320, 0, 0)):
        parts = [plain.step(p, 0, 0, 0)] + ([plain.step(0, d, c, 0)] if d else [])
        got = shared(p, d, c)
        assert got[0] == pytest.approx(sum(s for s, _ in parts), rel=1e-12)
        assert got[1] == pytest.approx(sum(j for _, j in parts), rel=1e-12)


def test_fill_and_drain_rows_at_once_equal_the_cell_by_cell_hand_offs():
    rng = np.random.default_rng(3)
    for _ in range(50):
        regions, pieces = int(rng.integers(1, 7)), int(rng.integers(1, 9))
        layers = [int(x) for x in rng.integers(1, 4, regions)]
        t = [int(x) for x in rng.integers(1, 100, pieces)]
        entry = [int(x) for x in rng.integers(0, 20, pieces)]
        hops = rng.integers(0, 30, (regions, pieces))
        a = fill_and_drain(layers, t, entry, lambda r, j: int(hops[r, j]))
        b = fill_and_drain(layers, t, entry, None, lambda r: hops[r].tolist())
        assert a == b


@pytest.mark.parametrize("vector", [False, True])
def test_a_patched_chunk_layer_is_the_layer_built_in_full(vector):
    """Attention's tasks are laid out alike at every prefix: the template with their work redone is the layer
    a full build gives, array for array."""
    from archsim.families.mesh.mapper.costs import MeshCosts
    from archsim.families.mesh.mapper.lowering import Lowering, layer_graph
    from archsim.families.mesh.mapper.reuse import chunk_layer

    system = load_system("wse3", SMALL_WAFER)
    costs = MeshCosts.from_system(system, 2.0)
    plan = type("Plan", (), {"region_w": 32, "region_h": 16})()
    lowering = Lowering(vector, 16 if vector else 0)
    store = _store()
    for prefix in (0, 16, 48, 1000, 4000):
        entry = chunk_layer(store, plan, costs, "meshgemv", 2, lowering, 2, 16, prefix)
        full, _ = layer_graph(entry.graph, plan, costs, "meshgemv", 2, None, lowering)
        for name in ("task_work", "task_latency", "route_ptr", "route_res", "dep_ptr", "dep_idx", "task_op",
                     "task_category"):
            assert np.array_equal(getattr(entry.layer, name), getattr(full, name)), (prefix, name)
    assert store.patched == 4


def test_a_shared_cost_does_not_depend_on_the_order_of_the_fills():
    """A chunk shape is scaled from the store's fixed origin, not from the step that asked first: the same
    steps in two orders cost the same, bit for bit (a table's fills come in the loop's order)."""
    system = load_system("wse3", SMALL_WAFER)
    steps = [Scenario(phase="prefill", prompt_len=p) for p in (320, 128, 192, 256)]
    costs = []
    for order in (steps, steps[::-1]):
        store = _store()
        with store:
            got = {s.prompt_len: step_cost(system, "tiny", s, options=OPTIONS)[:2] for s in order}
        costs.append(got)
    assert costs[0] == costs[1]


@pytest.mark.parametrize("layers_only", [False, True])
def test_the_step_bound_never_exceeds_a_prefill_run(layers_only):
    """reuse.step_bound (what lets auto leave a candidate unrun when serving) is at most the cycles of the
    step run in that many chunks, in either layout, on random prompts, batches, prefixes and regions."""
    from archsim.errors import InfeasibleError
    from archsim.families.mesh.mapper.costs import MeshCosts
    from archsim.families.mesh.mapper.pieces import step_in
    from archsim.families.mesh.mapper.pipeline import Split, choose_split
    from archsim.families.mesh.mapper.place import parse_region
    from archsim.families.mesh.mapper.reuse import step_bound
    from archsim.mapping.base import resolve_mapper
    from archsim.pipeline import build_graph

    system = load_system("wse3", SMALL_WAFER)
    costs = MeshCosts.from_system(system, 2.0)
    mapper = resolve_mapper("auto", system.kind)
    rng = np.random.default_rng(11)
    store = _store()
    checked = 0
    for _ in range(6):
        batch, prompt, prefix = int(rng.integers(1, 4)), int(rng.integers(2, 64)), int(rng.choice([0, 40, 900]))
        region = str(rng.choice(["32x16", "16x16", "32x24"]))
        options = mapper.parse_options({"region": region, "layers_only": layers_only})
        scenario = Scenario(phase="prefill", batch=batch, prompt_len=prompt, prefix_len=prefix).check()
        graph = build_graph("tiny", scenario)
        try:
            candidates, _ = choose_split(graph, scenario, costs, system.count, parse_region(region), layers_only,
                                         options, "tiny", "wse3")
        except InfeasibleError:
            continue
        plan, cut = candidates[0]
        for size in sorted({cut.size, max(1, cut.size // 3), 1}):
            split = Split("prefill_chunk", size, cut.total)
            runs = {}
            for layout in ("blocks", "passes", "auto"):
                try:
                    runs[layout] = step_in(graph, plan, split, costs, ("meshgemv", 2, layers_only), None, layout)
                except InfeasibleError:
                    continue
                bound = step_bound(store, graph, plan, costs, "meshgemv", 2, split, layout)
                assert 0 < bound <= runs[layout].cycles, (batch, prompt, prefix, region, size, layout, bound,
                                                          runs[layout].cycles)
                checked += 1
    assert checked >= 20
