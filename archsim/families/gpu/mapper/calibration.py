"""Calibration constants of the GPU model: few, named, the same for every
workload and every chip generation. Each says which measurement it comes
from; docs/gpu.md has the table. Hardware facts (SM count, peaks, clocks,
latency, link speeds) are not here: they live in the chip files (archsim/families/gpu/configs/) with sources.
"""
from __future__ import annotations

# Fraction of the HBM peak a streaming kernel sustains. Measured device-to-device
# copy: 3.0 of 3.35 TB/s on one H100 SXM and 4.3 of 4.8 TB/s on one H200
# (shared reference hardware.md 1.3, [N9]); GB200 reaches 92% ([N10]).
HBM_FRACTION = 0.90

# Fraction of the tensor-core peak (at the clock the chip sustains under load,
# `clock_under_load` in the chip file) that a tuned GEMM main loop issues.
# CUTLASS 3.8 README chart "% throughput of theoretical peak @ power",
# 16384x17920x16384: F16 97%, BF16 94% (NVIDIA/cutlass media/images/
# cutlass-3.8-blackwell-gemm-peak-performance.svg, bar heights).
TENSOR_EFFICIENCY = 0.95

# Host time to dispatch one eager framework operator (PyTorch op + cudaLaunch).
# LLMCompass measured a 1x1x1 torch.bmm on A100 at 21 us median wall time,
# launch and synchronize included (PrincetonUniversity/LLMCompass,
# software_model/matmul.py gpu_kernel_launch_overhead; its simulator adds
# 2.1e-5 s to every A100 kernel). This model gives that kernel ~1 us on the GPU
# (one launch gap plus one memory latency), so 20 us is the host's share.
# A CUDA graph pays it once per replay instead of once per kernel.
HOST_DISPATCH_S = 20e-6

# GPU-side gap between two dependent kernels already queued (the front end
# launching the next grid). Measured CUDA-graph replay cost per kernel node:
# ~0.58 us (chain of no-op kernels, ahrefs/ocannl issue #488, sm_120).
KERNEL_LAUNCH_S = 0.6e-6

# Fixed cost of one NCCL collective before its per-step latencies: NCCL's own
# tuning model, ring algorithm, LL protocol base latency (NVIDIA/nccl
# src/graph/tuning.cc, baseLat = 6.6 us). Per-step hop latency comes from the
# system file (interconnect.hop_latency, NCCL's hwLat for NVLink ring LL).
COLLECTIVE_BASE_S = 6.6e-6

# Fraction of the NVLink line rate a collective's payload gets: NCCL's protocol
# overhead. NCCL maintainer (sjeaugey, NVIDIA/nccl-tests issue #212, 2024-05-06):
# on H100 "450GB/s is the line rate. With the protocol overhead (~20%) NCCL can
# get an effective NVLink bandwidth of 370GB/s" (ring bus bandwidth): 370 / 450.
# A cross-check, not a second source of the value: NCCL's tuning model caps A100
# ring bus bandwidth at 235 of 300 GB/s (0.78).
NVLINK_PROTOCOL_EFFICIENCY = 370.0 / 450.0

# Bytes each thread of a streaming (elementwise / reduction) kernel keeps in
# flight: two 16-byte vector loads. With Little's law this sets the bandwidth a
# kernel with few resident warps can reach (in flight / memory latency).
STREAM_BYTES_IN_FLIGHT_PER_THREAD = 32
