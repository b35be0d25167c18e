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
