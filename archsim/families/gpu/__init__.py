"""NVIDIA-style GPUs: SMs with tensor cores, L2, HBM, NVLink between GPUs (docs/gpu.md)."""
from archsim.family import Family

FAMILY = Family(
    kind="gpu",
    description="GPUs: SMs with tensor cores, L2 and HBM; NVLink/NVSwitch between GPUs",
    schema="archsim.families.gpu.schema:GPU",
    peaks="archsim.families.gpu.schema:gpu_peaks",
    energy="archsim.families.gpu.energy:gpu_energy",
    mappers={"gpu-tiled": "archsim.families.gpu.mapper.tiled"},
    default_mapper="gpu-tiled",
    validation=("archsim.families.gpu.validation", "archsim.families.gpu.validation_micro",
                "archsim.families.gpu.validation_trtllm", "archsim.families.gpu.validation_trtllm10",
                "archsim.families.gpu.validation_nim",
                "archsim.families.gpu.validation_multinode"),
    topologies=("switch",),
    interconnect="archsim.families.gpu.schema:GPU_INTERCONNECT",
    configs="configs",
    serving="archsim.families.gpu.serving",
    mapping_schema="archsim.families.gpu.mapping:SCHEMA",
)
