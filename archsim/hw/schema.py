"""Schemas of chip and system files. Each chip kind (`kind:` in the YAML) is a family
(archsim.family) that owns its chip schema (archsim/families/<kind>/schema.py, or a plugin's);
this module holds the parts every family shares and the system-file schema.

Every value is a unit string parsed once (archsim.units). Each bundled file
cites the source of each number in a comment next to it.
"""
from __future__ import annotations

from archsim.errors import ArchsimInputError
from archsim.family import families, get_family
from archsim.spec import Field

SUPPORTED_VERSIONS = (1,)

def header(kind: str) -> dict:
    return {
        "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
        "kind": Field("choice", "chip family", choices=(kind,)),
        "name": Field("str", "short name used on the command line"),
        "description": Field("str", "one line for `archsim list`"),
    }


POWER = {
    "tdp": Field("power", "thermal design power of one chip (or one system for a wafer)", positive=True),
    "idle": Field("power", "power drawn whenever the chip is on, busy or not (leakage, clocks, fans): the "
                  "static power of the energy model; absent: no energy is computed", required=False),
    "active": Field("power", "static power of a chip while it runs work (clocks and voltage up, nothing computed or "
                    "moved): charged to the chips a mapping uses; default: idle", required=False),
}

# Capital and running cost (archsim/energy/cost.py). Optional: a chip or system without a price gets
# no cost per token. A system's own price covers all its chips; without one, its chips' price x count.
PRICE = {
    "capital_usd": Field("float", "purchase price in US dollars (one chip, or the whole system)",
                         required=False, positive=True),
    "amortization_years": Field("float", "years over which the capital is written off", required=False,
                                default=4.0, positive=True),
    "electricity_usd_per_kwh": Field("float", "price of electricity, US dollars per kWh", required=False,
                                     default=0.10, minimum=0),
    "pue": Field("float", "power usage effectiveness: facility power / IT power (cooling, distribution)",
                 required=False, default=1.3, minimum=1),
}


def energy_per_op(doc: str) -> Field:
    return Field("energy_per_op", doc, required=False)


def energy_per_byte(doc: str) -> Field:
    return Field("energy_per_byte", doc, required=False)


def system_schema(kind: str | None = None) -> dict:
    """The schema of a `kind: system` file whose chips are of family `kind`: its topology choices are those
    the families declare, and its interconnect section also takes the keys that family adds
    (`Family.interconnect`: a topology's own parameters). kind None: the keys every system has."""
    topologies = tuple(dict.fromkeys(t for f in families().values() for t in f.topologies))
    interconnect = {
        "topology": Field("choice", "how the chips are connected", choices=topologies),
        "link_bandwidth": Field("bandwidth", "per chip port, per direction", positive=True),
        "links_per_chip": Field("int", "ports per chip used by this topology", positive=True),
        "hop_latency": Field("time", "latency of one chip-to-chip hop", positive=True),
    }
    return {
        "version": Field("choice", "schema version of this file", choices=SUPPORTED_VERSIONS),
        "kind": Field("choice", "a system of several chips", choices=("system",)),
        "name": Field("str", "short name used on the command line"),
        "description": Field("str", "one line for `archsim list`"),
        "chip": Field("str", "name or path of the member chip file"),
        "count": Field("int", "number of chips", positive=True),
        "interconnect": {**interconnect, **family_interconnect(kind, interconnect)},
        "power": {
            "overhead": Field("power", "power the system draws beyond its chips (host CPUs, switches, fans), busy "
                              "or idle; default 0 W (not charged)", required=False, default=0.0),
        },
        "price": PRICE,
    }


def family_interconnect(kind: str | None, common: dict) -> dict:
    """The interconnect keys family `kind` adds to its systems (none for None or a family that adds none)."""
    if kind is None:
        return {}
    family = get_family(kind)
    if not family.interconnect:
        return {}
    fields = dict(family.resolve(family.interconnect))
    clash = sorted(set(fields) & set(common))
    if clash:
        raise ArchsimInputError(f"chip family {kind!r} declares interconnect key(s) {', '.join(clash)}, which "
                                "every system file already has; its own parameters need other names")
    return fields


def chip_kinds() -> list[str]:
    return list(families())


def chip_schema(kind: str) -> dict:
    """The chip-file schema of family `kind` (imports only that family's schema module)."""
    family = get_family(kind)
    return family.resolve(family.schema)
