"""Dynamic energy of a wafer-scale mesh run (mapper mesh-dataflow).

- fmac: the operator graph's FLOPs x energy.flop.fp16 (every dtype runs on the
  FP16 FMACs, as the mesh peaks assume);
- sram: a core's datapath reads both operands from its SRAM and writes the
  result back (2 x 64-bit reads and 1 x 64-bit write per cycle for 4 FP16
  FMACs [hardware.md C7]): 3 activation-sized accesses per FMAC (2 FLOPs) or
  per element operation, x energy.sram;
- noc: the engine times the busiest core and one line of each region; every
  row (or column) of the region does the same, each link of a line carrying a
  transfer's bytes once, so bytes x hops ~ task bytes x cores in the region,
  x energy.noc (per byte per hop);
- wafer_io: bytes leaving a wafer x energy.io.
At roofline fidelity there are no task graphs: no NoC or I/O traffic is counted.
"""
from __future__ import annotations

from archsim.energy.activity import op_flops
from archsim.energy.terms import byte_terms, flop_terms
from archsim.energy.model import Activity, Term
from archsim.workload.model import DTYPE_BYTES

SRAM_ACCESSES_PER_FMAC = 3  # two operand reads and one result write [hardware.md C7: 2 x 64-bit reads, 1 write]


def mesh_energy(a: Activity) -> list[Term]:
    terms = flop_terms(a, "energy.flop.fp16", "energy.flop.fp16", "fmac", "fmac")
    e_sram = a.coeff("energy.sram")
    d = DTYPE_BYTES[a.scenario.act_dtype]
    matrix, vector = op_flops(a.graph)
    per = SRAM_ACCESSES_PER_FMAC * d * e_sram
    terms += [Term("sram", label, f / 2 * per) for label, f in matrix.items()]
    terms += [Term("sram", label, f * per) for label, f in vector.items()]
    if a.mapping is None:
        return terms
    cores = region_cores(a.mapping.extra)
    if any(r.startswith("noc") for r, _ in a.work):
        terms += byte_terms(a, ("noc_x", "noc_y"), "energy.noc", "noc", cores)
    if any(r == "wafer_io" for r, _ in a.work):
        terms += byte_terms(a, ("wafer_io",), "energy.io", "wafer_io", 1.0)
    return terms


def region_cores(extra: dict) -> float:
    """Cores of the region one task graph stands for: the mapper's placement ('mesh'), or its 'WxH' label."""
    mesh = extra.get("mesh") or {}
    if "region_w" in mesh:
        return float(mesh["region_w"]) * float(mesh["region_h"])
    w, _, h = str(extra.get("region", "1x1")).partition("x")
    try:
        return float(w) * float(h)
    except ValueError:
        return 1.0
