"""The notebook API (archsim/api.py, docs/api.md): each study returns a result object whose DataFrames
hold the same numbers as its JSON, and whose notebook summary is static HTML; `import archsim` stays
cheap (no pandas, numba or plotting until used); the example notebook runs end to end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import archsim

pd = pytest.importorskip("pandas")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_import_archsim_loads_no_heavy_module():
    probe = ("import sys, archsim; archsim.run; archsim.compare; archsim.serve; archsim.sweep; "
             "print(sorted(m for m in ('pandas', 'numba', 'matplotlib', 'rich', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_run_tables_equal_the_result():
    r = archsim.run("h100-sxm", "llama3.1-8b", phase="decode", batch=8, whatif=True)
    ops = r.to_pandas()
    assert len(ops) == len(r.ops) and list(ops["name"]) == [o.name for o in r.ops]
    assert ops["time_s"].tolist() == [o.time_s for o in r.ops]
    layers = r.to_pandas("layers")
    assert layers["time_s"].tolist() == [row["time_s"] for row in r.per_layer]
    assert len(r.to_pandas("resources")) == len(r.resource_groups)
    assert r.whatif  # whatif=True re-simulated
    html = r._repr_html_()
    assert "<script" not in html and "time per output token" in html
    with pytest.raises(ValueError, match="ops, layers, resources"):
        r.to_pandas("kernels")


def test_run_keeps_the_scenario_object_form_and_rejects_unknown_fields():
    a = archsim.run("h100-sxm", "tiny", archsim.Scenario(phase="decode", batch=4))
    b = archsim.run("h100-sxm", "tiny", phase="decode", batch=4)
    assert a.tpot_s == b.tpot_s and not a.whatif
    with pytest.raises(archsim.ArchsimInputError, match="unknown scenario field 'batchsize'"):
        archsim.run("h100-sxm", "tiny", batchsize=4)


def test_compare_matches_the_command_json(tmp_path):
    import json

    from archsim.cli import main

    race = archsim.compare(["h100-sxm", "a100-sxm-80gb"], "tiny", batch=2)
    assert main(["compare", "h100-sxm", "a100-sxm-80gb", "tiny", "--batch", "2", "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads(json.dumps(race.to_dict())) == json.loads((tmp_path / "c.json").read_text())
    df = race.to_pandas()
    assert df["tokens_per_s"].tolist() == [row.result.tokens_per_s for row in race.rows]
    assert "side-by-side" in race._repr_html_()


def test_serve_per_request_frame():
    s = archsim.serve("h100-sxm", "tiny", rate=10, requests=60, prompt_tokens=100, output_tokens=20)
    df = s.to_pandas()
    assert len(df) == 60 and df["ttft_s"].notna().all()
    assert df["ttft_s"].quantile(0.5) == pytest.approx(s.summary["latency"]["ttft_s"]["p50"])
    assert len(s.to_pandas("timeseries")) == len(s.timeseries["time_s"])
    assert "TTFT" in s._repr_html_()


def test_sweep_points_frame(tmp_path):
    db = tmp_path / "s.sqlite"
    w = archsim.sweep(EXAMPLES / "h100_bandwidth_sweep.yaml", db, fidelity="roofline")
    df = w.to_pandas()
    assert len(df) == 9 and set(df["status"]) == {"ok"}
    assert sorted(df["scenario.batch"].unique()) == [1, 8, 64]
    front = w.pareto("tokens_per_s_per_user", "tokens_per_s")
    assert front and db.exists()
    again = archsim.sweep(EXAMPLES / "h100_bandwidth_sweep.yaml", db, fidelity="roofline")  # resumes: runs none
    assert again.summary.ran == 0 and len(again.rows) == 9


def test_example_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXAMPLES / "archsim_tour.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    html = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    assert any("dgx-h100" in h and "groq-lpu-576" in h for h in html)
