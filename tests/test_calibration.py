"""The calibration table (archsim/calibration): one entry per model constant, every fit re-runs to the
stored value, fitted cases exist and are listed apart by `archsim validate`."""
from __future__ import annotations

import archsim.calibration as calibration
from archsim.calibration.check import check
from archsim.calibration.table import TABLE
from archsim.cli import main
from archsim.validation.base import load_all_cases, reference_rows


def test_every_module_constant_is_in_the_table_with_its_value():
    names = {c.name: c for c in TABLE}
    for name in calibration.__all__:
        if name.isupper() and name != "TABLE":
            assert names[name].value == getattr(calibration, name), name


def test_fitted_constants_name_real_cases_a_refit_and_their_degrees_of_freedom():
    cases = {c.case_id for c in load_all_cases()}
    for c in TABLE:
        assert c.origin in ("measured", "fitted", "assumed"), c.name
        if c.origin == "fitted":
            assert c.refit and c.cases and set(c.cases) <= cases, c.name
            assert c.dof is not None and c.dof >= 0, c.name
        else:
            assert not c.cases and c.dof is None, c.name
    zero = {c.name for c in TABLE if c.dof == 0}
    assert "CEREBRAS_2024_OVERHEAD_SCALE" in zero  # one constant on one case: reproduces it by construction


def test_every_fit_gives_the_stored_constants_nearby(capsys):
    """The local scope: each stored fitted value beats its neighbours on its own data (the full search,
    `archsim calibrate --check`, takes about two minutes)."""
    rows = check("local")
    moved = [(r.constant.name, r.refitted, r.in_file) for r in rows if not r.ok]
    assert not moved
    assert main(["calibrate", "--check", "--scope", "local", "--family", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "every fit gives the stored constants" in out and "h100-sxm energy.flop.bf16" in out


def test_a_moved_constant_is_reported(monkeypatch):
    import archsim.calibration.check as chk
    from archsim.calibration.table import Constant

    fake = Constant("X", 2.0, "u", "gpu", "fitted", "d", cases=("gpu-h100-gemm-peak",), refit="m:f")
    monkeypatch.setattr(chk, "TABLE", (fake,))
    monkeypatch.setattr(chk.importlib, "import_module", lambda name: type("M", (), {"f": staticmethod(lambda s: {"X": 3.0})}))
    (row,) = chk.check("local")
    assert not row.ok and row.refitted == 3.0


def test_measured_values_come_from_the_reference_csvs_only():
    """Each case's measured value is a row of a shipped CSV (or a ratio of rows), never typed in code."""
    rows = {r["case_id"]: float(r["value"]) for r in reference_rows("published_results.csv")}
    for case in load_all_cases():
        if case.case_id in rows:
            assert case.measured == rows[case.case_id], case.case_id
    for anchor in ("calib-h100-gemm-8192-bf16", "calib-h100-gemm-power", "gpu-h100-power-b1"):
        assert anchor in rows
