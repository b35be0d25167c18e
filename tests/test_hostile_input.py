"""Hostile and careless input (issue 21): every case gets one clear error (exit 2, the file, line
and key), never a traceback, a hang, a multi-GB allocation or a silently wrong number.

Each test is one case found by attacking the CLI; the fixtures it reads are in
tests/fixtures/hostile/ (files too large to keep are written by the test). Where
a case used to hang or allocate without bound, the test checks that the limit
is reported before any work starts, not how long it took.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.hw.load import config_path, load_system
from archsim.spec import read_spec_file
from archsim.workload.model import workload_path

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def _bad(argv, capsys, *words):
    """Run `archsim argv`; it must exit 2 and say every one of `words` on stderr, without a traceback."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    return err


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


# ---------------------------------------------------------------- sweep files
def test_constraint_of_3000_nested_nots_is_refused_by_length(tmp_path, capsys):
    """3,000 nested `not` raised RecursionError in Python's parser."""
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes: {scenario.batch: [1]}\n"
                    f"constraints: [\"{'not ' * 3000}True\"]\n")
    _bad(["sweep", spec, "--db", tmp_path / "db.sqlite"], capsys, "s.yaml:5: constraints.0:",
         "a constraint has at most 1,000")
    assert not (tmp_path / "db.sqlite").exists()


def test_chip_axis_values_are_checked_without_loading_the_chip_each_time(tmp_path, monkeypatch):
    """20,000 values of chip.hbm.bandwidth took 18 s (one chip load per value); a wrong one is still found."""
    import archsim.hw.load as hw_load
    from archsim.sweep.spec import load_sweep

    loads = []
    real = hw_load.load_system
    monkeypatch.setattr(hw_load, "load_system", lambda *a, **k: loads.append(a) or real(*a, **k))
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes:\n"
                    "  chip.hbm.bandwidth: {start: '1 TB/s', stop: '100 TB/s', num: 20000}\n")
    assert len(load_sweep(spec).points()) == 20000
    assert len(loads) <= 2  # the base chip, and the axis path with its first value
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\naxes:\n"
                    "  chip.hbm.bandwidth: ['1 TB/s', '2 TB', '3 TB/s']\n")
    with pytest.raises(Exception, match=r"s.yaml:5: axes.chip.hbm.bandwidth.1: unit 'TB' is not a bandwidth"):
        load_sweep(spec)


# ---------------------------------------------------------------- results databases
SMALL_SWEEP = ("version: 1\nname: {name}\nchip: h100-sxm\nworkload: tiny\nfidelity: roofline\n"
               "axes:\n  scenario.batch: {batches}\n")


def _sweep(tmp_path, name="same", batches="[1, 2, 4]", file="s1.yaml") -> Path:
    spec = tmp_path / file
    spec.write_text(SMALL_SWEEP.format(name=name, batches=batches))
    return spec


def _filled_db(tmp_path, capsys) -> Path:
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0
    capsys.readouterr()
    return db


def test_second_sweep_file_with_the_same_name_is_refused(tmp_path, capsys):
    """It replaced the first sweep's point list: the earlier rows stopped showing in `results`."""
    db = _filled_db(tmp_path, capsys)
    other = _sweep(tmp_path, batches="[8, 16]", file="s2.yaml")
    _bad(["sweep", other, "--db", db, "-q"], capsys, "already holds a sweep named 'same'", "s1.yaml",
         "give it another `name:`")
    assert main(["results", str(db)]) == 0
    assert "same: 3 of 3 points in the database" in capsys.readouterr().err
    edited = _sweep(tmp_path, batches="[1, 2, 4, 8]")  # the same file, edited: still its own sweep
    assert main(["sweep", str(edited), "--db", str(db), "-j", "1", "-q"]) == 0


def test_unrelated_sqlite_file_is_not_adopted(tmp_path, capsys):
    import sqlite3

    db = tmp_path / "customers.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    _bad(["sweep", _sweep(tmp_path), "--db", db, "-q"], capsys, "not an archsim results database",
         "its tables: customers")
    _bad(["results", db], capsys, "not an archsim results database")
    with sqlite3.connect(db) as conn:
        assert [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["customers"]


def _damage_points_page(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root, size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='points'").fetchone()[0], \
            conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[(root - 1) * size:root * size] = b"\x5a" * size
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["results", "sweep"])
def test_damaged_data_page_is_a_clear_error(tmp_path, capsys, command):
    db = _filled_db(tmp_path, capsys)
    _damage_points_page(db)
    argv = ["results", db] if command == "results" else ["sweep", tmp_path / "s1.yaml", "--db", db, "-q"]
    _bad(argv, capsys, "r.sqlite is damaged", "database disk image is malformed", ".recover")


def test_non_integer_schema_version_is_a_clear_error(tmp_path, capsys):
    import sqlite3

    db = _filled_db(tmp_path, capsys)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = 'one' WHERE name = 'schema_version'")
    _bad(["results", db], capsys, "has results schema 'one', this archsim reads 1")


def test_row_with_bad_metrics_json_is_shown_as_damaged_and_rerun(tmp_path, capsys):
    import sqlite3

    db = _filled_db(tmp_path, capsys)
    with sqlite3.connect(db) as conn:
        key = conn.execute("SELECT key FROM points LIMIT 1").fetchone()[0]
        conn.execute("UPDATE points SET metrics = '{not json' WHERE key = ?", (key,))
    assert main(["results", str(db), "--errors"]) == 0
    out = capsys.readouterr().out
    assert "damaged: this row's JSON does not parse" in out and key in out
    assert main(["sweep", str(tmp_path / "s1.yaml"), "--db", str(db), "-j", "1", "-q"]) == 0
    assert "2 already done; ran 1" in capsys.readouterr().out


def test_db_in_a_missing_folder_is_created(tmp_path, capsys):
    """Tutorial step 10 on a fresh clone: `--db out/tutorial.sqlite` said 'not an archsim results database'."""
    db = tmp_path / "out" / "deeper" / "t.sqlite"
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0
    assert db.is_file()


def test_folder_as_db_is_a_clear_error(tmp_path, capsys):
    _bad(["sweep", _sweep(tmp_path), "--db", tmp_path], capsys, "is not a file")


SLOW_PLUGIN = '''
import time
from archsim.mapping.base import register_mapper

@register_mapper("slow-for-tests", family="gpu", description="sleeps (tests of interrupted sweeps)")
def slow(system, graph, scenario, options):
    time.sleep(120)
    raise RuntimeError("never reached: the test stops the sweep first")
'''


def _slow_sweep(tmp_path) -> tuple[Path, Path, dict]:
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(SLOW_PLUGIN)
    spec = tmp_path / "slow.yaml"
    spec.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\nmapper: slow-for-tests\n"
                    "axes:\n  scenario.batch: [1, 2, 3, 4]\n")
    return spec, tmp_path / "r.sqlite", dict(os.environ, ARCHSIM_PLUGINS=str(plugin))


def _wait_for_workers(proc, lock: Path) -> None:
    import time

    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the workers have forked and started their first points
    assert proc.poll() is None, proc.communicate()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes and signals")
def test_second_sweep_on_a_database_in_use_is_refused(tmp_path, capsys):
    """Two sweeps on one database both ran (the second redid 33 of 36 points)."""
    import subprocess
    import sys

    spec, db, env = _slow_sweep(tmp_path)
    argv = [sys.executable, "-m", "archsim.cli", "sweep", str(spec), "--db", str(db), "-j", "2", "-q"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_workers(proc, Path(f"{db}.lock"))
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"another archsim sweep (process {proc.pid}) is writing" in second.stderr
    finally:
        proc.kill()
        proc.communicate()
    assert main(["sweep", str(_sweep(tmp_path)), "--db", str(db), "-j", "1", "-q"]) == 0  # the lock died with it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes and signals")
def test_ctrl_c_stops_a_sweep_without_waiting_for_running_points(tmp_path):
    """SIGINT during a sweep exited only after 23 s: it waited for the points in flight. Here each point
    takes two minutes, so a prompt exit shows that nothing waited for them."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    spec, db, env = _slow_sweep(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "archsim.cli", "sweep", str(spec), "--db", str(db), "-j", "2",
                             "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_workers(proc, Path(f"{db}.lock"))
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)  # far below one point's 120 s
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, err
    assert "interrupted with 4 points to go" in out and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM sweep_points").fetchone()[0] == 4


# ---------------------------------------------------------------- the last resort
def test_internal_error_is_one_line_with_where_to_report_it(capsys, monkeypatch):
    import archsim.commands.check as check

    def broken(path):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(check, "check_one", broken)
    assert main(["check", "h100-sxm"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    for words in ("archsim check: internal error: ZeroDivisionError: division by zero", "issue tracker",
                  "archsim --debug check"):
        assert words in err
    assert main(["--debug", "check", "h100-sxm"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---------------------------------------------------------------- output paths
@pytest.mark.parametrize("flag", ["--json", "--trace"])
def test_output_into_a_missing_folder_is_created(tmp_path, capsys, flag):
    """--json and --trace into a missing folder failed only after the whole simulation."""
    target = tmp_path / "new" / "folder" / "out.json"
    assert main(["run", "h100-sxm", "tiny", "--no-whatif", flag, str(target)]) == 0
    assert target.is_file() and target.stat().st_size > 0


@pytest.mark.parametrize("command", ["run", "explain", "compare"])
def test_unwritable_output_fails_before_the_simulation(tmp_path, capsys, monkeypatch, command):
    import archsim.commands.run as run_cmd

    def must_not_run(*args, **kwargs):
        raise AssertionError("the simulation ran before the output path was checked")

    monkeypatch.setattr(run_cmd, "run_one", must_not_run)
    monkeypatch.setattr("archsim.commands.explain.run_one", must_not_run)
    monkeypatch.setattr("archsim.commands.compare.run_one", must_not_run)
    (tmp_path / "a-file").write_text("")
    targets = ["h100-sxm", "tiny"] if command != "compare" else ["h100-sxm", "a100-sxm-80gb", "tiny"]
    _bad([command, *targets, "--json", tmp_path / "a-file" / "r.json"], capsys, "cannot write --json",
         "cannot create the folder")


def test_output_that_is_a_folder_is_refused_up_front(tmp_path, capsys):
    _bad(["run", "h100-sxm", "tiny", "--trace", tmp_path], capsys, "cannot write --trace", "it is a folder")


def test_results_plot_into_a_folder_names_the_file_it_wrote(tmp_path, capsys):
    """`results ... -o outdir` wrote outdir.png but said 'wrote outdir'."""
    db = _filled_db(tmp_path, capsys)
    out = tmp_path / "outdir"
    assert main(["results", str(db), "--plot", "line", "--x", "scenario.batch", "--y", "tokens_per_s",
                 "-o", str(out)]) == 0
    assert f"wrote {out / 'line.png'}" in capsys.readouterr().err
    assert (out / "line.png").is_file() and not (tmp_path / "outdir.png").exists()


# ---------------------------------------------------------------- results as a table or CSV
@pytest.fixture
def mixed_db(tmp_path, capsys):
    """Two chips (a `chip` axis, and `chip` in every result), and points that fail with long errors."""
    spec = tmp_path / "mixed.yaml"
    spec.write_text("version: 1\nworkload: tiny\nfidelity: roofline\naxes:\n  chip: [h100-sxm, a100-sxm-80gb]\n"
                    "  scenario.context_len: [16, 1024, 4096]\n")
    db = tmp_path / "mixed.sqlite"
    assert main(["sweep", str(spec), "--db", str(db), "-j", "1", "-q"]) == 0
    capsys.readouterr()
    return db


def test_results_csv_is_narrow_by_default_and_names_each_column_once(mixed_db, capsys):
    """The CSV repeated `chip` and its header had more than 200 columns."""
    import csv

    assert main(["results", str(mixed_db), "--format", "csv"]) == 0
    header = next(csv.reader([capsys.readouterr().out.splitlines()[0]]))
    assert len(header) == len(set(header)) and header.count("chip") == 1
    assert len(header) <= 20 and "tokens_per_s" in header and "error" in header
    assert main(["results", str(mixed_db), "--format", "csv", "--all"]) == 0
    wide = next(csv.reader([capsys.readouterr().out.splitlines()[0]]))
    assert len(wide) == len(set(wide)) and len(wide) > 50


def test_results_table_keeps_errors_to_one_short_line(mixed_db, capsys):
    assert main(["results", str(mixed_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if " error " in line]
    assert len(failed) == 2  # context 4096 is over tiny's max_context, on both chips
    assert all(line.endswith("...") for line in failed)
    widths = {len(line.split("  error")[0]) for line in lines[2:] if line.strip()}
    assert max(len(line) for line in lines) <= 200 and len(widths) >= 1


def test_results_table_numbers_keep_one_notation_per_column(mixed_db, capsys):
    """A column switched between plain and scientific notation from row to row."""
    assert main(["results", str(mixed_db), "--metrics", "latency_s,tokens_per_s,chips_used"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:] if " ok " in line]
    for column in (-3, -2):
        cells = [row[column] for row in rows]
        assert len({"e" in c for c in cells}) == 1, cells


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


def test_compare_shows_chips_used_and_both_costs(tmp_path, capsys):
    """`compare` charged all 576 LPUs when 64 were used, without saying so in the table."""
    import json

    out_json = tmp_path / "c.json"
    assert main(["compare", "groq-lpu-576", "h100-sxm", "llama2-7b", "--no-whatif", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("groq-lpu-576 "))
    assert "64 of 576" in row
    cost = json.loads(out_json.read_text())["rows"][0]["cost"]
    assert cost["chips_used"] == 64 and cost["chips_charged"] == 576
    assert cost["used_chips_cost_per_million_tokens_usd"] < cost["cost_per_million_tokens_usd"] / 5
    assert "of the whole system (every chip, used or not: what `archsim run` reports)" in out
    assert "used $/Mtok: the chips the mapping uses alone" in out


def test_fused_operators_are_shown_as_fused_not_zero_time_compute_bound(capsys):
    """The per-op table showed softmax and attn_context as 0 us and compute-bound; explain said memory."""
    from archsim.pipeline import run
    from archsim.workload.model import Scenario

    result = run("h100-sxm", "tiny", Scenario())
    fused = {o.name: o for o in result.ops if o.bound == "fused"}
    assert set(fused) == {f"L{i}.{k}" for i in range(2) for k in ("softmax", "attn_context")}
    assert all(o.fused_into == f"L{o.layer}.attn_score" and o.time_s == 0 for o in fused.values())
    assert not [o for o in result.ops if o.time_s == 0 and o.bound == "compute"]
    assert main(["run", "h100-sxm", "tiny", "--no-whatif"]) == 0
    table = capsys.readouterr().out
    assert "L*.softmax" in table and "fused into L*.attn_score" in table
    assert main(["explain", "h100-sxm", "tiny", "--no-whatif"]) == 0
    assert "fused into attn_score" in " ".join(capsys.readouterr().out.split())


def test_readme_points_to_validate_instead_of_listing_cases_outside_tolerance():
    """The README's list of reported cases outside tolerance had drifted from `archsim validate`."""
    from archsim.validation.base import load_all_cases

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    trust = readme.split("## How far to trust it", 1)[1].split("\n## ", 1)[0]
    assert "summary at the end of `archsim validate`" in trust
    assert "archsim about 3x faster" not in trust and "33-57%" not in trust
    assert not [c.case_id for c in load_all_cases() if c.case_id in readme]


def test_list_names_a_broken_file_and_lists_the_rest(tmp_path, capsys, monkeypatch):
    """One bad file in ARCHSIM_CONFIG_DIR made `archsim list` fail as a whole."""
    (tmp_path / "broken-chip.yaml").write_text((HOSTILE / "kind_list.yaml").read_text())
    monkeypatch.setenv("ARCHSIM_CONFIG_DIR", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "h100-sxm" in out and "files that do not load:" in out and "broken-chip" in out


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
