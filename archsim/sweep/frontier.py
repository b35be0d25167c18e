"""The throughput-interactivity frontier: decode speed per user against
efficiency (tokens/s per chip, per kW, tokens per dollar), over batch sizes
and system sizes, with the Pareto frontier marked (`archsim frontier`).

Each point is one decode step of the workload simulated by the pipeline (the
family's default mapper, task fidelity unless asked otherwise) on a system of
`count` chips (`--set count=N` on a system file; a single chip stays one),
batch b, the given context. A point that does not fit, or that the mapper
cannot map, is skipped and listed with the reason.

- per user: tokens/s of one sequence (1 / TPOT);
- per chip: tokens/s of the whole system / chips in it (every chip charged,
  used or not, as the energy model does);
- per kW: tokens/s / average power of the system (kW);
- per dollar: tokens per US dollar of amortized capital + electricity
  (1e6 / cost per million tokens), the system busy all the time.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from archsim.errors import ArchsimInputError, InfeasibleError

METRICS = {"per_chip": "tokens/s per chip", "per_kw": "tokens/s per kW", "per_dollar": "tokens per dollar"}
DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
DEFAULT_SCALES = (0.125, 0.25, 0.5, 1.0)


@dataclass
class Point:
    system: str
    chips: int
    chips_used: int
    batch: int
    tokens_per_s: float
    per_user: float
    per_chip: float
    per_kw: float | None
    per_dollar: float | None
    avg_power_w: float | None
    energy_per_token_j: float | None
    cost_per_million_tokens: float | None
    frontier: str = ""  # metrics for which this point is on the Pareto frontier of all systems, ';'-joined


@dataclass
class Skipped:
    system: str
    chips: int
    batch: int
    reason: str


@dataclass
class FrontierResult:
    """`archsim frontier`'s result: every feasible point (with the metrics it is on the frontier of) and
    every skipped one, for the HTML page and notebooks."""
    title: str
    points: list[Point]
    skipped: list[Skipped]

    def to_dict(self) -> dict:
        return {"title": self.title, "metrics": METRICS, "points": [asdict(p) for p in self.points],
                "skipped": [asdict(s) for s in self.skipped]}

    def to_pandas(self):
        """One row per feasible point (needs pandas)."""
        from archsim.report.tables import frame

        return frame([asdict(p) for p in self.points])


def parse_list(text: str, kind, name: str) -> tuple:
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ArchsimInputError(f"--{name} expects a comma-separated list of numbers, got {text!r}") from None
    if not values or any(not 0 < v < float("inf") for v in values):  # also rejects nan and inf
        raise ArchsimInputError(f"--{name} needs positive, finite values, got {text!r}")
    return values


def chip_counts(system, scales) -> list[int]:
    """The system sizes to try: its own count times each scale (a single chip stays one)."""
    if system.power is None:  # a chip file, not a system
        return [1]
    counts = sorted({max(1, int(round(system.count * s))) for s in scales}, reverse=True)
    return counts


def sweep(systems: list[str], workload: str, scenario_for, batches, scales, overrides=(), options=None,
          fidelity: str = "task", progress=None) -> tuple[list[Point], list[Skipped]]:
    """Simulate every (system, chips, batch); returns the feasible points and the skipped ones."""
    from archsim.hw.load import load_system
    from archsim.pipeline import run

    points, skipped = [], []
    for name in systems:
        base = load_system(name, list(overrides))
        for chips in chip_counts(base, scales):
            sets = list(overrides) + ([("count", chips)] if base.power is not None else [])
            for batch in batches:
                try:
                    r = run(name, workload, scenario_for(batch), options=dict(options or {}), overrides=sets,
                            fidelity=fidelity)
                except InfeasibleError as exc:
                    skipped.append(Skipped(base.name, chips, batch, exc.reason))
                    continue
                except ArchsimInputError as exc:  # e.g. a parallel degree this size cannot take
                    skipped.append(Skipped(base.name, chips, batch, str(exc)))
                    continue
                points.append(_point(base.name, chips, batch, r))
                if progress:
                    progress(points[-1])
    mark_frontier(points)
    return points, skipped


def _point(system: str, chips: int, batch: int, r) -> Point:
    kw = r.avg_power_w / 1e3 if r.avg_power_w else None
    cost = r.cost_per_million_tokens
    return Point(system, chips, r.chips_used, batch, r.tokens_per_s, r.tokens_per_s_per_user,
                 r.tokens_per_s / chips, r.tokens_per_s / kw if kw else None, 1e6 / cost if cost else None,
                 r.avg_power_w, r.energy_per_token_j, cost)


def pareto(pairs: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (x, y) that no other point beats on both (higher is better on both),
    in order of increasing x."""
    order = sorted(range(len(pairs)), key=lambda i: (-pairs[i][0], -pairs[i][1]))
    front, best_y = [], float("-inf")
    for i in order:
        if pairs[i][1] > best_y:
            front.append(i)
            best_y = pairs[i][1]
    return sorted(front, key=lambda i: pairs[i][0])


def mark_frontier(points: list[Point]) -> None:
    for metric in METRICS:
        have = [i for i, p in enumerate(points) if getattr(p, metric) is not None]
        for j in pareto([(points[i].per_user, getattr(points[i], metric)) for i in have]):
            p = points[have[j]]
            p.frontier = ";".join(filter(None, [p.frontier, metric]))


def write_csv(points: list[Point], skipped: list[Skipped], directory: Path) -> list[Path]:
    files = [directory / "frontier.csv", directory / "skipped.csv"]
    for path, rows, cls in ((files[0], points, Point), (files[1], skipped, Skipped)):
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(cls.__dataclass_fields__))
            writer.writeheader()
            for row in rows:
                writer.writerow(asdict(row))
    return files
