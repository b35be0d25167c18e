"""The kernels run as plain Python (NUMBA_DISABLE_JIT=1) give the compiled results bit for bit.

Interpreted, an element of an int8/int32 array is a numpy scalar that keeps its
width in arithmetic, where numba computes in int64; a packet id read from an
int32 array lost its bits in `pid << 32`, and a 5x3 mesh at 5% load came out
unstable with no latency instead of 16.2 cycles. The cases (tests/jit_parity_cases.py:
short synthetic runs including that one, message traces, a state digest, and
small task-level engine graphs) run interpreted in a subprocess and are compared
with the compiled run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numba

import jit_parity_cases

CASES_SCRIPT = Path(__file__).with_name("jit_parity_cases.py")


def _run_cases(disable_jit: bool) -> dict:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1" if disable_jit else "0"}
    proc = subprocess.run([sys.executable, str(CASES_SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=CASES_SCRIPT.parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _first_difference(a, b, path="") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() | b.keys()):
            if k not in a or k not in b:
                return f"{path}/{k}: only in one run"
            d = _first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: interpreted {a!r} != compiled {b!r}"


def test_interpreted_kernels_give_the_compiled_results_bit_for_bit():
    interpreted = _run_cases(disable_jit=True)
    # this session's kernels are compiled unless it runs with NUMBA_DISABLE_JIT=1 itself
    compiled = _run_cases(disable_jit=False) if numba.config.DISABLE_JIT else jit_parity_cases.run_all()
    assert interpreted.keys() == compiled.keys()
    for name in compiled:
        assert interpreted[name] == compiled[name], f"{name}: {_first_difference(interpreted[name], compiled[name])}"
    # the case is stable, with a latency, in both
    assert compiled["synth_5x3_uniform_005"]["stable"] and compiled["synth_5x3_uniform_005"]["packets_measured"] > 0
