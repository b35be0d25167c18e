"""MLPerf Inference presets (`archsim serve --scenario mlperf-offline|mlperf-server|mlperf-interactive`).

In virtual time, after MLPerf's LoadGen rules:
- offline: every sample issued at t = 0; 24,576 samples (the Llama-2-70B OpenOrca set, and LoadGen's
  minimum offline sample count: mlcommons/inference mlperf.conf `*.Offline.min_query_count = 24576`);
  the metric is tokens per second.
- server, interactive: Poisson arrivals for 600 s (mlperf.conf `*.Server.min_duration = 600000` ms);
  the metric is the highest rate whose P99 TTFT and P99 TPOT meet the limits (--find-max-rate).
Latency limits (P99; mlperf.conf via ../shared/reference/README.md): Llama-2-70B server 2000 / 200 ms,
interactive 450 / 40 ms; Llama-3.1-8B server 2000 / 100 ms, interactive 500 / 30 ms; Llama-3.1-405B
server 6000 / 175 ms, interactive 4500 / 80 ms.

Lengths: the Llama-2-70B task's OpenOrca set (mlcommons/inference language/llama2-70b):
- input and output are each under 1,024 tokens (processorca.py keeps rows with fewer than
  `seqlen_limit` = 1024 tokens each side); generation is capped at 1,024 output tokens;
- mean output 294.45 tokens per sample (the reference's "Tokens per sample" accuracy target in the
  task's README; submissions must land within 10% of it);
- mean input: not found in the published sources we could reach (../shared/reference/hardware.md
  also says "unconfirmed"): ASSUMED 300 tokens;
- shapes: lognormal with CV 1.0 on both sides, ASSUMED (no published distribution), clipped to
  [1, 1023] input and [1, 1024] output.
The other models' MLPerf datasets (CNN/DailyMail for 8B; a long-context mix for 405B) are not
bundled: their presets use the OpenOrca lengths, and the run says so.
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.spec import did_you_mean

SCENARIOS = ("mlperf-offline", "mlperf-server", "mlperf-interactive")
OFFLINE_SAMPLES = 24_576
SERVER_DURATION = "600 s"
# (model, scenario) -> (P99 TTFT limit, P99 TPOT limit)
LATENCY_LIMITS = {
    ("llama2-70b", "server"): ("2000 ms", "200 ms"), ("llama2-70b", "interactive"): ("450 ms", "40 ms"),
    ("llama3.1-8b", "server"): ("2000 ms", "100 ms"), ("llama3.1-8b", "interactive"): ("500 ms", "30 ms"),
    ("llama3.1-405b", "server"): ("6000 ms", "175 ms"), ("llama3.1-405b", "interactive"): ("4500 ms", "80 ms"),
}
OPENORCA_LENGTHS = {
    "prompt": {"distribution": "lognormal", "mean": 300.0, "cv": 1.0, "min": 1, "max": 1023},  # mean, cv ASSUMED
    "output": {"distribution": "lognormal", "mean": 294.45, "cv": 1.0, "min": 1, "max": 1024},  # cv ASSUMED
}


def scenario_preset(name: str, workload: str) -> tuple[dict, list[str]]:
    """(base serving description for load_serving, notes) of MLPerf scenario `name` for `workload`."""
    if name not in SCENARIOS:
        raise ArchsimInputError(f"unknown scenario {name!r}{did_you_mean(name, SCENARIOS)}; "
                                f"known: {', '.join(SCENARIOS)}")
    kind = name.split("-", 1)[1]
    notes = ["MLPerf lengths: OpenOrca (Llama-2-70B task): mean output 294.45 tokens (published), mean input 300 "
             "tokens and lognormal shapes (CV 1) ASSUMED; inputs < 1024, outputs <= 1024 tokens"]
    if workload != "llama2-70b":
        notes.append(f"{workload}'s own MLPerf dataset is not bundled: OpenOrca lengths used instead")
    base = {k: dict(v) for k, v in OPENORCA_LENGTHS.items()}
    if kind == "offline":
        base["arrivals"] = {"process": "offline", "requests": OFFLINE_SAMPLES}
        return base, notes
    limits = LATENCY_LIMITS.get((workload, kind))
    if limits is None:
        known = sorted({m for m, k in LATENCY_LIMITS if k == kind})
        raise ArchsimInputError(f"MLPerf {kind} has no latency limits for {workload!r}; it covers "
                                f"{', '.join(known)} (or give --slo ttft_p99=...,tpot_p99=... without --scenario)")
    base["arrivals"] = {"process": "poisson", "duration": SERVER_DURATION}
    base["slo"] = {"ttft": limits[0], "tpot": limits[1]}
    return base, notes
