"""`archsim validate`'s summary counts required and reported-only cases apart."""
from archsim.commands.validate import summary_lines
from archsim.validation.base import Case, CaseResult


def _result(case_id, required, within):
    case = Case(case_id, "x", 0.1, required, lambda: 1.0, 1.0, "tok/s", "src", "cmd")
    return CaseResult(case, 1.0 if within else 3.0, 0.0 if within else 2.0, within or not required, within=within)


def test_a_reported_case_outside_its_tolerance_is_named_not_counted_as_a_pass():
    lines = summary_lines([_result("a", True, True), _result("b", False, False), _result("c", False, True)])
    assert lines[0].startswith("1 of 1 required cases within tolerance")
    assert lines[1].startswith("1 of 2 reported-only cases") and lines[1].endswith("outside: b")


def test_a_failing_required_case_is_named():
    lines = summary_lines([_result("a", True, False), _result("b", True, True)])
    assert lines == ["1 of 2 required cases within tolerance; failing: a"]
