"""`archsim check FILE...`: validate chip, system and workload files."""
from __future__ import annotations

import sys

from archsim.errors import ArchsimInputError

NAME = "check"
HELP = "validate chip/system/workload YAML files; print every problem; exit 2 on any"


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", help="YAML files (or bundled names)")


def check_one(path: str) -> None:
    from archsim.spec import read_spec_file

    data, _ = read_spec_file(path) if path.endswith((".yaml", ".yml")) else (None, None)
    if isinstance(data, dict) and data.get("kind") == "transformer":
        from archsim.workload.model import load_transformer

        load_transformer(path)
    else:
        from archsim.hw.load import load_system

        load_system(path)


def run(args) -> int:
    failed = 0
    for path in args.files:
        try:
            check_one(path)
            print(f"ok  {path}")
        except ArchsimInputError as exc:
            failed += 1
            print(f"FAIL {path}\n{exc}", file=sys.stderr)
    return 2 if failed else 0
