"""`archsim list`: bundled chips, systems, workloads and mappers, one line each."""
from __future__ import annotations

NAME = "list"
HELP = "list bundled chips, systems, workloads and mappers"


def add_arguments(p) -> None:
    pass


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:120] if lines else type(exc).__name__


def run(args) -> int:
    from archsim.hw.load import bundled_names, load_system
    from archsim.mapping.base import MAPPERS, import_all_mappers
    from archsim.workload.model import bundled_workloads, load_transformer

    from archsim.errors import ArchsimInputError

    chips, systems, broken = [], [], []
    for name in bundled_names():
        try:
            s = load_system(name)
        except ArchsimInputError as exc:  # a user's file in ARCHSIM_CONFIG_DIR: list the rest, say which
            broken.append(f"  {name:<16} invalid: {_first_line(exc)} (archsim check it)")
            continue
        (systems if s.count > 1 else chips).append(f"  {name:<16} {s.kind:<5} {s.description}")
    print("chips:", *chips, "systems:", *systems, sep="\n")
    print("workloads:")
    for name in bundled_workloads():
        try:
            print(f"  {name:<16} {load_transformer(name).description}")
        except ArchsimInputError as exc:
            broken.append(f"  {name:<16} invalid: {_first_line(exc)} (archsim check it)")
    print("  gemm:MxNxK       a single GEMM C[MxN] = A[MxK] B[KxN]  (with --dtype)")
    print("  gemv:NxK         a single GEMV")
    import_all_mappers()
    print("mappers:")
    for name, m in MAPPERS.items():
        opts = ", ".join(o.name for o in m.options) or "no options"
        print(f"  {name:<16} {m.family:<5} {m.description} [{opts}]")
    if broken:
        print("files that do not load:", *broken, sep="\n")
    return 0
