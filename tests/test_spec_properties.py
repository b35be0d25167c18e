"""Hypothesis: random valid chip specs load and round-trip; random malformed
YAML always gives archsim's clear error, never another exception."""
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from archsim.errors import ArchsimInputError
from archsim.hw.load import config_path
from archsim.spec import load_yaml, validate
from archsim.hw.schema import chip_schema

GPU_SCHEMA = chip_schema("gpu")
BASE_TEXT = config_path("h100-sxm").read_text()
BASE, _ = load_yaml(BASE_TEXT, "h100-sxm.yaml")

positive = st.integers(min_value=1, max_value=10**6)
prefixes = st.sampled_from(["", "K", "M", "G", "T", "Ki", "Mi", "Gi"])


@st.composite
def valid_gpu_dicts(draw):
    data = yaml.safe_load(BASE_TEXT)
    data["sm"]["count"] = draw(positive)
    cap_num, cap_prefix = draw(positive), draw(prefixes)
    data["hbm"]["capacity"] = f"{cap_num} {cap_prefix}B"
    data["hbm"]["bandwidth"] = f"{draw(positive)} {draw(st.sampled_from(['G', 'T']))}B/s"
    data["clock"] = f"{draw(positive)} MHz"
    if draw(st.booleans()):
        data["compute"].pop("fp8")
    return data, cap_num, cap_prefix


@settings(max_examples=60, deadline=None)
@given(valid_gpu_dicts())
def test_random_valid_specs_load_and_round_trip(case):
    data, cap_num, cap_prefix = case
    text = yaml.safe_dump(data, sort_keys=False)
    loaded, lines = load_yaml(text, "random.yaml")
    spec = validate(loaded, GPU_SCHEMA, "random.yaml", lines)
    scale = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    assert spec.hbm.capacity == cap_num * scale[cap_prefix]
    assert spec.sm.count == data["sm"]["count"]
    # Round trip: the YAML of the loaded data validates to the same frozen spec.
    again, lines2 = load_yaml(yaml.safe_dump(loaded, sort_keys=False), "again.yaml")
    assert validate(again, GPU_SCHEMA, "again.yaml", lines2) == spec


def _mutations():
    leaf_paths = []

    def walk(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, path + [key])
            else:
                leaf_paths.append(path + [key])

    walk(BASE, [])
    junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                                          max_size=2))
    return st.tuples(st.sampled_from(leaf_paths), junk, st.text(max_size=10))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_malformed_values_give_clear_errors(mutation):
    path, value, extra_key = mutation
    data = yaml.safe_load(BASE_TEXT)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    if extra_key:
        data[extra_key] = 1
    text = yaml.safe_dump(data)
    try:
        loaded, lines = load_yaml(text, "mutated.yaml")
        validate(loaded, GPU_SCHEMA, "mutated.yaml", lines)
    except ArchsimInputError as exc:
        assert "mutated.yaml" in str(exc)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_crashes(text):
    try:
        loaded, lines = load_yaml(text, "noise.yaml")
        validate(loaded, GPU_SCHEMA, "noise.yaml", lines)
    except ArchsimInputError as exc:
        assert "noise.yaml" in str(exc)


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=len(BASE_TEXT) - 1), st.sampled_from([":", "[", "{", "  ", "\t", "- ", "'"]))
def test_corrupted_yaml_text_gives_clear_error(position, inserted):
    text = BASE_TEXT[:position] + inserted + BASE_TEXT[position:]
    try:
        loaded, lines = load_yaml(text, "corrupt.yaml")
        validate(loaded, GPU_SCHEMA, "corrupt.yaml", lines)
    except ArchsimInputError as exc:
        assert "corrupt.yaml" in str(exc)
