"""Wafer-scale 2-D meshes of cores (Cerebras WSE-2/WSE-3), weights in SRAM (docs/wafer.md)."""
from archsim.family import Family

FAMILY = Family(
    kind="mesh",
    description="wafer-scale meshes of cores with SRAM (Cerebras WSE), layer regions and on-wafer collectives",
    schema="archsim.families.mesh.schema:MESH",
    peaks="archsim.families.mesh.schema:mesh_peaks",
    energy="archsim.families.mesh.energy:mesh_energy",
    mappers={"mesh-dataflow": "archsim.families.mesh.mapper.dataflow"},
    default_mapper="mesh-dataflow",
    validation=("archsim.families.mesh.validation",),
    topologies=("chain",),
    configs="configs",
    serving="archsim.families.mesh.serving",
    mapping_schema="archsim.families.mesh.mapping:SCHEMA",
)
