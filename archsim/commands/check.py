"""`archsim check FILE...`: validate chip, system and workload files."""
from __future__ import annotations

import sys

from archsim.errors import ArchsimInputError

NAME = "check"
HELP = "validate chip/system/workload YAML files; print every problem; exit 2 on any"


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", help="YAML files (or bundled names)")


def check_one(path: str) -> None:
    """Validate one chip, system or workload file (read once), or a bundled chip or system name."""
    from pathlib import Path

    from archsim.hw.load import load_system, system_from_yaml
    from archsim.spec import read_spec_file
    from archsim.workload.model import transformer_from_yaml

    if not path.endswith((".yaml", ".yml")):
        load_system(path)
        return
    resolved = Path(path)
    data, lines = read_spec_file(resolved)
    if isinstance(data, dict) and data.get("kind") == "transformer":
        transformer_from_yaml(resolved, data, lines)
    else:
        system_from_yaml(resolved, data, lines)


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
