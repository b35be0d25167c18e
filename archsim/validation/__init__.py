"""`archsim validate`: every bundled reference case, predicted vs measured.

Cases register themselves per chip family (archsim/validation/<family>.py)
with `@validation_case`; measured values, units and sources come from the
shipped CSVs in archsim/data/reference/, never from the code.
"""
from archsim.validation.base import CASES, Case, CaseResult, reference_row, run_cases, validation_case

__all__ = ["CASES", "Case", "CaseResult", "reference_row", "run_cases", "validation_case"]
