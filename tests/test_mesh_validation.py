"""The mesh family's validation cases pass, and the calibrated constants are what the documented fit gives."""
from __future__ import annotations

import pytest

from archsim.validation.base import load_all_cases, run_case
from validation_expectations import check_case

MESH_CASES = sorted(c.case_id for c in load_all_cases() if c.family == "mesh")


def test_every_published_wafer_row_has_a_case():
    from archsim.validation.base import reference_rows

    wafer_rows = {r["case_id"] for r in reference_rows("published_results.csv") if r["chip"] in ("wse2", "wse3")}
    assert wafer_rows <= set(MESH_CASES)


@pytest.mark.parametrize("case_id", MESH_CASES)
def test_mesh_case_within_tolerance(case_id):
    case = next(c for c in load_all_cases() if c.case_id == case_id)
    check_case(run_case(case))


def test_gather_ratio_is_one_sided_at_three():
    case = next(c for c in load_all_cases() if c.case_id == "wafer-gather-vs-mesh-decode")
    assert case.at_least and case.measured * (1 - case.tolerance) == pytest.approx(3.0)
