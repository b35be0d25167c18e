"""archsim search: spaces, one path with auto, the store (resume), determinism, bad input (docs/mapping.md)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.errors import ArchsimInputError, SpecError
from archsim.search import search
from archsim.search.objectives import parse_objectives, pareto
from archsim.workload.model import Scenario

ROOT = Path(__file__).resolve().parents[1]


def _space(tmp_path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_lpu_search_over_auto_candidates_finds_what_auto_finds(tmp_path):
    """`tp: auto` is the list tsp-static's auto compares, ranked by the same rule: the same split."""
    space = _space(tmp_path, "version: 1\naxes:\n  tp: auto\n")
    r = search("groq-lpu-576", "llama3.1-8b", Scenario(phase="decode"), space, budget=50, db=tmp_path / "s.sqlite")
    assert r.strategy.startswith("exhaustive")
    assert r.best_result.latency_s == r.baseline.latency_s
    assert r.best_mapping["tp"] == r.baseline_mapping["tp"] and r.best_mapping["pp"] == r.baseline_mapping["pp"]
    assert len(r.points) == len(r.space.axes[0].values) > 3


def test_wafer_microbatch_search_finds_what_auto_finds(tmp_path):
    space = _space(tmp_path, "version: 1\naxes:\n  microbatch: auto\n")
    r = search("wse3", "llama3.1-8b", Scenario(phase="decode", batch=4), space, budget=10, db=tmp_path / "s.sqlite")
    assert r.space.axes[0].values == (4, 2, 1)
    assert r.best_result.latency_s == r.baseline.latency_s
    assert r.best_mapping["microbatch"] == r.baseline_mapping["microbatch"]


def test_search_resumes_from_the_store(tmp_path):
    space = _space(tmp_path, "version: 1\naxes:\n  tp: [8, 16, 32]\n  pp: [auto, 4]\n")
    db = tmp_path / "s.sqlite"
    first = search("groq-lpu-576", "llama3.1-8b", Scenario(), space, budget=20, db=db)
    again = search("groq-lpu-576", "llama3.1-8b", Scenario(), space, budget=20, db=db)
    assert first.ran > 0 and again.ran == 0 and again.from_store == len(first.points)  # the checked ones too
    assert [p.key for p in again.points] == [p.key for p in first.points]
    assert again.best.key == first.best.key
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM points").fetchone()
        (members,) = conn.execute("SELECT COUNT(*) FROM sweep_points WHERE sweep = 'search:space'").fetchone()
    assert rows == members == len(first.points)


def test_sampled_search_is_deterministic_and_within_budget(tmp_path):
    space = ROOT / "examples" / "wse3_space.yaml"
    runs = [search("wse3", "llama3.1-8b", Scenario(phase="decode"), space, budget=12, batch=4,
                   db=tmp_path / f"s{i}.sqlite") for i in range(2)]
    assert runs[0].strategy.startswith("optuna TPE")
    assert [p.key for p in runs[0].points] == [p.key for p in runs[1].points]
    counted = [p for p in runs[0].points if p.status != "dropped"]
    assert len(counted) == 12
    # the default's choices are in the space, so the search starts from them: never worse than auto
    assert runs[0].best_result.latency_s <= runs[0].baseline.latency_s


def test_a_space_with_no_valid_point_says_so_before_running(tmp_path):
    space = _space(tmp_path, "version: 1\naxes:\n  region: [100x100, 90x90]\n")
    db = tmp_path / "s.sqlite"
    with pytest.raises(ArchsimInputError, match=r"no valid point in its 2 points \(nothing was run\).*"
                                                r"does not fit wse3 with 100x100 regions"):
        search("wse3", "llama3.1-8b", Scenario(), space, budget=10, db=db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM points").fetchone() == (0,)


def test_bad_space_is_located(tmp_path):
    space = _space(tmp_path, "version: 1\naxes:\n  regoin: [152x168]\n  tree_levels: [1, two]\n"
                             "constraints:\n  - tree_level > 1\n")
    with pytest.raises(SpecError) as info:
        search("wse3", "llama3.1-8b", Scenario(), space, budget=10, db=tmp_path / "s.sqlite")
    got = {(p.line, p.path) for p in info.value.problems}
    assert got == {(3, "axes.regoin"), (4, "axes.tree_levels.1"), (6, "constraints.0")}


def test_constraints_over_keys_and_metrics(tmp_path):
    space = _space(tmp_path, "version: 1\naxes:\n  tp: [8, 32, 64]\nconstraints:\n  - tp < 64\n")
    r = search("groq-lpu-576", "llama3.1-8b", Scenario(), space, budget=10, db=tmp_path / "s.sqlite",
               constraints=("chips_used > 90",))
    status = {p.params["tp"]: (p.status, bool(p.excluded)) for p in r.points}
    assert status[64] == ("dropped", False)  # never run
    assert status[8] == ("ok", True)  # 80 chips: ran, not a result
    assert r.best.params["tp"] == 32 and r.best.metrics["chips_used"] == 96


def test_objectives_and_pareto():
    lat, energy = parse_objectives("latency,energy")
    points = [{"latency_s": 1.0, "energy_per_token_j": 3.0}, {"latency_s": 2.0, "energy_per_token_j": 1.0},
              {"latency_s": 2.0, "energy_per_token_j": 3.0}, {"latency_s": 1.0, "energy_per_token_j": 3.0}]
    front = pareto(points, [lat, energy], lambda m: [lat.value(m), energy.value(m)])
    assert front == [points[0], points[1]]
    with pytest.raises(ArchsimInputError, match="--slo-tpot"):
        parse_objectives("goodput")
    (good,) = parse_objectives("goodput", slo_tpot_s=1e-3)
    assert good.value({"tokens_per_s": 10.0, "tpot_s": 2e-3}) == 0.0
    assert good.value({"tokens_per_s": 10.0, "tpot_s": 5e-4}) == 10.0
    with pytest.raises(ArchsimInputError, match="did you mean 'latency'"):
        parse_objectives("latncy")


def test_search_command_writes_a_mapping_that_run_reproduces(tmp_path, capsys):
    out, db = tmp_path / "best.yaml", tmp_path / "s.sqlite"
    args = ["search", "groq-lpu-576", "llama3.1-8b", "--phase", "decode", "--objective", "latency",
            "--space", str(ROOT / "examples" / "groq_space.yaml"), "--budget", "200", "--db", str(db),
            "--out", str(out), "-q", "-j", "1"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Pareto front over latency (min), energy (min)" in text and "the same latency" in text
    assert main(["run", "groq-lpu-576", "llama3.1-8b", "--no-whatif", "--mapping", str(out)]) == 0
    best = [line for line in text.splitlines() if line.startswith("best latency")][0]
    tpot = [line for line in capsys.readouterr().out.splitlines() if line.startswith("TPOT")][0]
    assert float(tpot.split()[1]) == pytest.approx(float(best.split()[2]), abs=0.051)  # us, printed 364.9 / 364.87


def test_search_command_bad_input_exits_2(tmp_path, capsys):
    space = _space(tmp_path, "version: 1\naxes:\n  tp: [1]\n")
    assert main(["search", "groq-lpu-576", "llama3.1-8b", "--space", str(space), "--db",
                 str(tmp_path / "s.sqlite"), "--objective", "speed"]) == 2
    assert "--objective 'speed' is not one of" in capsys.readouterr().err
    assert main(["search", "groq-lpu-576", "llama3.1-8b", "--space", str(space), "--db",
                 str(tmp_path / "s.sqlite"), "--fidelity", "task", "--budget", "0"]) == 2


@pytest.mark.slow
def test_search_on_a_dask_cluster_gives_the_same_points(tmp_path):
    distributed = pytest.importorskip("distributed")
    space = _space(tmp_path, "version: 1\naxes:\n  tp: [8, 16, 32]\n")
    local = search("groq-lpu-576", "llama3.1-8b", Scenario(), space, budget=10, db=tmp_path / "a.sqlite")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0", silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        remote = search("groq-lpu-576", "llama3.1-8b", Scenario(), space, budget=10, db=tmp_path / "b.sqlite",
                        client=client)
    assert [(p.key, p.metrics["latency_s"]) for p in remote.points] == \
        [(p.key, p.metrics["latency_s"]) for p in local.points]
