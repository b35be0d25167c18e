"""Golden results for a few chip x workload pairs (STYLE habit 7).

A failure means some stage changed what it computes. If the change is
deliberate, regenerate with `python tools/regen_golden.py` and say why in the
commit; never edit the numbers by hand.
"""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "results.json").read_text())
_spec = importlib.util.spec_from_file_location("regen_golden", ROOT / "tools" / "regen_golden.py")
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


@pytest.fixture(scope="module")
def current():
    return regen.compute()


def test_golden_file_covers_every_case():
    assert sorted(GOLDEN) == sorted(c[0] for c in regen.CASES)


@pytest.mark.parametrize("case_id", sorted(GOLDEN))
def test_golden_result_unchanged(current, case_id):
    expected, got = GOLDEN[case_id], current[case_id]
    for key, value in expected.items():
        if isinstance(value, float):
            # Cycle counts are integers and exact; floats only differ in the last bits across platforms.
            assert got[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert got[key] == value, key
