"""Every validation case's result as one object (`archsim validate --html`, notebooks)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ValidationReport:
    results: list  # CaseResult, in the order they ran
    summary: list[str] = field(default_factory=list)  # the lines `archsim validate` ends with

    def to_dict(self) -> dict:
        return {"cases": [r.to_dict() for r in self.results], "summary": self.summary}

    def records(self) -> list[dict]:
        return [r.to_dict() for r in self.results]

    def to_pandas(self):
        """One row per case (needs pandas)."""
        from archsim.report.tables import frame

        return frame(self.records())
