"""Regenerate tests/golden/results.json -- only on purpose, after a deliberate model change.

    python tools/regen_golden.py        # rewrites the file; review the diff and say why in the commit

The golden cases pin a few chip x workload results so that an unintended change
to any stage (a mapper, the engine, the report) shows up as a test failure.
"""
from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "results.json"

# (id, chip, workload, scenario kwargs, mapper options, fidelity)
CASES = [
    ("h100-8b-decode", "h100-sxm", "llama3.1-8b", dict(phase="decode", batch=1, context_len=1024), {}, "task"),
    ("dgx-h100-70b-prefill", "dgx-h100", "llama3.1-70b", dict(phase="prefill", batch=1, prompt_len=2048),
     {"tp": 8}, "task"),
    ("wse3-8b-decode", "wse3", "llama3.1-8b", dict(phase="decode", batch=1, context_len=1024), {}, "task"),
    ("groq-576-70b-decode", "groq-lpu-576", "llama2-70b",
     dict(phase="decode", batch=1, context_len=4095, weight_dtype="int8"), {}, "task"),
    ("a100-gemm", "a100-sxm-80gb", "gemm:4096x4096x4096", dict(weight_dtype="fp16", act_dtype="fp16"), {}, "task"),
    ("h100-8b-roofline", "h100-sxm", "llama3.1-8b", dict(phase="decode", batch=4, context_len=4096), {},
     "roofline"),
]
METRICS = ("latency_s", "tokens_per_s", "bottleneck", "chips_used", "energy_j", "cost_per_million_tokens")


def compute() -> dict:
    from archsim.pipeline import run
    from archsim.workload.model import Scenario

    out = {}
    for case_id, chip, workload, scenario, options, fidelity in CASES:
        d = run(chip, workload, Scenario(**scenario), options=options, fidelity=fidelity).to_dict()
        out[case_id] = {k: d.get(k) for k in METRICS}
    return out


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
