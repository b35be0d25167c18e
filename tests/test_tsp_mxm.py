"""The TSP matrix-unit timing model against SCALE-Sim 3.0.0 (scalesim_gemm.csv), and its properties."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.hw.load import load_system
from archsim.families.tsp.mapper.chip import TspChip
from archsim.models.systolic import install_cycles, mxm_cycles, systolic_cycles
from archsim.validation.base import reference_rows

ROWS = reference_rows("scalesim_gemm.csv")


def _shape(row):
    rows, cols = (int(x) for x in row["array"].split("x"))
    return rows, cols, int(row["M"]), int(row["N"]), int(row["K"])


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['array']}-{r['dataflow']}-{r['M']}x{r['N']}x{r['K']}")
def test_systolic_cycles_equal_scalesim(row):
    rows, cols, m, n, k = _shape(row)
    assert systolic_cycles(rows, cols, row["dataflow"], m, n, k) == int(row["compute_cycles"])


@pytest.mark.parametrize("row", [r for r in ROWS if r["dataflow"] == "ws"], ids=lambda r: r["array"] + "-" + r["M"])
def test_mxm_model_reduced_to_one_scalesim_array_is_exact(row):
    """One plane, one weight row installed per cycle, no double buffering: SCALE-Sim's WS array."""
    rows, cols, m, n, k = _shape(row)
    assert mxm_cycles(rows, cols, 1, m, n, k, install_cycles=rows, double_buffered=False) \
        == int(row["compute_cycles"])


def test_fold_counts_match_scalesim():
    for row in ROWS:
        rows, cols, m, n, k = _shape(row)
        folds = {"os": math.ceil(m / rows) * math.ceil(n / cols), "ws": math.ceil(k / rows) * math.ceil(n / cols),
                 "is": math.ceil(k / rows) * math.ceil(m / cols)}[row["dataflow"]]
        assert folds == int(row["folds"])


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 400), cols=st.integers(1, 400), m=st.integers(1, 3000), n=st.integers(1, 5000),
       k=st.integers(1, 5000), install=st.integers(1, 400), planes=st.integers(1, 4))
def test_mxm_properties(rows, cols, m, n, k, install, planes):
    single = mxm_cycles(rows, cols, planes, m, n, k, install, double_buffered=False)
    double = mxm_cycles(rows, cols, planes, m, n, k, install, double_buffered=True)
    assert double <= single  # overlapping installs never hurts
    assert mxm_cycles(rows, cols, planes + 1, m, n, k, install, True) <= double  # nor does another plane
    assert mxm_cycles(rows, cols, planes, m, n, k, install + 1, True) >= double  # slower installs never help
    tiles_per_plane = math.ceil(math.ceil(k / rows) * math.ceil(n / cols) / planes)
    # every tile of the busiest plane must at least stream its m vectors and be installed
    assert double >= tiles_per_plane * m and double >= tiles_per_plane * install
    if planes == 1 and install == rows:
        assert single == systolic_cycles(rows, cols, "ws", m, n, k)


def test_groq_install_times():
    chip = TspChip.from_system(load_system("groq-lpu"))
    int8 = chip.matrix_mode("int8", "int8")
    assert (int8.planes, int8.install_cycles, int8.widened) == (4, 20, False)  # 409,600 B at 20,480 B/cycle
    fp16 = chip.matrix_mode("bf16", "bf16")
    assert (fp16.planes, fp16.install_cycles, fp16.widened) == (1, 10, False)
    w8a16 = chip.matrix_mode("int8", "bf16")  # widening on 5,120 vector ALUs: 102,400 weights in 20 cycles
    assert (w8a16.planes, w8a16.install_cycles, w8a16.widened) == (1, 20, True)


def test_install_cycles_arithmetic():
    assert install_cycles(320, 320, 4, 1, 10240) == 40
    assert install_cycles(320, 320, 1, 2, 20480, convert_per_cycle=5120) == 20
    assert install_cycles(128, 128, 1, 1, 128) == 128  # one row per cycle: SCALE-Sim's install


@pytest.mark.parametrize("call", [
    lambda: systolic_cycles(128, 128, "xs", 1, 1, 1),
    lambda: systolic_cycles(0, 128, "ws", 1, 1, 1),
    lambda: mxm_cycles(320, 320, 1, 1, 1, 1.5, 20, True),
    lambda: install_cycles(320, 320, 1, 0, 100),
])
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
