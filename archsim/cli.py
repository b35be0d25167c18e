"""The `archsim` command line: a thin shell over the public API.

Each subcommand lives in its own module under `archsim/commands/` and exposes
`NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`. Exit status:
0 ok, 2 bad input (spec errors, unknown names, infeasible requests the user
can fix), 1 internal error.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from archsim.commands import COMMAND_MODULES
from archsim.errors import ArchsimInputError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from archsim import __version__

    parser = argparse.ArgumentParser(
        prog="archsim",
        description="Cycle-level performance model of AI accelerators for LLM inference.",
    )
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"archsim.commands.{module_name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args._run(args) or 0)
    except ArchsimInputError as exc:
        print(f"archsim {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
