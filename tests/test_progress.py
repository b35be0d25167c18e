"""Progress bars: drawn on a terminal (a pseudo-terminal here), absent when stderr is piped or with --quiet."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from archsim import progress

CASE = ["validate", "--family", "tsp", "--case", "tsp-mxm-ws-32x32-128x128x128"]


def run_cli(args: list[str], tty: bool) -> tuple[int, str]:
    """Run `archsim ARGS` with stderr on a pseudo-terminal (tty) or a pipe; returns (status, stderr)."""
    code = "import sys; from archsim.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, COLUMNS="120", TERM="xterm")
    env.pop("ARCHSIM_QUIET", None)
    if not tty:
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
        return proc.returncode, proc.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=follower,
                            env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_a_progress_bar():
    status, err = run_cli(CASE, tty=True)
    assert status == 0
    assert "validation cases" in err and "1/1" in err


@pytest.mark.parametrize("args", [CASE, ["--quiet", *CASE], [*CASE, "-q"]])
def test_piped_or_quiet_gets_none(args):
    status, err = run_cli(args, tty="-q" in args or "--quiet" in args)
    assert status == 0
    assert "validation cases" not in err and err.strip() == ""


def test_disabled_bars_cost_nothing(monkeypatch):
    monkeypatch.setattr(sys, "stderr", open(os.devnull, "w"))
    assert not progress.enabled()
    with progress.progress_bar(10, "points") as advance:
        advance()
        advance(ok=False, note="x")
    with progress.spinner("compiling"):
        pass
