"""Start-up benchmark of the command line (a benchmark, not a test): prints figures.

- `archsim --help` wall time from the shell (target <= 0.3 s);
- warm `archsim run h100-sxm llama3.1-8b --phase decode` wall time from the shell (target <= 0.8 s);
- cold first run: the same command with an empty numba cache directory (NUMBA_CACHE_DIR set to a fresh
  temporary folder and the in-tree caches untouched), target <= 10 s; and `archsim warmup` cold, which
  compiles every kernel (the network kernel dominates).
Each figure is the median of --repeat runs (cold runs: one each, they are slow).

Usage: python tools/bench_cli.py [--repeat N] [--json] [--skip-cold]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHSIM = str(Path(sys.executable).with_name("archsim"))
RUN = [ARCHSIM, "run", "h100-sxm", "llama3.1-8b", "--phase", "decode"]


def wall(cmd, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--skip-cold", action="store_true", help="skip the cold runs (they compile kernels)")
    args = p.parse_args(argv)
    wall(RUN)  # fill caches
    out = {"help_s": statistics.median(wall([ARCHSIM, "--help"]) for _ in range(args.repeat)),
           "run_warm_s": statistics.median(wall(RUN) for _ in range(args.repeat))}
    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            out["run_cold_s"] = wall(RUN, env)
            out["warmup_cold_s"] = wall([ARCHSIM, "warmup"], env)
    if args.json:
        print(json.dumps(out))
    else:
        targets = {"help_s": 0.3, "run_warm_s": 0.8, "run_cold_s": 10.0}
        for key, value in out.items():
            target = f"  (target <= {targets[key]} s)" if key in targets else ""
            print(f"{key:<16}{value:8.2f} s{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
