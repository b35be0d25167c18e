"""Fast start ([families] #6): a GPU run imports only what it uses (no network kernel, no other family, no
plotting), and small task graphs run without numba; `archsim --help` imports no numpy."""
from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from archsim.cli import main
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(m for m in sys.modules if m.startswith(("archsim", "numba", "matplotlib", "numpy")))}))
"""


def _modules(*argv) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["rc"], set(data["modules"])


def test_a_gpu_run_imports_neither_the_network_nor_other_families_nor_numba():
    rc, mods = _modules("run", "h100-sxm", "llama3.1-8b", "--phase", "decode")
    assert rc == 0
    assert "archsim.families.gpu.mapper.tiled" in mods
    assert not any(m.startswith("archsim.engine.noc") for m in mods)
    assert not any(m.startswith(("archsim.families.mesh.", "archsim.families.tsp.")) for m in mods)
    assert not any(m.startswith(("matplotlib", "numba")) for m in mods)


def test_help_imports_no_numpy():
    proc = subprocess.run([sys.executable, "-c", "import sys; from archsim.cli import build_parser; build_parser();"
                           " print(','.join(m for m in sys.modules if m.startswith(('numpy', 'numba'))))"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_a_wafer_run_at_task_fidelity_does_not_load_the_network_kernel():
    rc, mods = _modules("run", "wse3", "llama3.1-8b", "--phase", "decode")
    assert rc == 0 and "archsim.families.mesh.mapper.dataflow" in mods
    assert not any(m.startswith("archsim.engine.noc") for m in mods)
