"""docs/tutorial.md stays true: every `$ archsim` line runs, and the bottleneck
the page names for a command is the one archsim prints."""
from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from archsim.cli import main

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
COMMANDS = [line.strip()[2:] for line in TUTORIAL.read_text().splitlines() if line.strip().startswith("$ archsim ")]

# the claims of the page that a model change could silently break
EXPECTED = {
    "archsim run h100-sxm llama3.1-8b --phase decode": "bottleneck: memory",
    "archsim run h100-sxm llama3.1-8b --phase decode --batch 256": "bottleneck: memory",
    "archsim run h100-sxm llama3.1-8b --phase prefill --prompt-len 2048": "bottleneck: compute",
    "archsim run wse3 llama3.1-8b --phase decode --fidelity cycle": "noc_fidelity: cycle",
    "archsim serve h100-sxm llama3.1-8b --trace azure-conv --duration 120s": "stability: stable",
    "archsim --plugin examples/plugins/aspect_regions.py search wse3 llama3.1-8b --space examples/aspect_space.yaml "
    "--budget 20 --db out/aspect.sqlite --out out/aspect.yaml":
        "choices that differ from the default's: mapper mesh-dataflow -> mesh-aspect, region 152x168 -> 127x196",
}


def test_the_tutorial_has_its_commands():
    assert len(COMMANDS) >= 15
    assert set(EXPECTED) <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_tutorial_command_runs(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("ARCHSIM_PLUGINS", os.environ.get("ARCHSIM_PLUGINS", ""))  # --plugin lists itself there
    args = [re.sub(r"^out/", f"{tmp_path}/", a) for a in shlex.split(command)[1:]]
    if args[0] == "results":  # reads the database the sweep line wrote
        assert main(["sweep", "examples/h100_bandwidth_sweep.yaml", "--db", f"{tmp_path}/tutorial.sqlite",
                     "--fidelity", "roofline"]) == 0
    assert main(args) == 0
    if command in EXPECTED:
        assert EXPECTED[command] in capsys.readouterr().out
