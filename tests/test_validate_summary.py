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


def test_error_lines_give_the_required_median_and_largest_and_the_median_over_every_non_fitted_case():
    from archsim.commands.validate import error_lines

    def result(case_id, required, error, at_least=False):
        case = Case(case_id, "x", 0.2, required, lambda: 1.0, 1.0, "tok/s", "src", "cmd", at_least)
        return CaseResult(case, 1.0 + error, error, abs(error) <= 0.2)

    results = [result("a", True, 0.05), result("b", True, -0.15), result("c", True, 0.10), result("d", False, 0.40),
               result("e", False, -0.30), result("f", True, 5.0, at_least=True),
               result("wafer-decode-8b-420", True, 0.9)]  # fitted: not counted
    assert error_lines(results) == [
        "|error| of required predictions: median 10.0%, largest 15.0% (b); 3 cases",
        "|error| of every non-fitted case (required and reported-only): median 15.0%; 5 cases"]
