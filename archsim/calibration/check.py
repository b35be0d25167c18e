"""Re-run every fit of the calibration table and compare with the stored constants."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from archsim.calibration.table import TABLE, Constant

# Units of values that live in chip files, as stored there (SI after parsing) -> as the table states them.
_FILE_UNITS = {"pJ/bit": 1e12 / 8, "pJ/FLOP": 1e12, "MHz": 1e-6, "of HBM peak": 1.0, "W": 1.0, "TFLOP/s": 1e-12}


@dataclass(frozen=True)
class CheckRow:
    constant: Constant
    refitted: float | None  # None: nothing to re-run (measured or assumed)
    in_file: float | None  # the chip file's value, for constants that live there

    @property
    def ok(self) -> bool:
        same_fit = self.refitted is None or abs(self.refitted - self.constant.value) <= 1e-9 * max(1.0, abs(self.constant.value))
        same_file = self.in_file is None or abs(self.in_file - self.constant.value) <= 1e-6 * abs(self.constant.value)
        return same_fit and same_file


def file_value(c: Constant) -> float | None:
    """The value of a constant that lives in a chip file ("chip: dotted.key"), in the table's unit."""
    if not c.where:
        return None
    from archsim.hw.load import load_system

    chip, _, key = c.where.partition(": ")
    node = load_system(chip).chip
    for part in key.split("."):
        node = node.get(part)
    return float(node) * _FILE_UNITS[c.unit]


def check(scope: str = "full", families: list[str] | None = None) -> list[CheckRow]:
    """Every constant (of `families`, default all), re-fitted where it was fitted."""
    chosen = [c for c in TABLE if not families or c.family in families]
    refits: dict[str, dict[str, float]] = {}
    for c in chosen:
        if c.refit and c.refit not in refits:
            module, _, fn = c.refit.partition(":")
            refits[c.refit] = getattr(importlib.import_module(module), fn)(scope)
    return [CheckRow(c, refits[c.refit][c.name] if c.refit else None, file_value(c)) for c in chosen]
