"""The `archsim` command line: a thin shell over the public API.

Each subcommand lives in its own module under `archsim/commands/` and exposes
`NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`. Exit status:
0 ok, 2 bad input (spec errors, unknown names, infeasible requests the user
can fix, a plugin that cannot be loaded), 1 internal error. An internal error (a bug) prints one line
saying so, where to report it and how to see the traceback (`archsim --debug ...`).

`--plugin MODULE|PATH` (before the subcommand, repeatable) loads a plugin with
archsim.family.load_plugin before the command runs: its chip family, mappers,
bundled chips and validation cases are then seen by every command, and by a
sweep's worker processes (docs/plugins.md).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from archsim.commands import COMMAND_MODULES
from archsim.errors import ArchsimInputError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
DEBUG_ENV = "ARCHSIM_DEBUG"
REPORT_TO = "archsim's issue tracker"


def build_parser() -> argparse.ArgumentParser:
    from archsim import __version__

    parser = argparse.ArgumentParser(
        prog="archsim",
        description="Cycle-level performance model of AI accelerators for LLM inference.",
    )
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE|PATH",
                        help="load a plugin (module name, .py file or package folder) that registers chip "
                             "families or mappers, before the command; repeatable (also: $ARCHSIM_PLUGINS, "
                             "paths or modules separated by ':'; docs/plugins.md)")
    parser.add_argument("--debug", action="store_true",
                        help=f"print the full traceback of an internal error (also: {DEBUG_ENV}=1)")
    parser.add_argument("-q", "--quiet", dest="quiet_all", action="store_true",
                        help="no progress bars (they are drawn only on a terminal anyway; also $ARCHSIM_QUIET=1)")
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
    from archsim.progress import set_quiet

    set_quiet(args.quiet_all or getattr(args, "quiet", False))
    try:
        load_plugins(args.plugin)
    except ArchsimInputError as exc:
        print(f"archsim: error: {exc}", file=sys.stderr)
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
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, told in one line
        return _internal_error(args, exc)


def _internal_error(args, exc: Exception) -> int:
    import os
    import traceback

    if args.debug or os.environ.get(DEBUG_ENV):
        traceback.print_exception(exc, file=sys.stderr)
        return EXIT_INTERNAL
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:200] + "..."
    print(f"archsim {args.command}: internal error: {type(exc).__name__}: {text}{where}. This is a bug in "
          f"archsim, not in your input: please report it on {REPORT_TO} with the command line; "
          f"`archsim --debug {args.command} ...` prints the traceback", file=sys.stderr)
    return EXIT_INTERNAL


def load_plugins(specs: list[str]) -> None:
    """Load each `--plugin` (archsim.family.load_plugin: it also lists the plugin in $ARCHSIM_PLUGINS,
    so worker processes started later load it too)."""
    if not specs:
        return
    from archsim.family import load_plugin

    for spec in specs:
        load_plugin(spec)


if __name__ == "__main__":
    sys.exit(main())
