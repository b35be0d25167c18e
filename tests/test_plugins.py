"""The plugin API, proven with the out-of-tree example family in examples/plugins/tpu (docs/plugins.md).

Every command runs in a subprocess (`python -m archsim.cli --plugin ...`), as a user would run it: loading
a plugin registers a family for the whole process and lists it in $ARCHSIM_PLUGINS, which must not leak
into the other tests. Nothing under archsim/ names the plugin (checked below).
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugins" / "tpu"
ENV_VAR = "ARCHSIM_PLUGINS"


def archsim(*args, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    return subprocess.run([sys.executable, "-m", "archsim.cli", *map(str, args)], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd or ROOT, timeout=300)


def with_plugin(*args, **kw) -> subprocess.CompletedProcess:
    done = archsim("--plugin", PLUGIN, *args, **kw)
    assert done.returncode == 0, done.stderr
    return done


def test_list_shows_the_plugin_family_its_chips_and_its_mapper():
    out = with_plugin("list").stdout
    for name in ("tpu-v5e ", "tpu-v5e-4x4", "tpu-v5e-256", "tpu-torus"):
        assert name in out
    assert "h100-sxm" in out and "gpu-tiled" in out  # the in-tree families are still there


def test_run_on_the_plugin_system(tmp_path):
    with_plugin("run", "tpu-v5e-4x4", "llama2-7b", "--phase", "decode", "--json", tmp_path / "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["provenance"]["mapper"] == "tpu-torus"
    assert r["chips_used"] == r["tp"] and r["tp"] in (1, 2, 4, 8, 16)
    assert r["latency_s"] >= r["roofline_latency_s"] > 0  # never faster than the roofline of the chips used
    assert r["energy_per_token_j"] > 0  # the family's energy resolver ran


def test_compare_plugin_system_with_a_bundled_gpu(tmp_path):
    with_plugin("compare", "tpu-v5e-4x4", "dgx-h100", "llama2-7b", "--json", tmp_path / "c.json")
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [(r["chip"], r["mapper"]) for r in rows] == [("tpu-v5e-4x4", "tpu-torus"), ("dgx-h100", "gpu-tiled")]
    assert all(r["tokens_per_s"] > 0 for r in rows)


def test_sweep_runs_plugin_points_on_local_worker_processes(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("version: 1\nchip: tpu-v5e-4x4\nworkload: llama2-7b\n"
                     "scenario: {phase: decode, batch: 1, context_len: 1024}\n"
                     "axes:\n  scenario.batch: [1, 16]\n")
    db = tmp_path / "r.sqlite"
    done = with_plugin("sweep", sweep, "--db", db, "-j", "2")
    assert "running 2 on 2 local processes" in done.stderr
    rows = json.loads(with_plugin("results", db, "--format", "json").stdout)
    assert sorted(r["params"]["scenario.batch"] for r in rows) == [1, 16]
    assert all(r["status"] == "ok" and r["metrics"]["chip"] == "tpu-v5e-4x4" for r in rows)


def test_validate_family_reads_the_plugin_reference_csv(tmp_path):
    with_plugin("validate", "--family", "tpu", "--json", tmp_path / "v.json")
    results = json.loads((tmp_path / "v.json").read_text())
    with open(PLUGIN / "reference.csv", newline="") as fh:
        reference = {row["case_id"]: row for row in csv.DictReader(line for line in fh if not line.startswith("#"))}
    assert {r["case_id"] for r in results} == set(reference)
    for r in results:
        assert r["family"] == "tpu" and r["within_tolerance"] and not r["fails_run"]
        assert r["measured"] == float(reference[r["case_id"]]["value"])
        assert r["unit"] == reference[r["case_id"]]["unit"]
    code = "\n".join(p.read_text() for p in PLUGIN.glob("*.py"))
    for row in reference.values():  # measured values live in the CSV only, never typed in code
        assert not re.search(rf"(?<![\d.]){re.escape(row['value'])}(?![\d.])", code), row["value"]


def test_check_validates_plugin_files_and_their_torus_keys(tmp_path):
    with_plugin("check", *sorted((PLUGIN / "configs").glob("*.yaml")))
    no_shape = tmp_path / "no-shape.yaml"
    no_shape.write_text((PLUGIN / "configs" / "tpu-v5e-4x4.yaml").read_text().replace("  shape: [4, 4]\n", ""))
    done = archsim("--plugin", PLUGIN, "check", no_shape)
    assert done.returncode == 2 and "interconnect.shape: missing required key 'shape'" in done.stderr
    gpu_with_shape = tmp_path / "gpu-shape.yaml"
    text = (ROOT / "archsim" / "families" / "gpu" / "configs" / "dgx-h100.yaml").read_text()
    gpu_with_shape.write_text(text.replace("  topology: switch", "  topology: switch\n  shape: [2, 4]"))
    done = archsim("--plugin", PLUGIN, "check", gpu_with_shape)
    assert done.returncode == 2 and "interconnect.shape: unknown key" in done.stderr  # only tpu systems have it


def test_a_plugin_that_cannot_load_is_one_clear_error():
    done = archsim("--plugin", "examples/plugins/no-such-plugin", "list")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "archsim: error: --plugin examples/plugins/no-such-plugin: no such file (expected a .py file or a "
        "package folder)"]
    done = archsim("--plugin", "no_such_plugin_module", "list")
    assert done.returncode == 2 and "no module or file of that name" in done.stderr


def test_plugins_environment_variable_is_read_without_the_option():
    done = archsim("run", "tpu-v5e", "tiny", env={ENV_VAR: str(PLUGIN)})
    assert done.returncode == 0, done.stderr
    assert "mapper tpu-torus" in done.stdout


def test_a_fresh_worker_loads_the_plugins_it_is_given():
    """What a Dask worker does (started apart from the sweep, so with neither --plugin nor the variable):
    run_point loads the plugins the sweep's process passes it."""
    config = dict(chip="tpu-v5e-4x4", overrides=[], workload="tiny", scenario={"phase": "decode"},
                  mapper="auto", options={}, fidelity="task")
    code = ("import json, sys; from archsim.sweep.worker import run_point; "
            f"print(json.dumps(run_point('k', {config!r}, plugins=(sys.argv[1],))))")
    base = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    done = subprocess.run([sys.executable, "-c", code, str(PLUGIN)], capture_output=True, text=True, env=base,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["status"] == "ok", row["error"]
    assert row["metrics"]["chip"] == "tpu-v5e-4x4"


def test_entry_point_registration(tmp_path):
    """An installed plugin: its package and a dist-info declaring the `archsim.families` entry point, as
    `pip install examples/plugins/tpu` lays them out, found through importlib.metadata with no --plugin."""
    shutil.copytree(PLUGIN, tmp_path / "archsim_tpu",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    info = tmp_path / "archsim_tpu_example-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: archsim-tpu-example\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[archsim.families]\ntpu = archsim_tpu:FAMILY\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = archsim("run", "tpu-v5e", "tiny", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mapper tpu-torus" in done.stdout
    # the same family once more by path: two packages claim `kind: tpu`, which is an error, not a silent pick
    done = archsim("--plugin", PLUGIN, "list", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "chip family 'tpu' is registered twice" in done.stderr


def test_nothing_under_archsim_names_the_plugin():
    pattern = re.compile(r"\btpu\b|tpu-torus|examples/plugins", re.IGNORECASE)
    named = [str(p.relative_to(ROOT)) for p in (ROOT / "archsim").rglob("*")
             if p.suffix in (".py", ".yaml", ".csv", ".md") and pattern.search(p.read_text(errors="replace"))]
    assert named == []


def test_the_plugin_imports_no_family():
    """One family never imports another (the contract tests/test_imports.py checks in tree), for the plugin."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter, in the `test` extra")
    sys.path.insert(0, str(PLUGIN.parent))
    try:
        graph = grimp.build_graph("tpu", "archsim", cache_dir=None)
    finally:
        sys.path.remove(str(PLUGIN.parent))
    assert graph.find_children("tpu")  # the plugin's modules were found
    assert not graph.chain_exists(importer="tpu", imported="archsim.families", as_packages=True)


MAPPER_ONLY_PLUGIN = '''"""A mapper for the in-tree families, from outside the package (no FAMILY)."""
from dataclasses import replace

from archsim.mapping.aggregate import map_aggregate
from archsim.mapping.base import register_mapper


@register_mapper("outside-aggregate", family="any", description="the aggregate mapper, registered by a plugin")
def map_outside(system, graph, scenario, options):
    return replace(map_aggregate(system, graph, scenario, options), mapper="outside-aggregate")
'''


def test_a_mapper_plugin_by_path_and_by_the_mappers_entry_point(tmp_path):
    (tmp_path / "outside_mapper.py").write_text(MAPPER_ONLY_PLUGIN)
    done = archsim("--plugin", tmp_path / "outside_mapper.py", "run", "h100-sxm", "tiny", "--mapper",
                   "outside-aggregate")
    assert done.returncode == 0, done.stderr
    assert "mapper outside-aggregate" in done.stdout
    info = tmp_path / "outside_mapper-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: outside-mapper\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[archsim.mappers]\noutside = outside_mapper\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = archsim("list", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "outside-aggregate" in done.stdout
