"""`archsim validate` counts predictions, reported-only cases and fitted cases apart: a fitted case or a
low-confidence reference is never counted as evidence, and a reported case far off is named."""
from archsim.commands.validate import summary_lines
from archsim.validation.base import Case, CaseResult


def _result(case_id, required, within):
    case = Case(case_id, "x", 0.1, required, lambda: 1.0, 1.0, "tok/s", "src", "cmd")
    return CaseResult(case, 1.0 if within else 3.0, 0.0 if within else 2.0, within)


def test_a_reported_case_outside_its_tolerance_is_named_not_counted_as_a_pass():
    lines = summary_lines([_result("a", True, True), _result("b", False, False), _result("c", False, True)])
    assert lines[0] == "1 of 1 required predictions within tolerance"
    assert lines[1].startswith("1 of 2 reported-only cases") and lines[1].endswith("outside: b")


def test_a_failing_required_case_is_named_and_fails_the_run():
    results = [_result("a", True, False), _result("b", True, True)]
    assert summary_lines(results) == ["1 of 2 required predictions within tolerance; failing: a"]
    assert [r.fails_run for r in results] == [True, False]


def test_a_reported_case_outside_never_fails_the_run_but_is_not_passed():
    r = _result("b", False, False)
    assert not r.passed and not r.fails_run


def test_fitted_cases_are_listed_apart_from_the_predictions():
    """wafer-decode-8b-420 is in the calibration table's fit of beta and sigma."""
    fitted = _result("wafer-decode-8b-420", True, True)
    assert fitted.group == "fitted" and "MESSAGE_OVERHEAD_CYCLES" in fitted.case.calibrates
    lines = summary_lines([fitted, _result("a", True, True)])
    assert lines == ["1 of 1 required predictions within tolerance",
                     "1 fitted cases listed apart, not counted as evidence"]
