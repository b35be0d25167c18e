"""Unit strings -> numbers, parsed once when a spec is loaded.

Values in YAML carry their unit ("48 KiB", "1.1 GHz", "3.35 TB/s",
"4 B/cycle", "1.2 Tb/s", "4 us", "989 TFLOP/s", "700 W", "0.5 pJ").
Both SI (k, M, G, T, P) and binary (Ki, Mi, Gi, Ti) prefixes are accepted;
"b" is bits and "B" bytes. Results are integers where the quantity is
countable (bytes, Hz, bytes/s, FLOP/s) and floats otherwise (seconds,
bytes per cycle, watts, joules).
"""
from __future__ import annotations

import math
import re

SI = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}
SMALL = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}

_NUMBER = r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_RE = re.compile(_NUMBER + r"\s*(?P<unit>\S.*)?$")

# Each quantity: (description for error messages, example, parser of unit suffix)
QUANTITIES: dict[str, tuple[str, str]] = {
    "bytes": ("a size", "48 KiB"),
    "frequency": ("a frequency", "1.1 GHz"),
    "bandwidth": ("a bandwidth", "3.35 TB/s"),
    "bytes_per_cycle": ("a width per cycle", "4 B/cycle"),
    "time": ("a time", "4 us"),
    "flops": ("a compute rate", "989 TFLOP/s"),
    "power": ("a power", "700 W"),
    "energy": ("an energy", "0.5 pJ"),
    "energy_per_byte": ("an energy per bit or byte moved", "3.9 pJ/bit"),
    "energy_per_op": ("an energy per operation", "0.5 pJ/FLOP"),
}


class UnitError(ValueError):
    """A value that is not a number with the expected unit."""


def _split(text: str) -> tuple[float, str]:
    m = _RE.match(text.strip())
    if not m:
        raise UnitError("not a number with a unit")
    return float(m.group("num")), (m.group("unit") or "").strip()


def _big_prefix(prefix: str) -> float:
    if prefix in BINARY:
        return BINARY[prefix]
    if prefix in SI:
        return SI[prefix]
    raise UnitError(f"unknown prefix {prefix!r}")


def _size(unit: str) -> float:
    """'KiB' -> 1024, 'Gb' -> 1.25e8 (bytes)."""
    m = re.fullmatch(r"(Ki|Mi|Gi|Ti|Pi|[kKMGTPE]?)([Bb])", unit)
    if not m:
        raise UnitError(f"unit {unit!r} is not a size (B, KiB, MB, Gb, ...)")
    per = 1.0 if m.group(2) == "B" else 0.125
    return _big_prefix(m.group(1)) * per


def parse_quantity(value, quantity: str):
    """Parse `value` as `quantity` (a key of QUANTITIES). Raises UnitError."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"expected {QUANTITIES[quantity][0]} like {QUANTITIES[quantity][1]!r}")
    if not isinstance(value, str):
        raise UnitError(
            f"expected {QUANTITIES[quantity][0]} with a unit, like {QUANTITIES[quantity][1]!r} "
            f"(a bare number is ambiguous)"
        )
    number, unit = _split(value)
    if not math.isfinite(number) or number < 0:
        raise UnitError("must be a finite, non-negative number")
    scale = _UNIT_PARSERS[quantity](unit)
    result = number * scale
    if quantity in _INTEGER_QUANTITIES:
        if result >= 2.0**63:  # later stages hold these in int64 (numpy, the engine)
            raise UnitError(f"is too large: {result:.3g} in base units does not fit a 64-bit integer")
        return int(round(result))
    return result


def _bandwidth(unit: str) -> float:
    if not unit.endswith("/s"):
        raise UnitError(f"unit {unit!r} is not a bandwidth (GB/s, TB/s, Gb/s, ...)")
    return _size(unit[:-2])


def _bytes_per_cycle(unit: str) -> float:
    if not unit.endswith("/cycle"):
        raise UnitError(f"unit {unit!r} is not a width per cycle (B/cycle, b/cycle)")
    return _size(unit[: -len("/cycle")])


def _prefixed(prefixes: dict[str, float], suffixes: dict[str, float], what: str):
    """A parser for units written PREFIX + SUFFIX (e.g. 'GHz', 'pJ/MAC'): the prefix's scale
    times the suffix's factor. Suffixes are tried longest first ('FLOP/s' before 'OP/s')."""
    ordered = sorted(suffixes.items(), key=lambda item: -len(item[0]))

    def parse(unit: str) -> float:
        for suffix, factor in ordered:
            if unit.endswith(suffix) and unit[: len(unit) - len(suffix)] in prefixes:
                return prefixes[unit[: len(unit) - len(suffix)]] * factor
        raise UnitError(f"unit {unit!r} is not {what}")

    return parse


def _only(table: dict[str, float], keys: str) -> dict[str, float]:
    return {k: table[k] for k in ("", *keys)}


_frequency = _prefixed(_only(SI, "kKMGT"), {"Hz": 1.0}, "a frequency (Hz, MHz, GHz)")
_time = _prefixed(_only(SMALL, "munpµ"), {"s": 1.0}, "a time (s, ms, us, ns, ps)")
_flops = _prefixed(SI, {"FLOP/s": 1.0, "OP/s": 1.0}, "a compute rate (TFLOP/s, TOP/s)")
_power = _prefixed({**_only(SI, "kKM"), "m": 1e-3}, {"W": 1.0}, "a power (W, kW)")
_energy = _prefixed(SMALL, {"J": 1.0}, "an energy (J, nJ, pJ, fJ)")
# 'pJ/bit' -> joules per byte (x8); 'pJ/B' -> joules per byte.
_energy_per_byte = _prefixed(SMALL, {"J/bit": 8.0, "J/b": 8.0, "J/B": 1.0, "J/byte": 1.0},
                             "an energy per bit or byte (pJ/bit, pJ/B)")
# 'pJ/FLOP' or 'pJ/OP' -> joules per operation; 'pJ/MAC' -> joules per FLOP (a MAC is 2).
_energy_per_op = _prefixed(SMALL, {"J/FLOP": 1.0, "J/OP": 1.0, "J/MAC": 0.5},
                           "an energy per operation (pJ/FLOP, pJ/OP, pJ/MAC)")


_UNIT_PARSERS = {
    "bytes": _size,
    "frequency": _frequency,
    "bandwidth": _bandwidth,
    "bytes_per_cycle": _bytes_per_cycle,
    "time": _time,
    "flops": _flops,
    "power": _power,
    "energy": _energy,
    "energy_per_byte": _energy_per_byte,
    "energy_per_op": _energy_per_op,
}
_INTEGER_QUANTITIES = {"bytes", "frequency", "bandwidth", "flops"}


def format_quantity(value: float, quantity: str) -> str:
    """A readable string for a parsed value (inverse of parse_quantity, up to rounding)."""
    units = {
        "bytes": ("B", 1024.0, ["", "Ki", "Mi", "Gi", "Ti", "Pi"]),
        "frequency": ("Hz", 1000.0, ["", "k", "M", "G", "T"]),
        "bandwidth": ("B/s", 1000.0, ["", "k", "M", "G", "T", "P"]),
        "flops": ("FLOP/s", 1000.0, ["", "k", "M", "G", "T", "P", "E"]),
    }
    if quantity in units:
        suffix, base, prefixes = units[quantity]
        v = float(value)
        i = 0
        while abs(v) >= base and i < len(prefixes) - 1:
            v /= base
            i += 1
        return f"{v:.4g} {prefixes[i]}{suffix}"
    if quantity == "time":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {name}"
        return f"{value / 1e-12:.4g} ps"
    return f"{value:.4g}"
