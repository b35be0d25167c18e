"""Every validation rule has a broken fixture whose error text we assert."""
from pathlib import Path

import pytest

from archsim.commands.check import check_one
from archsim.errors import ArchsimInputError, SpecError

BROKEN = Path(__file__).parent / "fixtures" / "broken"

# fixture -> fragments the single error message must contain (file:line key.path: what was expected)
CASES = {
    "unknown_key.yaml": [":25: hbm.bandwith: unknown key 'bandwith' (did you mean 'bandwidth'?)",
                         "recognized keys here: capacity, bandwidth, latency"],
    "missing_key.yaml": ["hbm.capacity: missing required key 'capacity': expected a size like '48 KiB'"],
    "bad_unit.yaml": [":25: hbm.bandwidth: unit 'TB' is not a bandwidth", "got '3.35 TB'"],
    "bare_number.yaml": ["hbm.capacity: expected a size with a unit", "(a bare number is ambiguous), got"],
    "wrong_type.yaml": [":11: sm.count: expected an integer, got 'many'"],
    "non_positive.yaml": ["sm.count: must be greater than zero, got 0"],
    "bad_kind.yaml": ["kind: expected one of gpu, mesh, tsp, got 'gpus' (did you mean 'gpu'?)"],
    "bad_version.yaml": [":5: version: expected one of 1, got 2"],
    "yaml_syntax.yaml": ["not valid YAML"],
    "duplicate_key.yaml": [":12: sm.count: duplicate key"],
    "not_mapping.yaml": [":1:", "expected a mapping"],
    "missing_section.yaml": ["hbm: missing section 'hbm'"],
    "unknown_chip_ref.yaml": ["chip:", "unknown chip or system 'h100-sxn' (did you mean 'h100-sxm'?)"],
    "bad_choice.yaml": ["interconnect.topology: expected one of 'switch', 'chain', 'dragonfly', 'all-to-all', "
                        "got 'torus'"],
    "workload_kv_heads.yaml": ["kv_heads: heads (32) must be a multiple of kv_heads (5)"],
    "workload_top_k.yaml": ["top_k: top_k (9) cannot exceed experts (8)"],
    "workload_bad_activation.yaml": ["activation: expected one of 'swiglu', 'gelu', got 'relu'"],
    "many_problems.yaml": ["3 problems in", "sm.count: must be greater than zero, got -1",
                           "hbm.bandwidth: not a number with a unit", "power.tdp: unit 'V' is not a power"],
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_broken_fixture_gives_one_clear_error(fixture):
    path = BROKEN / fixture
    with pytest.raises(ArchsimInputError) as info:
        check_one(str(path))
    text = str(info.value)
    assert str(path) in text, text
    for fragment in CASES[fixture]:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def test_every_fixture_has_a_case():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(CASES)


def test_spec_error_lists_problems_with_lines():
    with pytest.raises(SpecError) as info:
        check_one(str(BROKEN / "many_problems.yaml"))
    assert len(info.value.problems) == 3
    assert all(p.line is not None for p in info.value.problems)
