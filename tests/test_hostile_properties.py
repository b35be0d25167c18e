"""Hypothesis fuzz of everything a user hands archsim (issue 21): chip files, workload files, sweep
files, --set overrides and sweep constraints. Each property: the input loads (and runs), or it is
an ArchsimInputError that names where the problem is; never another exception, a hang or an
allocation beyond the stated limits (which is what the limits make impossible by construction).

The default run draws a few hundred examples in all (well under 30 s on two cores); the tests
marked `nightly` draw ten times as many: `pytest -m nightly tests/test_hostile_properties.py`.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from archsim.errors import ArchsimInputError
from archsim.hw.load import config_path, load_system
from archsim.pipeline import run
from archsim.spec import parse_override
from archsim.sweep.constraints import ConstraintError, parse_constraint
from archsim.workload.model import Scenario, load_transformer, workload_path

_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def fuzz(examples: int):
    """Settings for a default-run property (`examples`) and its nightly twin (10x)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=_HEALTH, derandomize=False)


def nightly(examples: int):
    return settings(max_examples=10 * examples, deadline=None, suppress_health_check=_HEALTH)


# Values a careless or hostile file holds where a number or a name belongs.
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.sampled_from([2**53, 2**53 + 1, 2**63, -1, 0, 10**23]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["1e23", "1e300", ".nan", "-.inf", "6 TB/s", "6 TB/z", "0 GHz", "1e30 GHz", "2024-01-01",
                     "99999999999999999999 B", "-5 W", "1.5", "auto"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
# YAML text a value can be replaced by, verbatim (tags, anchors, dates): what safe_dump cannot write.
RAW_YAML = st.sampled_from(["!!binary aGVsbG8=", "2024-01-01", "&a [*a]", "!!python/object:os.system x",
                            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                            "{a: {b: {c: 1}}}", "=", "!!float .inf", "9" * 5000, "'" + "x" * 3000 + "'",
                            "!!set {a, b}", "<<: *missing", "*undefined"])

CHIPS = ["h100-sxm", "wse2", "groq-lpu", "dgx-h100", "groq-lpu-576"]
CHIP_DATA = {name: yaml.safe_load(config_path(name).read_text()) for name in CHIPS}


def _leaf_paths(node, prefix=()):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaf_paths(value, prefix + (key,))
        else:
            yield prefix + (key,)


LEAVES = {name: list(_leaf_paths(data)) for name, data in CHIP_DATA.items()}


def _expect_clear(exc: ArchsimInputError, *names: str) -> None:
    text = str(exc)
    assert text.strip(), "an empty error message"
    assert "Traceback" not in text
    if names:
        assert any(n in text for n in names), f"none of {names} in:\n{text[:500]}"


def _write(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="archsim-fuzz-"))
    path = folder / "fuzzed.yaml"
    path.write_text(text)
    return path


def _try_run(chip, workload: str, scenario: Scenario, **kwargs) -> None:
    try:
        result = run(chip, workload, scenario, **kwargs)
    except ArchsimInputError as exc:
        _expect_clear(exc)
        return
    assert result.latency_s > 0 and math.isfinite(result.latency_s)
    if result.cost_per_million_tokens is not None:
        assert math.isfinite(result.cost_per_million_tokens) and result.cost_per_million_tokens >= 0


# ---------------------------------------------------------------- chip files
@st.composite
def chip_files(draw):
    """A bundled chip or system file with a few values replaced by junk, raw YAML or extra keys."""
    name = draw(st.sampled_from(CHIPS))
    data = yaml.safe_load(config_path(name).read_text())
    raw = None
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(LEAVES[name]))
        node = data
        for key in path[:-1]:
            node = node[key]
        if draw(st.integers(0, 4)) == 0:
            node[path[-1]] = "__RAW__"
            raw = draw(RAW_YAML)
        else:
            node[path[-1]] = draw(JUNK)
    if draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if raw is not None:
        text = text.replace("__RAW__", raw.replace("\n", " "), 1)
    return name, text


def _check_chip_file(case) -> None:
    name, text = case
    path = _write(text)
    try:
        system = load_system(str(path))
    except ArchsimInputError as exc:
        _expect_clear(exc, "fuzzed.yaml", "cannot read")
        return
    scenario = Scenario(phase="decode", context_len=128)
    _try_run(system, "tiny", scenario, fidelity="roofline")
    if system.kind == "gpu" and system.count == 1:
        _try_run(system, "tiny", scenario)


@fuzz(120)
@given(chip_files())
def test_fuzzed_chip_files_load_run_or_fail_clearly(case):
    _check_chip_file(case)


@pytest.mark.nightly
@nightly(120)
@given(chip_files())
def test_fuzzed_chip_files_nightly(case):
    _check_chip_file(case)


# Valid but extreme values of each kind of field: the run path, not the validator, must cope.
EXTREMES = {
    "bytes": ["1 B", "1 KiB", "80 GB", "1 PB", "9e18 B"], "frequency": ["1 Hz", "1 kHz", "1.8 GHz", "1e9 GHz"],
    "bandwidth": ["1 B/s", "1 GB/s", "1000 TB/s", "9e18 B/s"], "bytes_per_cycle": ["1 b/cycle", "4 B/cycle",
                                                                                   "1 MB/cycle"],
    "time": ["1 ps", "500 ns", "1 s", "1000 s"], "flops": ["1 FLOP/s", "1 TFLOP/s", "1e6 TFLOP/s"],
    "power": ["1 mW", "700 W", "1 MW"], "energy_per_byte": ["0 pJ/bit", "1 fJ/bit", "1 J/bit"],
    "energy_per_op": ["0 pJ/FLOP", "1 nJ/FLOP"], "energy": ["1 fJ", "1 J"],
}


def _schema_fields(schema, prefix=()):
    from archsim.spec import Field

    for key, value in schema.items():
        if isinstance(value, Field):
            yield prefix + (key,), value
        else:
            yield from _schema_fields(value, prefix + (key,))


@st.composite
def extreme_chips(draw):
    """A bundled chip with a few values set to valid extremes (each passes its field's check)."""
    from archsim.hw.schema import chip_schema, system_schema

    name = draw(st.sampled_from(CHIPS))
    data = yaml.safe_load(config_path(name).read_text())
    is_system = data["kind"] == "system"
    schema = system_schema() if is_system else chip_schema(data["kind"])
    fields = [(p, f) for p, f in _schema_fields(schema) if p[0] not in ("version", "kind", "name", "chip")]
    sets = []
    for _ in range(draw(st.integers(1, 4))):
        path, f = draw(st.sampled_from(fields))
        if f.kind in EXTREMES:
            value = draw(st.sampled_from(EXTREMES[f.kind]))
        elif f.kind == "int":
            low = 2 if f.minimum == 2 else (0 if f.minimum == 0 else 1)
            value = draw(st.sampled_from([low, low + 1, 3, 7, 64, int(f.maximum or 2**20)]))
        elif f.kind == "float":
            value = draw(st.sampled_from([f.minimum or 0.001, 1.0, f.maximum or 1e6]))
        elif f.kind in ("choice", "bool"):
            value = draw(st.sampled_from(list(f.choices) if f.kind == "choice" else [True, False]))
        else:
            continue
        sets.append((".".join(path), value))
    return name, sets


def _check_extreme_chip(case, fidelity: str) -> None:
    name, sets = case
    try:
        system = load_system(name, sets)
    except ArchsimInputError as exc:
        _expect_clear(exc)  # e.g. a positive field given its own minimum 0
        return
    _try_run(system, "tiny", Scenario(context_len=64), fidelity=fidelity)
    _try_run(system, "tiny", Scenario(phase="prefill", prompt_len=64), fidelity="roofline")


@fuzz(40)
@given(extreme_chips())
def test_chips_with_extreme_valid_values_run_or_fail_clearly(case):
    _check_extreme_chip(case, "task")


@pytest.mark.nightly
@nightly(40)
@given(extreme_chips(), st.sampled_from(["roofline", "task", "cycle"]))
def test_chips_with_extreme_valid_values_nightly(case, fidelity):
    _check_extreme_chip(case, fidelity)


# ---------------------------------------------------------------- workload files
WORKLOAD_KEYS = ["layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab", "max_context", "experts",
                 "top_k", "activation", "norm", "tied_embeddings", "source", "name", "kind", "version"]
SIZES = st.one_of(st.integers(min_value=-3, max_value=64), st.sampled_from([2**14, 2**20, 2**24, 2**24 + 1, 10**6,
                                                                          10**9, 2**53, 2**63, 10**40]))


@st.composite
def workload_files(draw):
    data = yaml.safe_load(workload_path("tiny").read_text())
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(WORKLOAD_KEYS))
        data[key] = draw(st.one_of(SIZES, JUNK))
    if draw(st.booleans()):
        data.pop(draw(st.sampled_from(WORKLOAD_KEYS)), None)
    scenario = draw(st.builds(Scenario, phase=st.sampled_from(["prefill", "decode"]),
                              batch=st.sampled_from([1, 3, 64, 2**20]),
                              prompt_len=st.sampled_from([1, 17, 128, 4096]),
                              context_len=st.sampled_from([1, 100, 2047, 2**24])))
    return yaml.safe_dump(data, sort_keys=False), scenario, draw(st.sampled_from(["h100-sxm", "wse2", "groq-lpu"]))


def _check_workload_file(case) -> None:
    text, scenario, chip = case
    path = _write(text)
    try:
        model = load_transformer(str(path))
    except ArchsimInputError as exc:
        _expect_clear(exc, "fuzzed.yaml", "cannot read")
        return
    small = model.layers * model.hidden * model.vocab <= 2**28 and scenario.batch < 2**20
    _try_run(chip, str(path), scenario, fidelity="roofline" if not small else "task")


@fuzz(80)
@given(workload_files())
def test_fuzzed_workload_files_load_run_or_fail_clearly(case):
    _check_workload_file(case)


@pytest.mark.nightly
@nightly(80)
@given(workload_files())
def test_fuzzed_workload_files_nightly(case):
    _check_workload_file(case)


# ---------------------------------------------------------------- --set overrides
@st.composite
def overrides(draw):
    chip = draw(st.sampled_from(CHIPS))
    sets = []
    for _ in range(draw(st.integers(1, 3))):
        path = ".".join(draw(st.sampled_from(LEAVES[chip])))
        if draw(st.integers(0, 5)) == 0:
            path = draw(st.sampled_from(["chip.sm.count", "chip.hbm.bandwidth", "nope", "hbm", "hbm.bandwith",
                                         "interconnect.group_size", "price.pue", "grid.width", "kind", "name"]))
        value = draw(st.one_of(JUNK.map(lambda v: yaml.safe_dump(v).strip().removesuffix("...").strip()),
                               RAW_YAML, st.text(max_size=12)))
        sets.append(f"{path}={value}")
    return chip, sets


def _check_overrides(case) -> None:
    chip, texts = case
    try:
        system = load_system(chip, [parse_override(t) for t in texts])
    except ArchsimInputError as exc:
        _expect_clear(exc)
        return
    _try_run(system, "tiny", Scenario(context_len=64), fidelity="roofline")


@fuzz(120)
@given(overrides())
def test_fuzzed_overrides_apply_or_fail_clearly(case):
    _check_overrides(case)


@pytest.mark.nightly
@nightly(120)
@given(overrides())
def test_fuzzed_overrides_nightly(case):
    _check_overrides(case)


# ---------------------------------------------------------------- sweep files
AXES = ["scenario.batch", "scenario.context_len", "scenario.prompt_len", "scenario.phase", "chip.hbm.bandwidth",
        "chip.sm.count", "options.tp", "chip", "workload", "scenario.bach", "system.count", "nonsense"]
ENDS = st.one_of(st.integers(-5, 10**10), st.sampled_from([float("inf"), float("nan"), 1e308, -1e308, 0.5]),
                 st.sampled_from(["1 TB/s", "5 TB/s", "1 GB/s", "x"]))
RANGES = st.fixed_dictionaries({"start": ENDS, "stop": ENDS}, optional={
    "num": st.one_of(st.integers(-2, 10**10), JUNK), "step": ENDS, "factor": st.one_of(ENDS, JUNK),
    "scale": st.sampled_from(["log", "linear", "cubic"])})
AXIS_VALUES = st.one_of(RANGES, st.lists(st.one_of(st.integers(0, 10**6), st.sampled_from(
    ["decode", "prefill", "h100-sxm", "wse2", "tiny", "2 TB/s", "auto", "4"]), JUNK), max_size=5), JUNK)


@st.composite
def expressions(draw, depth=0):
    """Small constraint expressions, hostile ones included (huge powers, repetition, deep nesting)."""
    leaves = st.one_of(st.integers(-10, 10**6), st.sampled_from(["9", "10**10", "'a'", "[1, 2]", "1e308",
                                                                    "scenario.batch", "chip", "True"]).map(str))
    if depth > 4 or draw(st.integers(0, 3)) == 0:
        return str(draw(leaves))
    op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", "in", "and", "or"]))
    if draw(st.integers(0, 6)) == 0:
        return "not " * draw(st.integers(1, 60)) + draw(expressions(depth + 1))
    return f"({draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))})"


@st.composite
def sweep_files(draw):
    data = {"version": draw(st.sampled_from([1, 1, 1, 2])), "chip": "h100-sxm", "workload": "tiny",
            "fidelity": "roofline"}
    data["axes"] = {draw(st.sampled_from(AXES)): draw(AXIS_VALUES) for _ in range(draw(st.integers(0, 3)))}
    if draw(st.booleans()):
        data["constraints"] = [draw(expressions()) for _ in range(draw(st.integers(1, 2)))]
    if draw(st.integers(0, 4)) == 0:
        data["combine"] = draw(st.sampled_from(["zip", "product", "cartesian"]))
    return yaml.safe_dump(data, sort_keys=False)


def _check_sweep_file(text: str) -> None:
    from archsim.sweep.spec import load_sweep

    path = _write(text)
    try:
        spec = load_sweep(path)
        kept, dropped = spec.size()
    except ArchsimInputError as exc:
        _expect_clear(exc, "fuzzed.yaml")
        return
    from archsim.limits import MAX_SWEEP_POINTS

    assert kept + dropped <= MAX_SWEEP_POINTS


@fuzz(120)
@given(sweep_files())
def test_fuzzed_sweep_files_load_or_fail_clearly(text):
    _check_sweep_file(text)


@pytest.mark.nightly
@nightly(120)
@given(sweep_files())
def test_fuzzed_sweep_files_nightly(text):
    _check_sweep_file(text)


def _check_constraint(text: str) -> None:
    env = {"scenario.batch": 8, "chip": "h100-sxm"}
    try:
        holds = parse_constraint(text).holds(env)
    except ConstraintError as exc:
        assert str(exc)
        return
    assert isinstance(holds, bool)


@fuzz(150)
@given(expressions())
def test_fuzzed_constraints_evaluate_or_fail_clearly(text):
    _check_constraint(text)


@pytest.mark.nightly
@nightly(150)
@given(expressions())
def test_fuzzed_constraints_nightly(text):
    _check_constraint(text)


# ---------------------------------------------------------------- more hardware is never slower
TOTALS = {"compute.bf16": (989, "TFLOP/s"), "compute.fp32": (67, "TFLOP/s"), "l2.bandwidth": (10, "TB/s"),
          "hbm.bandwidth": (3.35, "TB/s")}


@fuzz(12)
@given(key=st.sampled_from(sorted(TOTALS)), factor=st.sampled_from([1.5, 2.0, 4.0, 16.0]),
       workload=st.sampled_from(["tiny", "gemm:333x777x999", "gemm:4096x4096x1024"]),
       phase=st.sampled_from(["decode", "prefill"]))
def test_raising_a_chip_total_never_slows_a_run(key, factor, workload, phase):
    """compute.*, l2.bandwidth and hbm.bandwidth are the chip's totals: more of one is never slower.
    (sm.count is not a total: it splits them, and the report says so; docs/limits.md.)"""
    value, unit = TOTALS[key]
    scenario = Scenario(phase=phase, prompt_len=256, context_len=256)
    base = run("h100-sxm", workload, scenario)
    more = run("h100-sxm", workload, scenario, overrides=[(key, f"{value * factor:g} {unit}")])
    assert more.latency_s <= base.latency_s * (1 + 1e-9)
