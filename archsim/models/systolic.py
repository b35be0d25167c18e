"""Matrix-unit timing for the tensor streaming family: pure functions of integers.

Two models, one checked against the other:

- `systolic_cycles(rows, cols, dataflow, m, n, k)`: SCALE-Sim 3.0.0's compute
  cycles for C[m x n] = A[m x k] B[k x n] on a rows x cols array, for the
  output-, weight- and input-stationary dataflows. Every fold pays the full
  fill and drain and folds run back to back (shared reference README,
  "SCALE-Sim's compute-cycle formula"); tests/test_tsp_mxm.py checks it
  against every row of archsim/data/reference/scalesim_gemm.csv.
- `mxm_cycles(...)`: the TSP matrix unit (MXM) as weight-stationary planes.
  A tile of B (rows x cols weights) is installed, then the m activation
  vectors of A stream through it; the planes work on different tiles at once;
  with double buffering a plane installs its next tile while the current one
  streams. With one plane, an install of `rows` cycles (one row per cycle) and
  no double buffering it *is* SCALE-Sim's weight-stationary formula, which the
  tests check exactly.

The mapper (archsim/families/tsp/mapper/static.py) turns a chip description into the
arguments with `install_cycles` and `matrix_planes`.
"""
from __future__ import annotations

import math

DATAFLOWS = ("os", "ws", "is")


def _positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer. Got {value!r} instead.")


def systolic_cycles(rows: int, cols: int, dataflow: str, m: int, n: int, k: int) -> int:
    """SCALE-Sim compute cycles of one GEMM on a rows x cols systolic array."""
    _positive(rows=rows, cols=cols, m=m, n=n, k=k)
    if dataflow == "os":  # a rows x cols block of C stays; A and B stream k deep
        folds, per_fold = math.ceil(m / rows) * math.ceil(n / cols), k + rows + cols - 2
    elif dataflow == "ws":  # a rows x cols block of B stays; m rows of A stream
        folds, per_fold = math.ceil(k / rows) * math.ceil(n / cols), 2 * rows + cols + m - 2
    elif dataflow == "is":  # a block of A stays; n columns of B stream
        folds, per_fold = math.ceil(k / rows) * math.ceil(m / cols), 2 * rows + cols + n - 2
    else:
        raise ValueError(f"dataflow must be a str among {set(DATAFLOWS)}. Got {dataflow!r} instead.")
    return folds * per_fold - 1


def mxm_cycles(rows: int, cols: int, planes: int, m: int, n: int, k: int, install_cycles: int,
               double_buffered: bool, count: int = 1) -> int:
    """Cycles for `count` independent GEMMs C[m x n] = A[m x k] B[k x n] with B stationary.

    B is cut into ceil(k/rows) x ceil(n/cols) tiles (a partial tile is padded
    and costs a full install, as in SCALE-Sim); the busiest of `planes` planes
    gets ceil(tiles/planes) of them. Per tile: `install_cycles` to install it,
    m cycles to stream A's vectors, rows + cols - 2 to fill and drain. Double
    buffered, installs overlap streaming, so a plane advances one tile every
    max(install, m) cycles and fills and drains once.
    """
    _positive(rows=rows, cols=cols, planes=planes, m=m, n=n, k=k, install_cycles=install_cycles, count=count)
    tiles = count * math.ceil(k / rows) * math.ceil(n / cols)
    per_plane = math.ceil(tiles / planes)
    drain = rows + cols - 2
    if double_buffered:
        return install_cycles + (per_plane - 1) * max(install_cycles, m) + m + drain - 1
    return per_plane * (install_cycles + m + drain) - 1


def install_cycles(rows: int, cols: int, planes: int, element_bytes: float, install_bytes_per_cycle: float,
                   convert_per_cycle: float | None = None) -> int:
    """Cycles to install one rows x cols tile in each of `planes` planes loading at once.

    The planes share `install_bytes_per_cycle` of stream bandwidth; weights
    stored narrower than the compute format are widened on the way (one
    vector-ALU operation each), so at most `convert_per_cycle` weights per
    cycle arrive when that applies.
    """
    _positive(rows=rows, cols=cols, planes=planes)
    if not (element_bytes > 0 and install_bytes_per_cycle > 0):
        raise ValueError("element_bytes and install_bytes_per_cycle must be positive")
    per_cycle = install_bytes_per_cycle / element_bytes  # weights per cycle, all planes
    if convert_per_cycle is not None:
        per_cycle = min(per_cycle, convert_per_cycle)
    return max(1, math.ceil(rows * cols * planes / per_cycle))
