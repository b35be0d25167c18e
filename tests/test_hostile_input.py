"""Hostile and careless input (issue 21): every case gets one clear error (exit 2, the file, line
and key), never a traceback, a hang, a multi-GB allocation or a silently wrong number.

Each test is one case found by attacking the CLI; the fixtures it reads are in
tests/fixtures/hostile/ (files too large to keep are written by the test). Where
a case used to hang or allocate without bound, the test checks that the limit
is reported before any work starts, not how long it took. Sweep files and results
databases: tests/test_hostile_sweeps.py; what archsim says back (outputs, internal errors,
reports): tests/test_hostile_outputs.py; the fuzz: tests/test_hostile_properties.py.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.hw.load import config_path, load_system
from archsim.spec import read_spec_file
from archsim.workload.model import workload_path
from cli_checks import bad as _bad

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


# ---------------------------------------------------------------- YAML
def test_alias_bomb_stops_at_the_value_limit(capsys):
    """340 bytes that expand to 387 million strings: the loader ran for hours."""
    _bad(["check", HOSTILE / "alias_bomb.yaml"], capsys, "alias_bomb.yaml:", "more than 1,000,000 values",
         "aliases")


def test_recursive_alias_is_a_located_error(capsys):
    _bad(["check", HOSTILE / "recursive_alias.yaml"], capsys, "recursive_alias.yaml:4:", "recursive alias")


def test_deep_nesting_is_a_located_error(tmp_path, capsys):
    path = tmp_path / "nested.yaml"
    path.write_text("version: 1\nkind: gpu\nname: " + "[" * 5000 + "]" * 5000 + "\n")
    _bad(["check", path], capsys, "nested.yaml:3:", "nested deeper than 32 levels")


def test_nesting_just_over_the_depth_limit(tmp_path, capsys):
    """Within libyaml's own limit (1000) but over archsim's: the builder stops it, with the line."""
    path = tmp_path / "nested.yaml"
    path.write_text("version: 1\nkind: gpu\nname: " + "[" * 40 + "]" * 40 + "\n")
    _bad(["check", path], capsys, "nested.yaml:3:", "nested deeper than 32 levels")


def test_date_value_is_kept_as_text_and_overrides_work(capsys):
    """A YAML date anywhere in a chip file crashed the override copy (JSON TypeError)."""
    system = load_system(str(HOSTILE / "date_value.yaml"), [("hbm.bandwidth", "4 TB/s")])
    assert system.description == "2024-01-01"
    assert system.chip.hbm.bandwidth == 4 * 10**12
    assert main(["run", str(HOSTILE / "date_value.yaml"), "tiny", "--fidelity", "roofline"]) == 0


def test_binary_value_is_a_located_error(capsys):
    _bad(["run", HOSTILE / "binary_value.yaml", "tiny"], capsys, "binary_value.yaml:8: description:",
         "binary data (!!binary)")


@pytest.mark.parametrize("fixture,words", [
    ("kind_list.yaml", ("kind_list.yaml:6: kind:", "got ['gpu']")),
    ("kind_mapping.yaml", ("kind_mapping.yaml:6: kind:", "got {'family': 'gpu'}")),
])


@pytest.mark.parametrize("where", ["check", "run-chip", "run-workload", "sweep-chip"])
def test_unhashable_kind_is_a_located_error(tmp_path, capsys, fixture, words, where):
    path = HOSTILE / fixture
    if where == "sweep-chip":
        spec = tmp_path / "s.yaml"
        spec.write_text(f"version: 1\nchip: {path}\nworkload: tiny\naxes: {{scenario.batch: [1]}}\n")
        argv = ["sweep", spec, "--db", tmp_path / "db.sqlite"]
    else:
        argv = {"check": ["check", path], "run-chip": ["run", path, "tiny"],
                "run-workload": ["run", "h100-sxm", path]}[where]
    err = _bad(argv, capsys, fixture, "kind")
    if where != "run-workload":
        for word in words:
            assert word in err


def test_huge_integer_literal_is_a_located_error(tmp_path, capsys):
    """An integer of more than 4,300 digits: Python refuses to parse it (ValueError)."""
    path = tmp_path / "chip.yaml"
    path.write_text(config_path("h100-sxm").read_text().replace("count: 132", "count: " + "9" * 5000))
    _bad(["check", path], capsys, "chip.yaml:", "5,000 digits")


def test_override_value_is_bounded_like_a_file(capsys):
    """--set values are YAML too: a recursive alias there crashed the deep copy."""
    _bad(["run", "h100-sxm", "tiny", "--set", "name=&a [*a]"], capsys, "--set name", "recursive alias")


def test_many_unknown_keys_are_capped(tmp_path, capsys):
    """200,000 unknown keys took 80 s and printed 35 MB; under the size limit the list is capped."""
    path = tmp_path / "chip.yaml"
    path.write_text(config_path("h100-sxm").read_text() + "".join(f"k{i}: {i}\n" for i in range(20_000)))
    err = _bad(["check", path], capsys, "20,000 problems", "unknown key 'k0'", "and 19,950 more")
    assert len(err) < 20_000


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path, capsys):
    path = tmp_path / "chip.yaml"
    path.write_text(config_path("h100-sxm").read_text() + "".join(f"k{i}: {i}\n" for i in range(200_000)))
    _bad(["check", path], capsys, "chip.yaml", "over archsim's limit of 1,048,576 bytes")


# ---------------------------------------------------------------- paths that are not files
@pytest.mark.parametrize("argv", [["run", "/dev/zero", "tiny"], ["run", "h100-sxm", "/dev/zero"],
                                  ["check", "/dev/zero"], ["noc", "--booksim-config", "/dev/zero"]])


def test_device_is_not_read(capsys, argv):
    """/dev/zero read until MemoryError (chip, BookSim config) or forever (workload)."""
    _bad(argv, capsys, "/dev/zero", "character device, not a regular file")


def test_device_as_system_member_is_not_read(tmp_path, capsys):
    path = tmp_path / "sys.yaml"
    path.write_text("version: 1\nkind: system\nname: z\ndescription: x\nchip: /dev/zero\ncount: 2\n"
                    "interconnect: {topology: switch, link_bandwidth: 450 GB/s, links_per_chip: 18, "
                    "hop_latency: 1 us}\n")
    _bad(["check", path], capsys, "sys.yaml:5: chip:", "character device")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("position", ["chip", "workload"])
def test_fifo_is_not_opened(tmp_path, capsys, position):
    """Opening a FIFO for reading blocks until a writer comes: the run hung."""
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    argv = ["run", fifo, "tiny"] if position == "chip" else ["run", "h100-sxm", fifo]
    _bad(argv, capsys, "model.yaml", "FIFO")


def test_folder_is_not_a_spec_file(tmp_path, capsys):
    folder = tmp_path / "x.yaml"
    folder.mkdir()
    _bad(["check", folder], capsys, "x.yaml", "a folder")


def test_spec_files_are_read_once(monkeypatch):
    """A chip file was parsed twice per load (three times by `check`): the limits above assume once."""
    import archsim.spec as spec

    calls = []
    real = spec.read_text

    def counting(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(spec, "read_text", counting)
    from archsim.commands.check import check_one

    check_one(str(config_path("h100-sxm")))
    check_one(str(workload_path("tiny")))
    assert len(calls) == 2
    read_spec_file(config_path("h100-sxm"))


# ---------------------------------------------------------------- names resolved twice
@pytest.mark.parametrize("chip", ["h100-sxm", "dgx-h100", "wse2", "groq-lpu"])
def test_workload_path_with_a_new_name_runs_on_every_family(capsys, chip):
    """The GPU mapper looked the workload up again by name: 'unknown workload' on every GPU chip."""
    assert main(["run", chip, str(HOSTILE / "workload_new_name.yaml"), "--no-whatif"]) == 0
    assert "my-model on" in capsys.readouterr().out


def test_workload_path_keeping_a_bundled_name_is_checked_as_the_file(capsys):
    """Llama-3-8B edited to 320 layers 'fit, 16.20 GB of 80 GB' (the bundled 32-layer model); ~160 GB needed."""
    err = _bad(["run", "h100-sxm", HOSTILE / "workload_bundled_name_320_layers.yaml", "--no-whatif"], capsys,
               "infeasible", "llama3-8b needs 143.0 GB per GPU")
    assert "16.20 GB" not in err


def test_graph_carries_the_model_it_was_lowered_from():
    from archsim.pipeline import build_graph
    from archsim.workload.model import Scenario

    graph = build_graph(str(HOSTILE / "workload_bundled_name_320_layers.yaml"), Scenario())
    assert graph.workload == "llama3-8b" and graph.model.layers == 320 == graph.layers


def test_system_member_path_is_read_beside_the_system_file(tmp_path, monkeypatch):
    """`chip: my-gpu.yaml` in a system file was looked up from the current folder."""
    monkeypatch.chdir(tmp_path)
    system = load_system(str(HOSTILE / "member" / "my-node.yaml"))
    assert system.chip.name == "my-gpu" and system.count == 8


# ---------------------------------------------------------------- sizes against stated limits
@pytest.mark.parametrize("argv,words", [
    (["run", "h100-sxm", "tiny", "--set", "sm.count=100000000000000000000000"],
     ("sm.count: must be at most 1,000,000 (archsim's limit",)),
    (["run", "wse2", "tiny", "--set", "grid.width=30000", "--set", "grid.height=30000"],
     ("grid.width: must be at most 4,096", "grid.height: must be at most 4,096")),
    (["run", "wse2", "tiny", "--set", "grid.width=100000"], ("grid.width: must be at most 4,096",)),
    (["run", "wse2", "tiny", "--set", "router.hop_latency=100000000000000000000"],
     ("router.hop_latency: must be at most 1,000,000",)),
    (["run", "groq-lpu-576", "tiny", "--set", "count=100000000"], ("count: must be at most 1,000,000",)),
    (["run", "groq-lpu-576", "tiny", "--set", "interconnect.group_size=1"],
     ("interconnect.group_size: must be at least 2",)),
    (["run", "h100-sxm", "tiny", "--batch", "100000000"], ("batch must be at most 1,048,576",)),
    (["run", "h100-sxm", "gemm:100000000x4x4"], ("at most 16,777,216",)),
])


def test_size_over_its_stated_limit_is_refused_up_front(capsys, argv, words):
    _bad(argv, capsys, *words)


def test_workload_over_the_layer_limit_is_refused(capsys):
    _bad(["run", "h100-sxm", HOSTILE / "workload_100000_layers.yaml"], capsys,
         "workload_100000_layers.yaml:7: layers: must be at most 10,000")


def test_negative_group_size_fails_check(capsys):
    _bad(["check", HOSTILE / "system_group_size_negative.yaml"], capsys,
         "system_group_size_negative.yaml:21: interconnect.group_size: must be at least 2, got -9")


def test_huge_integer_under_the_cap_still_cannot_overflow_the_engine(capsys):
    """A latency of 2**53 cycles per message fits every field; the engine says the run is out of range."""
    from archsim.engine import TaskGraphBuilder, simulate
    from archsim.engine.ir import TaskGraphError

    b = TaskGraphBuilder(clock_hz=1e9)
    r = b.add_resource("x", "compute", rate=1.0)
    first = b.add_task(r, work=2.0**61)
    b.add_task(r, work=2.0**61, deps=[first])
    b.add_task(r, work=2.0**61, deps=[first + 1])
    with pytest.raises(TaskGraphError, match="more than the engine's 2"):
        simulate(b.build())


def test_prefill_attention_blocks_are_bounded(capsys):
    _bad(["run", "h100-sxm", "tiny", "--phase", "prefill", "--prompt-len", "2048", "--batch", "1048576",
          "--set", "hbm.capacity=100 PB"], capsys, "thread blocks", "at most 1,048,576 per kernel")


def test_noc_mesh_too_large_is_refused_before_allocating(capsys):
    """`archsim noc --mesh 1000x1000` tried to allocate 18-26 GiB."""
    _bad(["noc", "--mesh", "1000x1000"], capsys, "1000x1000 mesh", "GiB; archsim's limit is 2 GiB")


def test_noc_state_estimate_bounds_what_is_allocated():
    """The estimate counts every array of the network state and the packet table (it may only over-count)."""
    import numpy as np

    from archsim.engine.noc.config import NocConfig
    from archsim.engine.noc.state import PK_LEN, check_state_size, new_net_state, new_traffic
    import archsim.engine.noc.state as state
    import archsim.limits as limits

    cfg = NocConfig(mesh_x=6, mesh_y=5, num_vcs=2, vc_buf_size=4)
    S, T = new_net_state(cfg, 321), new_traffic(cfg.nodes, np.zeros((77, PK_LEN), np.int64), pool=True)
    real = sum(a.nbytes for a in (*S, *T) if isinstance(a, np.ndarray))
    limits_before = limits.MAX_NOC_STATE_BYTES
    try:
        limits.MAX_NOC_STATE_BYTES = real - 1
        with pytest.raises(Exception, match="GiB"):
            check_state_size(cfg, 321, 77)
    finally:
        limits.MAX_NOC_STATE_BYTES = limits_before
    assert state.check_state_size(cfg, 321, 77) is None


# ---------------------------------------------------------------- silently wrong numbers
@pytest.mark.parametrize("override,key", [
    ("price.capital_usd=.inf", "price.capital_usd"), ("price.capital_usd=.nan", "price.capital_usd"),
    ("price.pue=.nan", "price.pue"), ("price.pue=.inf", "price.pue"),
    ("price.electricity_usd_per_kwh=.nan", "price.electricity_usd_per_kwh"),
    ("price.amortization_years=.inf", "price.amortization_years"),
])


def test_non_finite_price_is_refused(capsys, override, key):
    """They printed $nan, $inf or $0 and exited 0."""
    _bad(["run", "h100-sxm", "tiny", "--set", override], capsys, f"{key}: expected a finite number")


def test_price_over_its_stated_limit_is_refused(capsys):
    _bad(["run", "h100-sxm", "tiny", "--set", "price.pue=1e300"], capsys, "price.pue: must be at most 10")


def test_pipeline_deeper_than_the_model_is_refused_on_gpus(capsys):
    """pp=8 on a 2-layer model ran on a DGX (the LPU mapper already refused it)."""
    _bad(["run", "dgx-h100", "tiny", "-o", "pp=8", "-o", "tp=1"], capsys, "pp=8 needs at least 8 layers",
         "tiny has 2")


@pytest.mark.parametrize("argv,words", [
    (["--phase", "prefill", "--context-len", "512"], ("--context-len 512 does not apply to --phase prefill",
                                                       "--prompt-len")),
    (["--phase", "decode", "--prompt-len", "512"], ("--prompt-len 512 does not apply to --phase decode",
                                                     "--context-len")),
])


@pytest.mark.parametrize("command", ["run", "explain", "compare"])
def test_length_for_the_other_phase_is_an_error(capsys, argv, words, command):
    """--context-len with --phase prefill was silently ignored."""
    targets = ["h100-sxm", "tiny"] if command != "compare" else ["h100-sxm", "a100-sxm-80gb", "tiny"]
    _bad([command, *targets, *argv], capsys, *words)


def test_more_sms_at_the_same_totals_say_what_got_worse(capsys):
    """132 SMs 5.75 ms, 10k SMs 19 ms on the same decode: sm.count splits the chip's totals, so
    each SM got weaker; the report must say so (and a plain run must not)."""
    assert main(["run", "h100-sxm", "llama3.1-8b", "--no-whatif"]) == 0
    plain = capsys.readouterr().out
    assert "SM share" not in plain and "sm_share_idle: 0" in plain
    assert main(["run", "h100-sxm", "llama3.1-8b", "--no-whatif", "--set", "sm.count=10000"]) == 0
    out = capsys.readouterr().out
    assert "note: SM share:" in out and "10,000 SMs" in out and "each SM has 0.0829 TFLOP/s of tensor" in out
    assert "raise compute.* and l2.bandwidth with sm.count" in out


# ---------------------------------------------------------------- inheritance and optional keys
def test_chip_with_a_base_is_the_base_with_its_changes(capsys):
    """A what-if chip was a 60-line copy; `base: h100-sxm` plus the changed keys gives the same chip."""
    derived = load_system(str(HOSTILE / "base" / "h100-6tb.yaml"))
    copied = load_system("h100-sxm", [("hbm.bandwidth", "6 TB/s")])
    assert derived.name == "h100-6tb" and derived.kind == "gpu" and "base" not in derived.config
    assert derived.chip.hbm.bandwidth == 6 * 10**12
    assert {k: v for k, v in derived.config.items() if k not in ("name", "description")} == \
        {k: v for k, v in copied.config.items() if k not in ("name", "description")}
    assert main(["check", str(HOSTILE / "base" / "h100-6tb.yaml")]) == 0


@pytest.mark.parametrize("fixture,words", [
    ("bad_value.yaml", ("bad_value.yaml:6: hbm.bandwidth: unit 'TB/z' is not a bandwidth",)),
    ("loop_a.yaml", ("loop_b.yaml:1: base: the bases form a loop: loop_a.yaml -> loop_b.yaml -> loop_a.yaml",)),
    ("no_name.yaml", ("no_name.yaml:1: name: missing required key 'name'", "needs its own name")),
    ("kind_mismatch.yaml", ("kind_mismatch.yaml:2: kind: is 'gpu', but the base wse2 is a 'mesh' chip",)),
])


def test_chip_with_a_base_is_validated_like_the_rest(capsys, fixture, words):
    _bad(["check", HOSTILE / "base" / fixture], capsys, *words)


def test_workload_without_source_runs_and_says_so(capsys):
    """A made-up model had to carry `source:`."""
    assert main(["run", "h100-sxm", str(HOSTILE / "workload_no_source.yaml"), "--fidelity", "roofline"]) == 0
    assert "note: workload made-up has no `source:`" in capsys.readouterr().out


@pytest.mark.parametrize("kind", [["gpu"], {"family": "gpu"}])
def test_unhashable_kind_or_name_through_the_api_is_an_unknown_name(kind):
    """`kind: [gpu]` crashed with 'unhashable type' where a kind or a mapper name is looked up."""
    from archsim.errors import UnknownNameError
    from archsim.family import get_family
    from archsim.hw.schema import chip_schema
    from archsim.mapping.base import resolve_mapper

    for call in (lambda: get_family(kind), lambda: chip_schema(kind), lambda: resolve_mapper("auto", kind),
                 lambda: resolve_mapper(kind, "gpu")):
        with pytest.raises(UnknownNameError, match="unknown"):
            call()
