import pytest
from hypothesis import given, strategies as st

from archsim.units import UnitError, format_quantity, parse_quantity


@pytest.mark.parametrize("text,quantity,expected", [
    ("48 KiB", "bytes", 49152),
    ("80 GB", "bytes", 80_000_000_000),
    ("220 MiB", "bytes", 220 * 2**20),
    ("1.1 GHz", "frequency", 1_100_000_000),
    ("900 MHz", "frequency", 900_000_000),
    ("3.35 TB/s", "bandwidth", 3_350_000_000_000),
    ("1.2 Tb/s", "bandwidth", 150_000_000_000),
    ("14 GB/s", "bandwidth", 14_000_000_000),
    ("4 B/cycle", "bytes_per_cycle", 4.0),
    ("32 b/cycle", "bytes_per_cycle", 4.0),
    ("989 TFLOP/s", "flops", 989 * 10**12),
    ("750 TOP/s", "flops", 750 * 10**12),
    ("23 kW", "power", 23000.0),
])
def test_parse_exact(text, quantity, expected):
    assert parse_quantity(text, quantity) == expected


@pytest.mark.parametrize("text,quantity,expected", [
    ("4 us", "time", 4e-6), ("500 ns", "time", 5e-7), ("0.5 pJ", "energy", 5e-13), ("2 µs", "time", 2e-6)])
def test_parse_approx(text, quantity, expected):
    assert parse_quantity(text, quantity) == pytest.approx(expected)


@pytest.mark.parametrize("value,quantity", [
    ("3.35 TB", "bandwidth"), ("fast", "bytes"), (80, "bytes"), ("1 GHz", "bytes"), ("-3 GB", "bytes"),
    (True, "bytes"), ("4 B/s", "bytes_per_cycle"), ("3 XB", "bytes"), (None, "time")])
def test_rejects(value, quantity):
    with pytest.raises(UnitError):
        parse_quantity(value, quantity)


@given(st.integers(min_value=0, max_value=10**15))
def test_bytes_round_trip(n):
    assert parse_quantity(f"{n} B", "bytes") == n
    text = format_quantity(n, "bytes")
    assert parse_quantity(text, "bytes") == pytest.approx(n, rel=1e-3, abs=1)
