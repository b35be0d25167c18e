"""A wheel (`pip install .`, not editable) ships the chips, systems, workloads, traces and reference data:
built, installed in a fresh venv outside the checkout, and run from there (issue 15)."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, env=None, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def test_the_wheel_runs_the_readme_job_and_validation_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT],
         tmp_path)
    (wheel,) = wheels.glob("archsim-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    py = venv / "bin" / "python"
    # the dependencies (numpy, numba, ...) from this environment, without its editable archsim: a plain path
    # line in a .pth adds the folder but does not run the folder's own .pth files (the editable finder)
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHSIM_")}
    where = _run([py, "-c", "import archsim; print(archsim.__file__)"], work, env)
    assert str(venv) in where and str(ROOT) not in where
    out = _run([venv / "bin" / "archsim", "run", "h100-sxm", "llama3.1-8b", "--phase", "decode"], work, env)
    assert "TPOT" in out and "bottleneck: memory" in out
    out = _run([venv / "bin" / "archsim", "validate", "--family", "gpu", "--case", "gpu-a100-7b-tp1",
                "--case", "gpu-a100-matmul-median", "--case", "mlperf-v4.1-h100-70b-offline"], work, env)
    assert "3 of 3 required predictions within tolerance" in out
    out = _run([venv / "bin" / "archsim", "serve", "groq-lpu-576", "llama3.1-8b", "--weight-dtype", "int8",
                "--trace", "azure-code", "--requests", "20"], work, env)
    assert "stability: stable" in out
