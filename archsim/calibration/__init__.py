"""Every calibration constant of archsim, in one table (`archsim calibrate` prints it).

A calibration constant is a number of the *model* (how much of a peak real
kernels reach, what software costs per message), not of the hardware:
hardware numbers live in the chip files with their sources. Each entry says
where its value comes from:

- `measured`: read off a measurement, with its source; nothing was fitted;
- `fitted`: chosen so that archsim reproduces named validation cases; the
  entry names them, the fit and its degrees of freedom (data points minus
  constants fitted jointly). Those cases are not evidence for the constant:
  `archsim validate` lists them apart and never counts them;
- `assumed`: a stated assumption (ASSUMED), no measurement behind it.

The values are defined here and only here; the families import them from this
module. Fitted values that live in chip files (an energy per bit) are listed
with `where=` and checked against the file. `archsim calibrate --check` re-runs
every fit and shows each fitted constant is still what its fit gives.
"""
from archsim.calibration.table import (
    CEREBRAS_2024_OVERHEAD_SCALE,
    COLLECTIVE_BASE_S,
    CUSTOM_AR_BASE_S,
    CUSTOM_AR_PER_PEER_S,
    DEQUANT_OPS_PER_WEIGHT,
    HBM_FRACTION,
    HOST_DISPATCH_S,
    KERNEL_LAUNCH_S,
    L2_RESIDENT_FRACTION,
    MESSAGE_OVERHEAD_CYCLES,
    NCCL_LL128_BASE_S,
    NCCL_LL128_STEP_S,
    NCCL_NVLS_LATENCY_S,
    NCCL_SIMPLE_BASE_S,
    NCCL_SIMPLE_STEP_S,
    NVLINK_PROTOCOL_EFFICIENCY,
    NVLS_BUS_EFFICIENCY,
    RESERVED_SRAM_BYTES,
    STREAM_BYTES_IN_FLIGHT_PER_THREAD,
    STREAM_KERNEL_OVERHEAD_S,
    TABLE,
    TENSOR_EFFICIENCY,
    VECTOR_OVERHEAD_CYCLES,
    Constant,
)

__all__ = [
    "CEREBRAS_2024_OVERHEAD_SCALE", "COLLECTIVE_BASE_S", "CUSTOM_AR_BASE_S", "CUSTOM_AR_PER_PEER_S", "Constant", "DEQUANT_OPS_PER_WEIGHT", "HBM_FRACTION", "HOST_DISPATCH_S",
    "KERNEL_LAUNCH_S", "L2_RESIDENT_FRACTION", "MESSAGE_OVERHEAD_CYCLES",
    "NCCL_LL128_BASE_S", "NCCL_LL128_STEP_S", "NCCL_NVLS_LATENCY_S", "NCCL_SIMPLE_BASE_S", "NCCL_SIMPLE_STEP_S",
    "NVLINK_PROTOCOL_EFFICIENCY", "NVLS_BUS_EFFICIENCY", "RESERVED_SRAM_BYTES",
    "STREAM_BYTES_IN_FLIGHT_PER_THREAD", "STREAM_KERNEL_OVERHEAD_S", "TABLE", "TENSOR_EFFICIENCY", "VECTOR_OVERHEAD_CYCLES",
]
