"""Stated limits on the sizes a chip, workload, scenario or sweep may ask for.

Each limit is far above any real chip or model (the margin is given), and low
enough that one run stays within seconds and a few hundred MB: a size beyond
it is a typo or an attack, and is refused when the file is checked, before
any work starts, with the limit named in the error. docs/limits.md lists them.
Integers with no limit here are capped at archsim.spec.MAX_INT (2**53).
"""
from __future__ import annotations

# Chips and systems
MAX_SMS = 1_000_000  # GPU streaming multiprocessors (H100: 132; B200: 148)
MAX_MESH_SIDE = 4096  # cores along one side of a wafer mesh (WSE-3: 762 x 1176); the cycle-level
#                       network encodes a node's x and y in 12 bits each (engine/noc/config.py)
MAX_LATENCY_CYCLES = 1_000_000  # a latency or overhead given in cycles (a wafer router hop: 1)
MAX_CHIPS = 1_000_000  # chips in a system (Groq's largest reported deployment: 576; a 10,440-chip design)

# Prices (every float must also be finite: .nan and .inf are refused)
MAX_PRICE_USD = 1e15  # capital of a chip or system
MAX_AMORTIZATION_YEARS = 100.0
MAX_USD_PER_KWH = 1000.0  # electricity (2024 retail: ~0.05-0.50)
MAX_PUE = 10.0  # facility power / IT power (data centres: 1.1-2.0)

# Workloads (Llama-3.1-405B: 126 layers, hidden 16,384, 128 heads, vocabulary 128,256, context 131,072)
MAX_LAYERS = 10_000
MAX_HIDDEN = 2**20  # also ffn, head_dim
MAX_HEADS = 2**14
MAX_VOCAB = 2**24
MAX_CONTEXT = 2**24  # max_context, so also prompt_len and context_len
MAX_EXPERTS = 2**14

MAX_GEMM_DIM = 2**24  # each of M, N, K of an inline gemm:MxNxK

# Scenarios
MAX_BATCH = 2**20

# A GPU kernel with uneven thread blocks (prefill attention: batch x heads x query blocks) is
# scheduled block by block: its blocks are bounded (1M blocks take about a second).
MAX_KERNEL_CTAS = 2**20

# Sweeps
MAX_SWEEP_POINTS = 100_000  # points of one sweep (before constraints), counted before any is made
MAX_RANGE_VALUES = 100_000  # values of one range axis

# The cycle-level network's state (archsim/engine/noc/state.py) for one simulation
MAX_NOC_STATE_BYTES = 2 * 2**30
