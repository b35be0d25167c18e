"""Schemas of chip and system files. Each chip kind (`kind:` in the YAML) lives in its
own module (archsim/hw/gpu.py, tsp.py, mesh.py) and registers its schema here.

Every value is a unit string parsed once (archsim.units). Each bundled file
cites the source of each number in a comment next to it.
"""
from __future__ import annotations

from archsim.registry import Registry
from archsim.spec import Field

SUPPORTED_VERSIONS = (1,)

CHIP_KINDS: Registry[dict] = Registry("chip kind")


def header(kind: str) -> dict:
    return {
        "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
        "kind": Field("choice", "chip family", choices=(kind,)),
        "name": Field("str", "short name used on the command line"),
        "description": Field("str", "one line for `archsim list`"),
    }


POWER = {
    "tdp": Field("power", "thermal design power of one chip (or one system for a wafer)", positive=True),
    "idle": Field("power", "power drawn when idle; defaults to none (unknown)", required=False),
}

SYSTEM = {
    "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
    "kind": Field("choice", "a system of several chips", choices=("system",)),
    "name": Field("str", "short name used on the command line"),
    "description": Field("str", "one line for `archsim list`"),
    "chip": Field("str", "name or path of the member chip file"),
    "count": Field("int", "number of chips", positive=True),
    "interconnect": {
        "topology": Field("choice", "how the chips are connected",
                          choices=("switch", "all-to-all", "dragonfly", "chain")),
        "link_bandwidth": Field("bandwidth", "per chip port, per direction", positive=True),
        "links_per_chip": Field("int", "ports per chip used by this topology", positive=True),
        "hop_latency": Field("time", "latency of one chip-to-chip hop", positive=True),
        "group_size": Field("int", "chips per all-to-all group (dragonfly); default: all", required=False),
    },
}



def _register_kinds() -> None:
    """Each chip kind registers its schema (and peaks) when its module is imported."""
    import archsim.hw.gpu  # noqa: F401
    import archsim.hw.mesh  # noqa: F401
    import archsim.hw.tsp  # noqa: F401
