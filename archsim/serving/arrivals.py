"""Requests from a serving description: arrival times and prompt and output lengths.

Deterministic: numpy's Generator seeded from `arrivals.seed`, with one independent stream
(SeedSequence.spawn) each for arrival times, prompt lengths and output lengths, so changing the
length distribution leaves the arrival times as they were, and a rate search (same seed, other
rates) scales one sequence of exponential gaps.
- poisson: exponential gaps of mean 1/rate; gamma: gamma gaps of mean 1/rate and the given CV
  (shape 1/cv^2); offline: every request at t = 0; trace: the trace's times x time_scale; concurrency:
  a closed loop, issue times made by the serving loop as requests end (LoopConfig.clients).
- `requests` caps the count (default 1000 for generated arrivals), `duration` the time span.
- lengths: fixed; uniform on [min, max]; lognormal of the given mean and CV (rounded, clipped to
  [min, max]: clipping moves the mean, the summary reports the mean drawn); empirical: resampled with
  replacement from a trace's column; trace: the trace's own (clipped to max if given).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.serving.spec import arrival_process, length_distribution
from archsim.serving.traces import load_trace

DEFAULT_REQUESTS = 1000


@dataclass(frozen=True)
class Requests:
    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    description: str
    block_hashes: tuple | None = None  # per request, its prompt's block hashes (traces that carry them)

    def __len__(self) -> int:
        return int(self.arrival_s.size)


def generate(spec, rate: float | None = None) -> Requests:
    """The requests `spec` (a validated serving SpecNode) describes; `rate` overrides arrivals.rate."""
    a = spec.arrivals
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(a.seed).spawn(3)]
    process = arrival_process(spec)
    rate = rate if rate is not None else a.rate
    trace = load_trace(a.trace) if a.trace is not None else None
    if process == "trace":
        arrival = trace.arrival_s * a.time_scale
        keep = np.ones(arrival.size, dtype=bool) if a.duration is None else arrival < a.duration
        index = np.nonzero(keep)[0][:a.requests]
        arrival = arrival[index]
        what = f"trace {a.trace} ({index.size:,} of {len(trace):,} requests"
        what += f", first {a.duration:g} s" if a.duration is not None else ""
        what += f", times x {a.time_scale:g})" if a.time_scale != 1.0 else ")"
    elif process == "offline":
        arrival = np.zeros(a.requests or DEFAULT_REQUESTS)
        index = None
        what = f"offline: {arrival.size:,} requests at t = 0"
    elif process == "concurrency":  # issue times come from the loop (LoopConfig.clients): zeros until then
        arrival = np.zeros(a.requests or DEFAULT_REQUESTS)
        index = None
        what = (f"closed loop: {a.concurrency:,} clients, each sending its next request when its last one ends, "
                f"{arrival.size:,} requests")
    else:
        arrival = _generated(process, rate, a.cv, a.requests, a.duration, streams[0])
        index = None
        what = (f"{process} arrivals at {rate:g} requests/s" + (f" (CV {a.cv:g})" if process == "gamma" else "")
                + f", {arrival.size:,} requests, seed {a.seed}")
    n = arrival.size
    prompt = _lengths(spec, "prompt", n, streams[1], trace, index)
    output = _lengths(spec, "output", n, streams[2], trace, index)
    hashes = None
    if process == "trace" and trace.block_hashes is not None and length_distribution(spec, "prompt") == "trace":
        hashes = tuple(trace.block_hashes[k] for k in index)
    return Requests(np.ascontiguousarray(arrival, dtype=np.float64), prompt, output, what, hashes)


def _generated(process, rate, cv, requests, duration, rng) -> np.ndarray:
    limit = requests if requests is not None else (None if duration is not None else DEFAULT_REQUESTS)
    out, total = [], 0.0
    block = limit if limit is not None else max(16, int(rate * duration * 1.2) + 16)
    while True:
        if process == "poisson":
            gaps = rng.exponential(1.0 / rate, block)
        else:
            shape = 1.0 / cv ** 2
            gaps = rng.gamma(shape, 1.0 / (rate * shape), block)
        times = total + np.cumsum(gaps)
        total = float(times[-1])
        out.append(times)
        count = sum(t.size for t in out)
        if (limit is not None and count >= limit) or (duration is not None and total >= duration):
            break
    arrival = np.concatenate(out)
    if duration is not None:
        arrival = arrival[arrival < duration]
    return arrival[:limit] if limit is not None else arrival


def _lengths(spec, which: str, n: int, rng, trace, index) -> np.ndarray:
    s = spec.get(which)
    dist = length_distribution(spec, which)
    if dist == "fixed":
        out = np.full(n, s.tokens, dtype=np.int64)
    elif dist == "uniform":
        out = rng.integers(s.min, s.max + 1, n)
    elif dist == "lognormal":
        sigma2 = np.log1p(s.cv ** 2)
        mu = np.log(s.mean) - sigma2 / 2
        out = np.rint(rng.lognormal(mu, np.sqrt(sigma2), n)).astype(np.int64)
    elif dist == "empirical":
        source = load_trace(s.trace) if s.trace is not None else trace
        column = source.prompt_tokens if which == "prompt" else source.output_tokens
        out = column[rng.integers(0, column.size, n)]
    else:  # trace
        column = trace.prompt_tokens if which == "prompt" else trace.output_tokens
        out = column[index]
    low = s.min if s.min is not None else 1
    high = s.max if s.max is not None else None
    return np.ascontiguousarray(np.clip(out, low, high), dtype=np.int64)
