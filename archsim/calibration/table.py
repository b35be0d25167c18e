"""The calibration table: every model constant, its value, unit, origin, and the fit behind it.

Module-level names are what the families import; `TABLE` describes each one.
Hardware facts are not here (they live in the chip files with their sources).
"""
from __future__ import annotations

from dataclasses import dataclass

# --- GPU (archsim/families/gpu; docs/gpu.md) ---------------------------------------------------------------

# Fraction of the HBM peak a streaming kernel sustains, for chips whose file gives no
# `hbm.stream_fraction` of their own. Measured device-to-device copy: 3.0 of 3.35 TB/s
# on one H100 SXM and 4.3 of 4.8 TB/s on one H200 (shared reference hardware.md 1.3,
# [N9]); GB200 reaches 92% ([N10]).
HBM_FRACTION = 0.90

# Fixed time of one kernel that streams from DRAM, launch included, when kernels run
# back to back in a CUDA graph: the intercept a of t = a + V / b over a DRAM-resident
# streaming kernel of V bytes (the launch gap, the CTAs ramping up to the bytes in flight
# that saturate HBM, the first-byte DRAM latency, the drain of the last wave). FITTED
# jointly on two measured curves, A100 SXM4 80GB and H200 (te42kyfo/gpu-benches
# gpu-small-kernels, gpu_stream_kernels.csv): least squares on time with one a and one
# b per GPU; alone each gives 3.32 us (A100) and 3.26 us (H200). The A100 slope gives
# its `hbm.stream_fraction` (0.86); the H200 slope is not used (its fp64 kernel keeps
# too few bytes in flight to reach the copy bandwidth of [N9]).
STREAM_KERNEL_OVERHEAD_S = 3.3e-6

# A kernel that only reads and writes activations (no weights, no KV cache) whose bytes
# fit in this share of the L2 finds its inputs in L2, where the kernels before it wrote
# them: it costs a launch and its L2 traffic, not a DRAM stream. ASSUMED: the streams of
# weights in between also pass through L2 and evict; a quarter leaves them room. It
# decides only decode-sized activations (KB to a few MB).
L2_RESIDENT_FRACTION = 0.25

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
# 2.1e-5 s to every A100 kernel). Such a kernel takes ~1.3 us on the GPU (a tiny
# L2-resident kernel, launch to launch on A100, gpu_stream_kernels.csv), so about
# 20 us is the host's share.
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

# NCCL's own cost model for its other protocols and for NVLink SHARP (NVIDIA/nccl src/graph/tuning.cc,
# NCCL 2.28.3, ncclTunerConstantsDefaults): base latency and per-step NVLink latency of the ring with the
# LL128 and Simple protocols (LL is COLLECTIVE_BASE_S and the system's hop_latency), and the latency of an
# NVLS all-reduce inside one node (hwLatencies NVLINK NVLS Simple; its base latency is 0).
NCCL_LL128_BASE_S = 14.0e-6
NCCL_LL128_STEP_S = 1.9e-6
NCCL_SIMPLE_BASE_S = 8.4e-6
NCCL_SIMPLE_STEP_S = 3.4e-6
NCCL_NVLS_LATENCY_S = 25e-6

# Bus bandwidth of an NVLS (NVLink SHARP) all-reduce as a share of the NVLink line rate. FITTED (0 degrees
# of freedom) on one measured single-node run of 8 H100s, 476 GB/s busBw (NVIDIA/nccl-tests issue #290,
# published_results.csv nccl-dgxh100-allreduce-nvls-busbw), against the 450 GB/s line rate. The NCCL
# maintainer gives "a peak busBw of ~480GB/s" (nccl-tests issue #212), as does GTC talk S62129 (quoted in
# NVIDIA/nccl issue #1374). ASSUMED the same share on Blackwell (NCCL's own model rates Blackwell's NVLS at
# 0.74/0.85 of Hopper's).
NVLS_BUS_EFFICIENCY = 476.0 / 450.0

# One-shot all-reduce through peer memory (vLLM/SGLang custom all-reduce, TensorRT-LLM ONESHOT), beyond the
# launch gap: a fixed part and a part per peer (flags written to and polled from every peer, first loads
# from each). FITTED on SGLang's measured latencies at 1-8 KB on 2, 4 and 8 H100s (sgl-project/sglang pull
# request #2904, custom_allreduce.csv): least squares of latency over n - 1, less KERNEL_LAUNCH_S. A two-shot
# pays it twice (two exchange phases). ASSUMED the same on other NVLink GPUs.
CUSTOM_AR_BASE_S = 2.77e-6
CUSTOM_AR_PER_PEER_S = 0.34e-6

# Fraction of the NVLink line rate a collective's payload gets: NCCL's protocol
# overhead. FITTED (0 degrees of freedom) on the ring bus bandwidth the NCCL maintainer gives (the case
# nccl-dgxh100-allreduce-ring-busbw in published_results.csv). NCCL maintainer (sjeaugey, NVIDIA/nccl-tests issue #212, 2024-05-06):
# on H100 "450GB/s is the line rate. With the protocol overhead (~20%) NCCL can
# get an effective NVLink bandwidth of 370GB/s" (ring bus bandwidth): 370 / 450.
# A cross-check, not a second source of the value: NCCL's tuning model caps A100
# ring bus bandwidth at 235 of 300 GB/s (0.78).
NVLINK_PROTOCOL_EFFICIENCY = 370.0 / 450.0

# Bytes each thread of a streaming (elementwise / reduction) kernel keeps in
# flight: two 16-byte vector loads. With Little's law this sets the bandwidth a
# kernel with few resident warps can reach (in flight / memory latency).
# ASSUMED (the usual vectorised-load pattern of PyTorch's elementwise kernels).
STREAM_BYTES_IN_FLIGHT_PER_THREAD = 32

# Operations per weight a weight-only GEMM spends dequantizing its B tile on the CUDA cores (unpack the
# 4- or 8-bit code to 16 bits and apply the group scale). ASSUMED: Marlin-style kernels convert two int4
# codes to fp16 with one LOP3 and scale them with one HFMA2 (IST-DASLab/marlin), about 1-2 per weight; 2
# covers the scale load and the fp8 path.
DEQUANT_OPS_PER_WEIGHT = 2

# --- Wafer-scale mesh (archsim/families/mesh; docs/wafer.md) -----------------------------------------------

# PLMR beta: software cycles per message in a collective step (task activation,
# receive set-up, hand-shake). FITTED jointly with sigma on WaferLLM's WSE-2 decode
# (Table 4) and prefill (Table 3) rows: minimax relative error over the six rows.
MESSAGE_OVERHEAD_CYCLES = 36
# Start-up cycles of one vector (DSD) instruction in local compute (loop and
# descriptor set-up). FITTED with beta (above).
VECTOR_OVERHEAD_CYCLES = 12
# Cerebras's first inference release (Aug 2024) "utilized only a fraction of peak
# bandwidth, compute and IO" and its Oct 2024 rewrite of the matmul, reduce/broadcast and
# elementwise kernels was several times faster [hardware.md C3]: its per-message and
# per-instruction overheads are this multiple of WaferLLM's. FITTED on cerebras-8b
# (1 CS-3) alone; cerebras-70b (4 CS-3) is a prediction.
CEREBRAS_2024_OVERHEAD_SCALE = 2.20
# SRAM per core that data cannot use: program code, stack, task table, runtime.
# ASSUMED (WaferLLM's WSE-3 port reports link failures for .bss and the task table
# before data filled the 48 KB, so code is not negligible).
RESERVED_SRAM_BYTES = 4096


@dataclass(frozen=True)
class Constant:
    name: str
    value: float
    unit: str
    family: str  # the family whose model uses it ("" for shared)
    origin: str  # measured | fitted | assumed
    data: str  # what it is read off or fitted on
    fit: str = ""  # how (fitted constants)
    cases: tuple[str, ...] = ()  # validation cases the fit used, or that measure what it was fitted on: not evidence
    fitted_jointly: int = 1  # constants fitted together on the same data (for the degrees of freedom)
    points: int = 0  # data points of the fit (default: its cases; more when an anchor is not a case)
    refit: str = ""  # "module:function" returning {constant name: value}, re-running the fit
    where: str = ""  # where the value lives if not in this module ("chip FILE: key")

    @property
    def dof(self) -> int | None:
        """Degrees of freedom of the fit: data points minus constants fitted on them."""
        return (self.points or len(self.cases)) - self.fitted_jointly if self.origin == "fitted" else None


def _fp8_ceiling(chip: str, tflops: float, shape: str, case: str) -> Constant:
    """A chip's measured best fp8 GEMM throughput (MAMF's shape search), the ceiling gemm.py times fp8 under."""
    return Constant(f"{chip} matmul_ceiling.fp8", tflops, "TFLOP/s", "gpu", "fitted",
                    f"stas00/ml-engineering MAMF table: the best fp8 torch GEMM (cuBLASLt) of a shape search on one "
                    f"{chip}, {tflops} TFLOP/s at {shape} (published_results.csv {case})",
                    fit="the measured maximum itself: no fp8 GEMM is timed faster (gemm.py _under_ceiling)",
                    cases=(case,), points=1, refit="archsim.families.gpu.fits:refit_matmul_ceiling",
                    where=f"{chip}: matmul_ceiling.fp8")


_WAFERLLM_ROWS = tuple(f"wafer-{p}-8b-{s}" for p, sides in (("decode", (420, 540, 660)), ("prefill", (480, 600, 720)))
                       for s in sides)
_H100_ENERGY_CASES = ("gpu-h100-power-b1",)
_STREAM_CASES = ("gpu-a100-stream-84mb", "gpu-a100-stream-986mb")  # fit data archsim reproduces
_CUSTOM_AR_CASES = tuple(f"gpu-h100-oneshot-tp{n}-{s}" for s in (512, 4096) for n in (2, 4, 8))  # the other anchor, the GEMM at 700 W, is not a case

TABLE: tuple[Constant, ...] = (
    Constant("HBM_FRACTION", HBM_FRACTION, "of HBM peak", "gpu", "measured",
             "device-to-device copy on H100 SXM (3.0 of 3.35 TB/s) and H200 (4.3 of 4.8 TB/s), hardware.md 1.3"),
    Constant("STREAM_KERNEL_OVERHEAD_S", STREAM_KERNEL_OVERHEAD_S, "s per kernel", "gpu", "fitted",
             "te42kyfo/gpu-benches gpu-small-kernels, CUDA graph, A100 SXM4 80GB (17 sizes) and H200 (25 sizes) "
             "above twice the L2 (gpu_stream_kernels.csv)",
             fit="least squares of time = a + V/b_gpu, one a, one b per GPU; a rounded to 0.1 us",
             cases=_STREAM_CASES, fitted_jointly=3, points=42,
             refit="archsim.families.gpu.fits:refit_stream_kernel"),
    Constant("a100-sxm-80gb hbm.stream_fraction", 0.86, "of HBM peak", "gpu", "fitted",
             "as STREAM_KERNEL_OVERHEAD_S (the A100 slope b / 2.039 TB/s; cross-check: the same repository's "
             "cuda-stream read kernel, 1,769 GB/s = 0.868)",
             fit="the same least squares; rounded to 0.01", cases=_STREAM_CASES, fitted_jointly=3, points=42,
             refit="archsim.families.gpu.fits:refit_stream_kernel", where="a100-sxm-80gb: hbm.stream_fraction"),
    Constant("DEQUANT_OPS_PER_WEIGHT", DEQUANT_OPS_PER_WEIGHT, "ops per weight", "gpu", "assumed",
             "Marlin-style weight-only dequantization: unpack and scale, 1-2 ops per weight"),
    Constant("L2_RESIDENT_FRACTION", L2_RESIDENT_FRACTION, "of L2 capacity", "gpu", "assumed",
             "activation-only kernels under this share of L2 read from L2, not DRAM"),
    Constant("TENSOR_EFFICIENCY", TENSOR_EFFICIENCY, "of tensor peak", "gpu", "measured",
             "CUTLASS 3.8 README chart: F16 97%, BF16 94% of peak at power, 16384x17920x16384"),
    Constant("HOST_DISPATCH_S", HOST_DISPATCH_S, "s per kernel", "gpu", "measured",
             "LLMCompass: 21 us median wall time of a 1x1x1 torch.bmm on A100, less ~1.3 us of GPU time (a tiny "
             "L2-resident kernel on A100 in a graph, gpu_stream_kernels.csv)"),
    Constant("KERNEL_LAUNCH_S", KERNEL_LAUNCH_S, "s per kernel", "gpu", "measured",
             "CUDA-graph replay cost per kernel node, 0.58 us (ahrefs/ocannl issue #488)"),
    Constant("COLLECTIVE_BASE_S", COLLECTIVE_BASE_S, "s per collective", "gpu", "measured",
             "NCCL tuning model, ring LL base latency (NVIDIA/nccl src/graph/tuning.cc)"),
    Constant("NVLINK_PROTOCOL_EFFICIENCY", NVLINK_PROTOCOL_EFFICIENCY, "of NVLink line rate", "gpu", "fitted",
             "NCCL maintainer, nccl-tests issue #212: 370 of 450 GB/s on H100 (ring bus bandwidth)",
             fit="measured ring bus bandwidth / line rate", cases=("nccl-dgxh100-allreduce-ring-busbw",),
             refit="archsim.families.gpu.fits:refit_nccl_bus"),
    Constant("CUSTOM_AR_BASE_S", CUSTOM_AR_BASE_S, "s per all-reduce", "gpu", "fitted",
             "SGLang PR #2904: one-shot custom all-reduce latency at 1-8 KB on 2/4/8 H100 (custom_allreduce.csv)",
             fit="least squares of latency over peers (n - 1), intercept less KERNEL_LAUNCH_S, to 0.01 us",
             cases=_CUSTOM_AR_CASES, fitted_jointly=2, refit="archsim.families.gpu.fits:refit_custom_allreduce"),
    Constant("CUSTOM_AR_PER_PEER_S", CUSTOM_AR_PER_PEER_S, "s per peer", "gpu", "fitted",
             "as CUSTOM_AR_BASE_S (fitted together)", fit="the same least squares, slope to 0.01 us",
             cases=_CUSTOM_AR_CASES, fitted_jointly=2, refit="archsim.families.gpu.fits:refit_custom_allreduce"),
    Constant("NCCL_LL128_BASE_S", NCCL_LL128_BASE_S, "s per collective", "gpu", "measured",
             "NCCL 2.28.3 tuning model, ring LL128 base latency (NVIDIA/nccl src/graph/tuning.cc)"),
    Constant("NCCL_LL128_STEP_S", NCCL_LL128_STEP_S, "s per ring step", "gpu", "measured",
             "NCCL 2.28.3 tuning model, NVLink ring LL128 hardware latency"),
    Constant("NCCL_SIMPLE_BASE_S", NCCL_SIMPLE_BASE_S, "s per collective", "gpu", "measured",
             "NCCL 2.28.3 tuning model, ring Simple base latency"),
    Constant("NCCL_SIMPLE_STEP_S", NCCL_SIMPLE_STEP_S, "s per ring step", "gpu", "measured",
             "NCCL 2.28.3 tuning model, NVLink ring Simple hardware latency"),
    Constant("NCCL_NVLS_LATENCY_S", NCCL_NVLS_LATENCY_S, "s per collective", "gpu", "measured",
             "NCCL 2.28.3 tuning model, NVLink NVLS Simple latency (single node)"),
    Constant("NVLS_BUS_EFFICIENCY", NVLS_BUS_EFFICIENCY, "of NVLink line rate", "gpu", "fitted",
             "nccl-tests issue #290: NVLS all-reduce bus bandwidth 476 GB/s on 8 H100 (line rate 450 GB/s); the "
             "maintainer's ~480 (issue #212) agrees", fit="measured bus bandwidth / line rate",
             cases=("nccl-dgxh100-allreduce-nvls-busbw",), refit="archsim.families.gpu.fits:refit_nccl_bus"),
    Constant("STREAM_BYTES_IN_FLIGHT_PER_THREAD", STREAM_BYTES_IN_FLIGHT_PER_THREAD, "bytes", "gpu", "assumed",
             "two 16-byte vector loads per thread (the usual vectorised elementwise kernel)"),
    Constant("h100-sxm clock_under_load", 1614, "MHz", "gpu", "fitted",
             "[N9]: a bf16 GEMM at 8192^3 measured at 798 TFLOP/s on one H100 SXM (published_results.csv "
             "calib-h100-gemm-8192-bf16)",
             fit="nominal clock x measured / predicted TFLOP/s of that GEMM at the nominal clock",
             cases=("gpu-h100-gemm-peak",), points=1, refit="archsim.families.gpu.validation:refit_h100_clock",
             where="h100-sxm: clock_under_load"),
    Constant("a100-sxm-80gb clock_under_load", 1314, "MHz", "gpu", "fitted",
             "stas00/ml-engineering MAMF table: bf16 torch.mm at 1024x10240x5120 measured at 271.2 TFLOP/s on one A100 "
             "SXM (published_results.csv gpu-a100-gemm-peak)",
             fit="nominal clock x measured / predicted TFLOP/s of that GEMM at the nominal clock",
             cases=("gpu-a100-gemm-peak",), points=1, refit="archsim.families.gpu.validation:refit_a100_clock",
             where="a100-sxm-80gb: clock_under_load"),
    Constant("b200 clock_under_load", 1685, "MHz", "gpu", "fitted",
             "stas00/ml-engineering MAMF table: bf16 torch.mm at 1792x16128x3072 measured at 1,745 TFLOP/s on one "
             "B200 SXM (published_results.csv gpu-b200-gemm-peak)",
             fit="nominal clock (1965 MHz, ASSUMED) x measured / predicted TFLOP/s of that GEMM at the nominal clock",
             cases=("gpu-b200-gemm-peak",), points=1, refit="archsim.families.gpu.validation:refit_b200_clock",
             where="b200: clock_under_load"),
    _fp8_ceiling("h100-sxm", 1402.6, "1024x9216x14336", "gpu-h100-fp8-gemm-peak"),
    _fp8_ceiling("h200", 1453.4, "1280x4096x12032", "gpu-h200-fp8-gemm-peak"),
    _fp8_ceiling("b200", 3432.5, "15360x4096x3072", "gpu-b200-fp8-gemm-peak"),
    Constant("h100-sxm energy.flop.bf16", 0.537, "pJ/FLOP", "gpu", "fitted",
             "the 8192^3 bf16 GEMM measured at 798 TFLOP/s [N9] runs at the 700 W power limit (published_results.csv "
             "calib-h100-gemm-power), given the chip's active power, HBM, L2 and fp32 energies",
             fit="(700 W - active static - HBM, L2 and vector power) / tensor FLOP/s (validation/energy.py "
                 "calibrate_h100)", cases=("gpu-h100-gemm-power",), refit="archsim.validation.energy:refit_h100",
             where="h100-sxm: energy.flop.bf16"),
    Constant("a100-sxm-80gb power.active", 62, "W", "gpu", "fitted",
             "te42kyfo/gpu-benches gpu-roofline: board power of eight A100-SXM4-40GB over DRAM bandwidth and FP64 rate, "
             "20 operating points (gpu_power_roofline.csv)",
             fit="least squares of power = P0 + e_byte x GB/s + e_flop x GFLOP/s; P0 to 1 W",
             cases=("gpu-a100-power-stream",), fitted_jointly=3, points=20,
             refit="archsim.families.gpu.fits:refit_power", where="a100-sxm-80gb: power.active"),
    Constant("a100-sxm-80gb energy.hbm", 14.2, "pJ/bit", "gpu", "fitted",
             "as a100-sxm-80gb power.active (the same fit)", fit="the slope e_byte less the chip's energy.l2, to 0.1",
             cases=("gpu-a100-power-stream",), fitted_jointly=3, points=20,
             refit="archsim.families.gpu.fits:refit_power", where="a100-sxm-80gb: energy.hbm"),
    Constant("h200 power.active", 105, "W", "gpu", "fitted",
             "te42kyfo/gpu-benches gpu-roofline: board power of one H200 at 1980 MHz over DRAM bandwidth and FP64 rate, "
             "55 operating points (gpu_power_roofline.csv); h100-sxm takes the same value (same die)",
             fit="least squares of power = P0 + e_byte x GB/s + e_flop x GFLOP/s; P0 to 1 W",
             cases=("gpu-h200-power-stream",), fitted_jointly=3, points=55,
             refit="archsim.families.gpu.fits:refit_power", where="h200: power.active"),
    Constant("h200 energy.hbm", 14.3, "pJ/bit", "gpu", "fitted",
             "as h200 power.active (the same fit); h100-sxm takes the same value",
             fit="the slope e_byte less the chip's energy.l2, to 0.1",
             cases=("gpu-h200-power-stream",), fitted_jointly=3, points=55,
             refit="archsim.families.gpu.fits:refit_power", where="h200: energy.hbm"),
    Constant("MESSAGE_OVERHEAD_CYCLES", MESSAGE_OVERHEAD_CYCLES, "cycles per message", "mesh", "fitted",
             "WaferLLM (OSDI 2025) WSE-2 Llama-3-8B decode (Table 4: 420/540/660 regions) and prefill "
             "(Table 3: 480/600/720)",
             fit="grid search beta 30..42 x sigma 8..16, minimax relative error over the six rows (ties: least "
                 "squares)", cases=_WAFERLLM_ROWS, fitted_jointly=2,
             refit="archsim.families.mesh.validation:refit_overheads"),
    Constant("VECTOR_OVERHEAD_CYCLES", VECTOR_OVERHEAD_CYCLES, "cycles per instruction", "mesh", "fitted",
             "as MESSAGE_OVERHEAD_CYCLES (fitted together)", fit="the same grid search", cases=_WAFERLLM_ROWS,
             fitted_jointly=2, refit="archsim.families.mesh.validation:refit_overheads"),
    Constant("CEREBRAS_2024_OVERHEAD_SCALE", CEREBRAS_2024_OVERHEAD_SCALE, "x WaferLLM overheads", "mesh",
             "fitted", "Cerebras's Aug-2024 Llama-3.1-8B service speed on one CS-3 (published_results.csv)",
             fit="scan 1.50..3.00 in steps of 0.05, least |error| on cerebras-8b", cases=("cerebras-8b",),
             refit="archsim.families.mesh.validation:refit_cerebras_scale"),
    Constant("RESERVED_SRAM_BYTES", RESERVED_SRAM_BYTES, "bytes per core", "mesh", "assumed",
             "code, stack and task table (WaferLLM's WSE-3 port ran out of room for them before data filled 48 KB)"),
)


def constant(name: str) -> Constant:
    for c in TABLE:
        if c.name == name:
            return c
    raise KeyError(name)
