"""Dynamic energy of a tpu-torus run.

- mxu: the operator graph's matrix FLOPs x energy.flop.int8 when weights are
  8-bit or narrower, else energy.flop.bf16; vpu: every other operator's FLOPs,
  and the additions of all-reduces, x energy.vector;
- hbm: bytes on the `hbm` resource x energy.hbm; ici: bytes on each ICI link
  a transfer crosses x energy.link.
The engine simulates one chip of the tensor-parallel group, so its bytes count
tp times (archsim.energy.terms.ranks). At roofline fidelity each operator's
bytes cross HBM once and nothing crosses a link.
"""
from __future__ import annotations

from archsim.energy.activity import by_resource
from archsim.energy.model import Activity, Term
from archsim.energy.terms import byte_terms, flop_terms, ranks

from .schema import NARROW_DTYPES

LINKS = ("ici_x", "ici_y")


def tpu_energy(a: Activity) -> list[Term]:
    mode = "int8" if a.scenario.weight_dtype in NARROW_DTYPES else "bf16"
    terms = flop_terms(a, f"energy.flop.{mode}", "energy.vector", "mxu", "vpu")
    if a.mapping is None:
        e = a.coeff("energy.hbm")
        return terms + [Term("hbm", op.name, op.bytes * e) for op in a.graph.ops if op.bytes > 0]
    n = ranks(a.mapping)
    names = {op.name for op in a.graph.ops}
    e_vector = a.coeff("energy.vector")
    terms += [Term("vpu", label, ops * e_vector * n) for label, ops in by_resource(a.work, ("vpu",)).items()
              if label not in names]  # all-reduce additions; operators' own work is counted from FLOPs
    terms += byte_terms(a, ("hbm",), "energy.hbm", "hbm", n)
    if any(r in LINKS for r, _ in a.work):
        terms += byte_terms(a, LINKS, "energy.link", "ici", n)
    return terms
