"""Dynamic energy of a TSP run (mapper tsp-static, Groq-style).

- mxm: the operator graph's matrix FLOPs x energy.flop.int8 when weights are
  8-bit or narrower (the matrix unit's int8 mode), else energy.flop.fp16;
- vxm: every other operator's operations, and the reductions of collectives,
  x energy.vector;
- sram: bytes on the `sram` resource x energy.sram; c2c: bytes on every
  chip-to-chip link a transfer crosses x energy.c2c.
The engine simulates one chip of each tensor-parallel group (its peers work in
lockstep), so its bytes count tp times. At roofline fidelity each operator's
bytes cross SRAM once and nothing crosses a link.
"""
from __future__ import annotations

from archsim.energy.activity import by_resource
from archsim.energy.terms import byte_terms, flop_terms, ranks
from archsim.energy.model import Activity, Term
from archsim.families.tsp.schema import NARROW_DTYPES


def tsp_energy(a: Activity) -> list[Term]:
    mode = "int8" if a.scenario.weight_dtype in NARROW_DTYPES else "fp16"
    terms = flop_terms(a, f"energy.flop.{mode}", "energy.vector", "mxm", "vxm")
    if a.mapping is None:
        e = a.coeff("energy.sram")
        return terms + [Term("sram", op.name, op.bytes * e) for op in a.graph.ops if op.bytes > 0]
    n = ranks(a.mapping)
    names = {op.name for op in a.graph.ops}
    e_vector = a.coeff("energy.vector")
    terms += [Term("vxm", label, ops * e_vector * n) for label, ops in by_resource(a.work, ("vxm",)).items()
              if label not in names]  # collective reductions; operators' own work is counted from FLOPs
    terms += byte_terms(a, ("sram",), "energy.sram", "sram", n)
    if any(r.startswith("c2c") for r, _ in a.work):
        terms += byte_terms(a, ("c2c_local", "c2c_global"), "energy.c2c", "c2c", n)
    return terms
