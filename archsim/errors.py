"""Error types shared by every stage.

`ArchsimInputError` and its subclasses mean "the user can fix this"; the CLI
prints them as one message and exits 2. Anything else is a bug (exit 1).
"""
from __future__ import annotations

from dataclasses import dataclass


class ArchsimInputError(Exception):
    """Bad input: a spec file, a name, an option or an impossible request."""


@dataclass(frozen=True)
class Problem:
    """One validation problem, located as precisely as we can."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


# A spec error lists at most this many problems (a file of 200,000 unknown keys would print megabytes).
MAX_SHOWN = 50


class SpecError(ArchsimInputError):
    """Every problem found in one spec, reported together (the first MAX_SHOWN of them shown)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n:,} problem{'s' if n != 1 else ''} in {self.problems[0].file}" if n else "invalid spec"
        shown = [f"  {p}" for p in self.problems[:MAX_SHOWN]]
        if n > MAX_SHOWN:
            shown.append(f"  ... and {n - MAX_SHOWN:,} more (fix these first)")
        super().__init__(head + ":\n" + "\n".join(shown))


class UnknownNameError(ArchsimInputError):
    """A name (chip, workload, mapper, option) that is not registered."""


class InfeasibleError(ArchsimInputError):
    """The workload cannot run on this system as asked (does not fit, etc.).

    `reason` is a sentence with the numbers; `details` is machine-readable.
    """

    def __init__(self, reason: str, details: dict | None = None):
        self.reason = reason
        self.details = dict(details or {})
        super().__init__(f"infeasible: {reason}")
