"""Sweep files: one broken fixture per validation rule, and how axes expand into points."""
from pathlib import Path

import pytest

from archsim.errors import SpecError
from archsim.sweep.constraints import ConstraintError, parse_constraint
from archsim.hw.load import config_path
from archsim.sweep.spec import load_sweep

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"

# fixture -> fragments the error must contain (file:line key.path: what was expected)
CASES = {
    "unknown_key.yaml": [":4: axis: unknown key 'axis' (did you mean 'axes'?)", "recognized keys here: version"],
    "bad_version.yaml": [":1: version: expected one of 1, got 2"],
    "yaml_syntax.yaml": ["not valid YAML"],
    "not_mapping.yaml": [":1:", "expected a mapping"],
    "missing_chip.yaml": ["chip: missing: give a base `chip:` or a `chip` axis"],
    "missing_workload.yaml": ["workload: missing: give a base `workload:` or a `workload` axis"],
    "unknown_chip.yaml": [":2: chip: unknown chip or system 'h100-sxn' (did you mean 'h100-sxm'?)"],
    "unknown_chip_in_axis.yaml": [":4: axes.chip.2: unknown chip or system 'b20' (did you mean 'b200'?)"],
    "unknown_workload.yaml": [":3: workload: unknown workload 'llama3.1-8c' (did you mean 'llama3.1-8b'?)"],
    "unknown_axis.yaml": [":5: axes.scenario.bach: unknown axis 'scenario.bach' (did you mean 'scenario.batch'?)",
                          "axes are chip, workload, chip.<key path>"],
    "unknown_axis_prefix.yaml": [":5: axes.scenrio.batch: unknown axis 'scenrio.batch' (did you mean 'scenario'?)"],
    "unknown_chip_key.yaml": [":5: axes.chip.hbm.bandwith: no key 'bandwith' at hbm (did you mean 'bandwidth'?)"],
    "bad_chip_value.yaml": [":7: axes.chip.hbm.bandwidth.1: unit 'TB' is not a bandwidth", "got '3 TB'"],
    "bad_scenario_value.yaml": [":5: axes.scenario.batch.1: must be greater than zero, got 0"],
    "bad_scenario_choice.yaml": [":5: axes.scenario.phase.1: expected one of 'prefill', 'decode', got 'decod' "
                                 "(did you mean 'decode'?)"],
    "unknown_scenario_key.yaml": [":6: scenario.batchsize: unknown key 'batchsize' (did you mean 'batch'?)"],
    "axis_not_list.yaml": [":5: axes.scenario.batch: expected a list of values or a range", "got 8"],
    "axis_empty.yaml": [":5: axes.scenario.batch: needs at least one value"],
    "axis_duplicate_value.yaml": [":5: axes.scenario.batch: a value appears twice"],
    "axis_nested_value.yaml": [":5: axes.scenario.batch.1: expected a single value"],
    "range_unknown_key.yaml": [":5: axes.scenario.batch.factr: unknown key 'factr' (did you mean 'factor'?)"],
    "range_two_ways.yaml": [":5: axes.scenario.batch: a range needs exactly one of step, num or factor, got step, num"],
    "range_unit_mismatch.yaml": [":5: axes.chip.hbm.bandwidth.stop: unit 'TB/s' differs from start's unit 'GB/s'"],
    "range_never_reaches.yaml": [":5: axes.scenario.batch.step: step 8 never reaches stop 1 from start 64"],
    "range_log_needs_num.yaml": [":5: axes.scenario.batch.scale: scale: log goes with num"],
    "zip_lengths.yaml": [":4: combine: zip needs every axis to have the same number of values",
                         "scenario.batch: 3, scenario.context_len: 2"],
    "bad_combine.yaml": [":4: combine: expected one of 'product', 'zip', got 'cartesian'"],
    "bad_fidelity.yaml": [":4: fidelity: expected one of 'roofline', 'task', 'cycle', got 'fast'"],
    "constraint_syntax.yaml": [":7: constraints.0: not a valid expression"],
    "constraint_unknown_name.yaml": [":7: constraints.0: unknown name 'scenario.bach' "
                                     "(did you mean 'scenario.batch'?)"],
    "constraint_call.yaml": [":7: constraints.0: call is not allowed"],
    "constraint_type.yaml": [":7: constraints.0: cannot evaluate"],
    "constraint_not_bool.yaml": [":7: constraints.0: 'scenario.batch * 2' must be true or false, got 2"],
    "constraint_drops_all.yaml": [":7: constraints: the constraints drop every point of the sweep"],
    "unknown_option.yaml": [":5: options: mapper 'aggregate' has no option 'tpp'"],
    "unknown_mapper.yaml": [":4: mapper: unknown mapper 'agregate' (did you mean 'aggregate'?)"],
    "system_axis_on_chip.yaml": [":5: axes.system.count: 'h100-sxm' is a single chip"],
    # issue 21: a constraint or a range cannot hang, exhaust memory or crash
    "constraint_power_tower.yaml": [":8: constraints.0: 9 ** 387420489 is too large (more than 2**1024)"],
    "constraint_string_repeat.yaml": [":8: constraints.0: repeating a str 10000000000 times makes more than 10,000"],
    "constraint_list_repeat.yaml": [":8: constraints.0: repeating a list 10000000000 times makes more than 10,000"],
    "constraint_string_format.yaml": [":8: constraints.0: % on a string (formatting) is not allowed"],
    "constraint_nested_not.yaml": [":8: constraints.0: is nested too deeply; a constraint nests at most 32 levels"],
    "range_num_huge.yaml": [":5: axes.scenario.batch.num: a range of 1,000,000,000 values is over archsim's limit "
                            "of 100,000 per axis"],
    "range_stop_inf.yaml": [":5: axes.scenario.batch.stop: expected a finite number, got inf"],
    "range_stop_nan.yaml": [":5: axes.scenario.batch.stop: expected a finite number, got nan"],
    "too_many_points.yaml": [":4: axes: the sweep has 10,000,000,000 points (100,000 (scenario.batch) x 100,000 "
                             "(scenario.prompt_len)); archsim runs at most 100,000 per sweep"],
    # serving sweeps (archsim/sweep/serving.py): the serving block and serving.<key> axes
    "serving_unknown_key.yaml": [":6: axes.serving.scheduler.max_seq: unknown serving key 'scheduler.max_seq' "
                                 "(did you mean 'scheduler.max_seqs'?)", "keys of scheduler: policy, max_seqs"],
    "serving_value_type.yaml": [":8: axes.serving.max_seqs.1: expected an integer, got 'many'"],
    "serving_axis_without_block.yaml": [":5: axes.serving.arrivals.rate: a serving axis needs a `serving:` block"],
    "serving_block_unknown_key.yaml": [":9: serving.scheduler.polcy: unknown key 'polcy' (did you mean 'policy'?)"],
    "serving_block_not_mapping.yaml": [":4: serving: expected a mapping of keys, got int 5"],
    "serving_block_rule.yaml": [":5: serving.arrivals.rate: a poisson process needs a rate"],
    "serving_combination.yaml": [":4: serving.kv_cache.swap_space: preemption by swap needs host memory",
                                 "(at serving.kv_cache.preemption=swap)"],
    "serving_combination_axis.yaml": [":6: serving.prompt.min: a uniform distribution needs min and max "
                                      "(at serving.prompt.distribution=uniform)"],
    "serving_find_max_rate_no_slo.yaml": [":4: find_max_rate: the rate search needs an SLO"],
    "serving_find_max_rate_rate_axis.yaml": [":7: axes.serving.rate: find_max_rate searches the arrival rate itself"],
    "serving_find_max_rate_without_block.yaml": [":4: find_max_rate: find_max_rate needs a `serving:` block"],
    "serving_axis_twice.yaml": [":7: axes.serving.rate: sets arrivals.rate, as axis 'serving.arrivals.rate' does"],
    "serving_rate_tolerance_alone.yaml": [":4: rate_tolerance: rate_tolerance is the width of the rate search"],
    "serving_mapper.yaml": [":4: mapper: serving times iterations with the family's default mapper"],
    "serving_step_scenario.yaml": ["2 problems", ":4: scenario.batch: a serving point takes only the dtypes",
                                   ":7: axes.scenario.context_len: a serving point takes only the dtypes"],
    "many_problems.yaml": ["3 problems in", ":4: fidelity:", ":6: axes.scenario.batch.1: must be greater than zero",
                           ":7: axes.chip.hbm.bandwith: no key 'bandwith'"],
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_broken_sweep_file_gives_one_clear_error(fixture):
    path = FIXTURES / fixture
    with pytest.raises(SpecError) as info:
        load_sweep(path)
    text = str(info.value)
    assert str(path) in text, text
    for fragment in CASES[fixture]:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def test_every_fixture_has_a_case():
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(CASES)


def _write(tmp_path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text("version: 1\nchip: h100-sxm\nworkload: tiny\nfidelity: roofline\n" + body)
    return path


def test_product_in_axis_order_last_axis_fastest(tmp_path):
    spec = load_sweep(_write(tmp_path, "axes:\n  chip.hbm.bandwidth: ['2 TB/s', '4 TB/s']\n"
                                       "  scenario.batch: [1, 8, 64]\n"))
    points = spec.points()
    assert [tuple(p.params.values()) for p in points] == [
        ("2 TB/s", 1), ("2 TB/s", 8), ("2 TB/s", 64), ("4 TB/s", 1), ("4 TB/s", 8), ("4 TB/s", 64)]
    assert points[4].overrides == (("chip.hbm.bandwidth", "4 TB/s"),)
    assert points[4].scenario["batch"] == 8 and points[4].fidelity == "roofline"
    assert len({p.key for p in points}) == 6


def test_zip_pairs_axes(tmp_path):
    spec = load_sweep(_write(tmp_path, "combine: zip\naxes:\n  scenario.batch: [1, 8]\n"
                                       "  scenario.context_len: [128, 1024]\n"))
    assert [p.params for p in spec.points()] == [{"scenario.batch": 1, "scenario.context_len": 128},
                                                 {"scenario.batch": 8, "scenario.context_len": 1024}]


@pytest.mark.parametrize("text,values", [
    ("{start: 1, stop: 64, factor: 2}", [1, 2, 4, 8, 16, 32, 64]),
    ("{start: 128, stop: 1024, step: 384}", [128, 512, 896]),
    ("{start: 1, stop: 100, num: 3, scale: log}", [1, 10, 100]),
    ("{start: 1, stop: 4, num: 7, scale: log}", [1, 2, 3, 4]),  # integers: rounded, repeats dropped
    ("{start: '1 TB/s', stop: '2 TB/s', num: 3}", ["1 TB/s", "1.5 TB/s", "2 TB/s"]),
    ("{start: '100 GB/s', stop: '400 GB/s', step: '150 GB/s'}", ["100 GB/s", "250 GB/s", "400 GB/s"]),
])
def test_ranges(tmp_path, text, values):
    axis = "chip.hbm.bandwidth" if "B/s" in text else "scenario.batch"
    spec = load_sweep(_write(tmp_path, f"axes:\n  {axis}: {text}\n"))
    assert list(spec.axes[0].values) == values


def test_constraints_drop_points_and_see_parsed_units(tmp_path):
    spec = load_sweep(_write(tmp_path, "axes:\n  chip.hbm.bandwidth: ['2 TB/s', '4 TB/s']\n"
                                       "  scenario.batch: [1, 8, 64]\n"
                                       "constraints:\n  - scenario.batch < 64 or chip.hbm.bandwidth > 3e12\n"))
    assert spec.size() == (5, 1)
    assert {"chip.hbm.bandwidth": "2 TB/s", "scenario.batch": 64} not in [p.params for p in spec.points()]


def test_key_is_the_effective_configuration(tmp_path):
    """Same configuration, same key, however the file is written; a changed value, a new key."""
    a = load_sweep(_write(tmp_path, "axes:\n  scenario.batch: [1, 8]\n  chip.hbm.bandwidth: ['2 TB/s']\n"))
    b_path = tmp_path / "b.yaml"
    b_path.write_text("version: 1\nname: other\nworkload: tiny\nchip: h100-sxm\nfidelity: roofline\n"
                      "scenario: {context_len: 1024}\n"
                      "axes:\n  chip.hbm.bandwidth: ['2 TB/s', '3 TB/s']\n  scenario.batch: [8, 1]\n")
    b = load_sweep(b_path)
    keys_a = {p.key for p in a.points()}
    assert keys_a < {p.key for p in b.points()}
    assert {p.key for p in a.points("task")}.isdisjoint(keys_a)  # fidelity is part of the configuration


def test_chip_paths_are_relative_to_the_sweep_file(tmp_path):
    chip = config_path("h100-sxm").read_text()
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "mine.yaml").write_text(chip.replace("name: h100-sxm", "name: mine"))
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nworkload: tiny\naxes:\n  chip: [chips/mine.yaml, h100-sxm]\n")
    points = load_sweep(path).points()
    assert points[0].chip == str((tmp_path / "chips" / "mine.yaml").resolve())
    assert points[0].key != points[1].key  # the name differs, so the effective configuration does


def test_constraint_evaluator_refuses_everything_but_expressions():
    assert parse_constraint("chip in ['a', 'b'] and not scenario.batch % 2").holds(
        {"chip": "a", "scenario.batch": 4})
    for text in ("__import__('os')", "(lambda: 1)()", "[x for x in y]", "a.b.c()", "x[0]", "x if y else z"):
        with pytest.raises(ConstraintError):
            parse_constraint(text)
