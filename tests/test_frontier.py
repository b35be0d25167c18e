"""`archsim frontier`: the Pareto helper against a brute-force one, and a smoke run writing the files."""
from __future__ import annotations

import csv

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.sweep.frontier import pareto


def _naive(pairs):
    return sorted((i for i, (x, y) in enumerate(pairs)
                   if not any((a >= x and b >= y) and (a > x or b > y) for a, b in pairs)),
                  key=lambda i: pairs[i][0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.integers(1, 20)), min_size=1, max_size=30, unique=True))
def test_pareto_matches_brute_force(pairs):
    pairs = [(float(x), float(y)) for x, y in pairs]
    assert pareto(pairs) == _naive(pairs)


def test_frontier_writes_plot_and_csv(tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["frontier", "h100-sxm", "groq-lpu", "tiny", "--batches", "1,8,64", "--context-len", "128",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("frontier.png", "frontier.svg", "frontier.csv", "skipped.csv"):
        assert (out / name).stat().st_size > 0
    rows = list(csv.DictReader(open(out / "frontier.csv")))
    assert {r["system"] for r in rows} == {"h100-sxm", "groq-lpu"}
    assert len(rows) + len(list(csv.DictReader(open(out / "skipped.csv")))) == 6
    for metric in ("per_chip", "per_kw", "per_dollar"):
        front = [r for r in rows if metric in r["frontier"].split(";")]
        assert front  # every metric has a frontier, and no frontier point is beaten on both axes
        for f in front:
            assert not any(float(r["per_user"]) > float(f["per_user"]) and float(r[metric]) > float(f[metric])
                           for r in rows)
    per_user = np.array([float(r["per_user"]) for r in rows if r["system"] == "h100-sxm"])
    assert np.all(np.diff(per_user) <= 0)  # a larger batch is never faster per user
    assert "frontier" in text


def test_frontier_lists_skipped_points(tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["frontier", "dgx-h100", "llama3.1-70b", "--batches", "1,2048", "--scales", "0.125,1",
                 "--context-len", "4096", "--out", str(out)]) == 0
    skipped = list(csv.DictReader(open(out / "skipped.csv")))
    assert skipped and all(r["reason"] for r in skipped)
    assert "skipped" in capsys.readouterr().out


def test_frontier_needs_a_system_and_a_workload(tmp_path):
    assert main(["frontier", "tiny", "--out", str(tmp_path)]) == 2
