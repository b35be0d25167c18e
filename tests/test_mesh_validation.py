"""The mesh family's validation cases pass, and the calibrated constants are what the documented fit gives."""
from __future__ import annotations

import pytest

from archsim.families.mesh.mapper.costs import CEREBRAS_2024_OVERHEAD_SCALE, MESSAGE_OVERHEAD_CYCLES, VECTOR_OVERHEAD_CYCLES
from archsim.validation.base import load_all_cases, run_case

MESH_CASES = sorted(c.case_id for c in load_all_cases() if c.family == "mesh")


def test_every_published_wafer_row_has_a_case():
    from archsim.validation.base import reference_rows

    wafer_rows = {r["case_id"] for r in reference_rows("published_results.csv") if r["chip"] in ("wse2", "wse3")}
    assert wafer_rows <= set(MESH_CASES)


@pytest.mark.parametrize("case_id", MESH_CASES)
def test_mesh_case_within_tolerance(case_id):
    case = next(c for c in load_all_cases() if c.case_id == case_id)
    result = run_case(case)
    assert result.predicted is not None, result.message
    assert result.passed, f"{case_id}: predicted {result.predicted:.4g}, measured {case.measured:.4g}"


def test_gather_ratio_is_one_sided_at_three():
    case = next(c for c in load_all_cases() if c.case_id == "wafer-gather-vs-mesh-decode")
    assert case.at_least and case.measured * (1 - case.tolerance) == pytest.approx(3.0)


def test_shipped_constants_are_the_fit_optimum_nearby():
    """docs/wafer.md: beta and sigma minimise the worst WaferLLM error (ties: mean square)."""
    from archsim.families.mesh.validation import calibrate

    b, s = MESSAGE_OVERHEAD_CYCLES, VECTOR_OVERHEAD_CYCLES
    best = calibrate((b - 1, b, b + 1), (s - 1, s, s + 1))[0]
    assert (best[1], best[2]) == (b, s)


def test_cerebras_scale_is_fitted_on_8b_only():
    from archsim.families.mesh.validation import calibrate_cerebras

    k = CEREBRAS_2024_OVERHEAD_SCALE
    ranked = calibrate_cerebras(MESSAGE_OVERHEAD_CYCLES, VECTOR_OVERHEAD_CYCLES, (k - 0.05, k, k + 0.05))
    assert ranked[0][1] == pytest.approx(k)
