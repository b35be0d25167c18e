"""Energy terms every family builds its resolver from (no family owns them).

- `flop_terms`: the operator graph's matrix and vector FLOPs x the chip file's per-FLOP energies;
- `byte_terms`: bytes the engine moved through named resources x a per-byte energy, scaled by the
  ranks that run the representative task graph side by side (`ranks`).
"""
from __future__ import annotations

from archsim.energy.activity import by_resource, op_flops
from archsim.energy.model import Activity, Term


def ranks(mapping) -> int:
    """GPUs (or chips) that run the representative task graph's work side by side."""
    if mapping is None:
        return 1
    raw = mapping.options.get("tp", 1)
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return 1


def flop_terms(a: Activity, matrix_key: str, vector_key: str, matrix_name: str, vector_name: str) -> list[Term]:
    matrix, vector = op_flops(a.graph)
    e_matrix, e_vector = a.coeff(matrix_key), a.coeff(vector_key)
    return ([Term(matrix_name, label, f * e_matrix) for label, f in matrix.items()]
            + [Term(vector_name, label, f * e_vector) for label, f in vector.items()])


def byte_terms(a: Activity, resources: tuple[str, ...], key: str, component: str, scale: float) -> list[Term]:
    e = a.coeff(key)
    return [Term(component, label, b * e * scale) for label, b in by_resource(a.work, resources).items()]
