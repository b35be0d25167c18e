"""Dynamic energy of a GPU run (mapper gpu-tiled, or the aggregate roofline-like one).

- tensor: the operator graph's matrix FLOPs (GEMMs, attention) x energy.flop.<the dtype the GEMMs run at:
  the weights', or the activations' for weight-only quantization (schema.math_dtype)>;
- vector: every other operator's FLOPs x energy.flop.fp32 (CUDA cores);
- l2: bytes on the `l2` resource (every byte an SM loads comes through L2, HBM traffic included)
  x energy.l2; hbm: bytes on `hbm` x energy.hbm; nvlink: bytes on `nvlink` x energy.link.
The engine simulates one representative GPU of each tensor-parallel group, so its
bytes count once per rank (tp); FLOPs come from the whole operator graph (norms
replicated on every rank are counted once: a small undercount, stated).
At roofline fidelity there are no task graphs: each operator's bytes cross HBM and L2 once.
"""
from __future__ import annotations

from archsim.energy.model import Activity, Term
from archsim.energy.terms import byte_terms, flop_terms, ranks
from archsim.families.gpu.schema import math_dtype


def gpu_energy(a: Activity) -> list[Term]:
    math = math_dtype(a.system.chip, a.scenario.weight_dtype, a.scenario.act_dtype)
    terms = flop_terms(a, f"energy.flop.{math}", "energy.flop.fp32", "tensor", "vector")
    if a.mapping is None:
        e_hbm, e_l2 = a.coeff("energy.hbm"), a.coeff("energy.l2")
        return terms + [Term(c, op.name, op.bytes * e) for op in a.graph.ops if op.bytes > 0
                        for c, e in (("hbm", e_hbm), ("l2", e_l2))]
    n = ranks(a.mapping)
    terms += byte_terms(a, ("hbm",), "energy.hbm", "hbm", n)
    terms += byte_terms(a, ("l2",), "energy.l2", "l2", n)
    if any(r == "nvlink" for r, _ in a.work):
        terms += byte_terms(a, ("nvlink",), "energy.link", "nvlink", n)
    return terms
