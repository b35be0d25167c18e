"""Groq-style tensor streaming processors: SRAM only, static schedule, chip-to-chip links (docs/tsp.md)."""
from archsim.family import Family

FAMILY = Family(
    kind="tsp",
    description="tensor streaming processors (Groq LPU): SRAM only, statically scheduled, C2C links",
    schema="archsim.families.tsp.schema:TSP",
    peaks="archsim.families.tsp.schema:tsp_peaks",
    energy="archsim.families.tsp.energy:tsp_energy",
    mappers={"tsp-static": "archsim.families.tsp.mapper.static"},
    default_mapper="tsp-static",
    validation=("archsim.families.tsp.validation",),
    topologies=("dragonfly", "all-to-all", "switch"),
    interconnect="archsim.families.tsp.schema:TSP_INTERCONNECT",
    configs="configs",
    serving="archsim.families.tsp.serving",
    mapping_schema="archsim.families.tsp.mapping:SCHEMA",
)
