"""The `mesh` chip kind (Cerebras-style wafer-scale 2D mesh): schema and roofline peaks."""
from __future__ import annotations

from typing import TYPE_CHECKING

from archsim.hw.peaks import Peaks
from archsim.hw.schema import POWER, PRICE, energy_per_byte, energy_per_op, header
from archsim.limits import MAX_LATENCY_CYCLES, MAX_MESH_SIDE
from archsim.spec import Field

if TYPE_CHECKING:
    from archsim.hw.load import System

MESH = {
    **header("mesh"),
    "clock": Field("frequency", "core and fabric clock", positive=True),
    "grid": {
        "width": Field("int", "cores along x usable by programs", positive=True, maximum=MAX_MESH_SIDE),
        "height": Field("int", "cores along y usable by programs", positive=True, maximum=MAX_MESH_SIDE),
    },
    "core": {
        "sram": Field("bytes", "SRAM per core", positive=True),
        "sram_read": Field("bytes_per_cycle", "SRAM read bandwidth per core", positive=True),
        "sram_write": Field("bytes_per_cycle", "SRAM write bandwidth per core", positive=True),
        "fp16_fmac": Field("int", "FP16 fused multiply-accumulates per cycle per core (SIMD width)",
                           positive=True),
        # Software costs of the mesh mapper's PLMR model (docs/wafer.md). Absent: the calibrated
        # defaults in archsim/families/mesh/mapper/costs.py apply; set them for what-if studies.
        "message_overhead": Field("int", "cycles a core spends per message of a collective step "
                                  "(PLMR beta); default: calibrated", required=False, minimum=0,
                                  maximum=MAX_LATENCY_CYCLES),
        "vector_overhead": Field("int", "start-up cycles of one vector (DSD) instruction; default: calibrated",
                                 required=False, minimum=0, maximum=MAX_LATENCY_CYCLES),
    },
    "router": {
        "link_width": Field("bytes_per_cycle", "bytes per link per direction per cycle", positive=True),
        "hop_latency": Field("int", "cycles for a wavelet to cross one router and link", positive=True,
                             maximum=MAX_LATENCY_CYCLES),
        "colors": Field("int", "routable colors (virtual channels) per router", positive=True),
    },
    "io": {
        "bandwidth": Field("bandwidth", "system I/O off the wafer, per direction", positive=True),
    },
    "power": POWER,
    # Dynamic energy per unit of activity (archsim/families/mesh/energy.py, docs/economics.md); optional.
    "energy": {
        "flop": {
            "fp16": energy_per_op("one FP16 FMAC datapath operation (every dtype runs on the FP16 FMACs)"),
        },
        "sram": energy_per_byte("one byte read or written in a core's SRAM"),
        "noc": energy_per_byte("one byte across one router and link of the mesh (per hop)"),
        "io": energy_per_byte("one byte off the wafer (system I/O)"),
    },
    "price": PRICE,
}



def mesh_peaks(system: System, dtype: str) -> Peaks:
    c, n = system.chip, system.count
    cores = c.grid.width * c.grid.height
    # fp16 FMAC lanes; 2 FLOPs per FMAC. Other dtypes run at the fp16 rate (stated assumption).
    flops = 2.0 * c.core.fp16_fmac * c.clock * cores
    return Peaks(flops * n, flops * n, c.core.sram_read * c.clock * cores * n,
                 float(c.core.sram) * cores * n, "SRAM")
