"""Test-suite wide settings: which tests are `slow` (left out of the daily subset `pytest -m "not slow"`).

Slow means: it compiles or runs the flit-level network kernel (about 40 s to compile on a fresh machine),
runs archsim in subprocesses (kill/resume, JIT-off parity), or re-runs a calibration fit. The full suite,
the README's test command, runs them all.
"""
from __future__ import annotations

import pytest

SLOW_FILES = {
    "test_noc_booksim.py", "test_noc_cli.py", "test_noc_crosscheck.py", "test_noc_kernel.py", "test_noc_wafer.py",
    "test_mesh_cycle.py", "test_jit_parity.py", "test_sweep_kill.py", "test_sweep_dask.py", "test_calibration.py",
    "test_serving_error.py", "test_wheel.py",
}
# single tests elsewhere that run the network or a long simulation
SLOW_TESTS = {"test_noc_unwritable_json", "test_70b_prefill_of_2048_tokens_on_four_cs3_runs_in_chunks",
              "test_gpu_validation_cases_pass"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.originalname if hasattr(item, "originalname") else item.name
        nightly = item.get_closest_marker("nightly") is not None  # kept out of the daily subset too
        if item.path.name in SLOW_FILES or name in SLOW_TESTS or nightly or "noc" in item.name.lower():
            item.add_marker(pytest.mark.slow)
