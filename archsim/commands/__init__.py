"""CLI subcommands, one module each (see archsim/cli.py for the contract).

The order here is the order `archsim --help` lists them.
"""
COMMAND_MODULES = [
    "run",
    "serve",
    "compare",
    "explain",
    "check",
    "list_cmd",
    "validate",
    "calibrate",
    "sweep",
    "search",
    "results",
    "frontier",
    "noc",
    "warmup",
]
