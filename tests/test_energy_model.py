"""Energy model (archsim/energy): conservation, static power of idle chips, scaling with the
coefficients, the TDP flag, missing coefficients, units and the bundled chip files."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from archsim.energy.model import STATIC_UNUSED, STATIC_USED
from archsim.hw.load import bundled_names, config_path, load_system
from archsim.pipeline import run
from archsim.units import UnitError, parse_quantity
from archsim.workload.model import Scenario

DECODE = Scenario(phase="decode", batch=4, context_len=256)
CASES = [("h100-sxm", "tiny", {}, ()), ("dgx-h100", "llama3.1-8b", {"tp": "2"}, ()),
         ("groq-lpu", "tiny", {}, ()), ("wse2", "tiny", {}, ()),
         ("h100-sxm", "llama3.1-8b", {}, ("roofline",))]


def _run(chip, workload, options=None, overrides=(), scenario=DECODE, fidelity="task"):
    return run(chip, workload, scenario, options=options or {}, overrides=list(overrides), fidelity=fidelity)


@pytest.mark.parametrize("chip,workload,options,extra", CASES)
def test_breakdowns_add_up_to_the_total(chip, workload, options, extra):
    r = _run(chip, workload, options, fidelity=extra[0] if extra else "task")
    e = r.energy
    assert "missing" not in e, e
    assert math.isclose(sum(e["by_component_j"].values()), e["energy_j"], rel_tol=1e-9)
    assert math.isclose(sum(e["by_op_class_j"].values()), e["energy_j"], rel_tol=1e-9)
    assert r.energy_j == e["energy_j"] > 0
    assert math.isclose(r.avg_power_w, r.energy_j / r.latency_s, rel_tol=1e-12)
    assert math.isclose(r.energy_per_token_j, r.energy_j / DECODE.batch, rel_tol=1e-12)
    assert e["dynamic_j"] > 0 and all(v >= 0 for v in e["by_component_j"].values())


def test_idle_chips_still_draw_static_power():
    r = _run("dgx-h100", "llama3.1-8b", {"tp": "2"})
    chip = load_system("dgx-h100").chip
    idle, active = float(chip.power.idle), float(chip.power.active)
    e = r.energy
    assert r.chips_used == 2 and e["chips_charged"] == 8 and active > idle
    assert math.isclose(e["by_component_j"][STATIC_UNUSED], idle * 6 * r.latency_s, rel_tol=1e-12)
    assert math.isclose(e["by_component_j"][STATIC_USED], active * 2 * r.latency_s, rel_tol=1e-12)
    assert e["energy_j"] >= (idle * 6 + active * 2) * r.latency_s
    # the same mapping on a 16-GPU system pays for 8 more idle GPUs and nothing else
    big = _run("dgx-h100", "llama3.1-8b", {"tp": "2"}, [("count", 16)])
    assert math.isclose(big.latency_s, r.latency_s)
    assert math.isclose(big.energy_j - r.energy_j, idle * 8 * r.latency_s, rel_tol=1e-9)


def test_idle_chips_in_a_tsp_system():
    r = _run("groq-lpu-576", "tiny")
    e = r.energy
    assert r.chips_used < 576
    assert math.isclose(e["by_component_j"][STATIC_UNUSED],
                        float(load_system("groq-lpu").chip.power.idle)
                        * (576 - r.chips_used) * r.latency_s, rel_tol=1e-12)
    assert "unused" in e["note"]


def test_dynamic_energy_scales_with_its_coefficient():
    base = _run("h100-sxm", "llama3.1-8b")
    hbm = float(load_system("h100-sxm").chip.energy.hbm) * 1e12 / 8  # J/byte -> pJ/bit
    double = _run("h100-sxm", "llama3.1-8b", overrides=[("energy.hbm", f"{2 * hbm!r} pJ/bit")])
    b, d = base.energy["by_component_j"], double.energy["by_component_j"]
    assert math.isclose(d["hbm"], 2 * b["hbm"], rel_tol=1e-9)
    assert math.isclose(d["l2"], b["l2"], rel_tol=1e-12) and math.isclose(d["tensor"], b["tensor"], rel_tol=1e-12)


def test_system_overhead_is_charged_for_the_whole_run():
    r = _run("dgx-h100", "llama3.1-8b", overrides=[("power.overhead", "2 kW")])
    assert math.isclose(r.energy["by_component_j"]["system overhead"], 2000 * r.latency_s, rel_tol=1e-12)


def test_more_work_costs_more_dynamic_energy():
    small = _run("h100-sxm", "llama3.1-8b", scenario=Scenario(phase="decode", batch=1, context_len=256))
    large = _run("h100-sxm", "llama3.1-8b", scenario=Scenario(phase="decode", batch=32, context_len=256))
    assert large.energy["dynamic_j"] > small.energy["dynamic_j"]
    assert large.energy_per_token_j < small.energy_per_token_j  # batching amortizes weights and static power


def test_power_above_tdp_is_flagged_in_the_report():
    from archsim.report.text import render

    r = _run("h100-sxm", "llama3.1-8b", overrides=[("power.tdp", "100 W")])
    assert r.energy["over_tdp"]
    assert "WARNING" in render(r) and "TDP" in render(r)
    assert not _run("h100-sxm", "llama3.1-8b").energy["over_tdp"]


def test_missing_coefficient_is_named_and_the_run_still_reports():
    from archsim.report.text import render

    r = _run("h100-sxm", "tiny", overrides=[("energy.hbm", None)])
    assert r.energy["missing"] == "energy.hbm" and r.energy_j is None and r.cost_per_million_tokens is None
    assert "energy.hbm" in render(r)
    r = _run("dgx-h100", "tiny", overrides=[("chip.power.idle", None)])
    assert r.energy["missing"] == "power.idle" and "--set chip.power.idle" in r.energy["note"]


def test_a_chip_file_without_energy_or_price_sections_still_loads(tmp_path: Path):
    text = config_path("h100-sxm").read_text()
    stripped = text[:text.index("\nenergy:")] + "\n"
    path = tmp_path / "old.yaml"
    path.write_text(stripped)
    system = load_system(str(path))
    assert system.chip.energy.hbm is None and system.chip.price.capital_usd is None
    r = _run(str(path), "tiny")
    assert r.energy["missing"].startswith("energy.")


def test_energy_units():
    assert math.isclose(parse_quantity("3.9 pJ/bit", "energy_per_byte"), 3.9e-12 * 8)
    assert math.isclose(parse_quantity("0.25 pJ/B", "energy_per_byte"), 0.25e-12)
    assert math.isclose(parse_quantity("0.3 pJ/MAC", "energy_per_op"), 0.15e-12)
    assert math.isclose(parse_quantity("0.5 pJ/FLOP", "energy_per_op"), 0.5e-12)
    with pytest.raises(UnitError):
        parse_quantity("0.5 pJ", "energy_per_op")
    with pytest.raises(UnitError):
        parse_quantity("3 W/bit", "energy_per_byte")


def _leaves(node, prefix=""):
    for key in node.keys():
        value = node.get(key)
        if hasattr(value, "keys"):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_chip_has_idle_power_and_a_full_energy_section(name):
    chip = load_system(name).chip
    assert chip.power.idle is not None and 0 < chip.power.idle < chip.power.tdp
    for path, value in _leaves(chip.energy, "energy."):
        dtype = path.rsplit(".", 1)[-1]
        unsupported = (path.startswith("energy.flop.") and dtype in ("fp8", "fp6", "fp4") and chip.kind == "gpu"
                       and chip.compute.get(dtype) is None)
        assert (value is None) == unsupported, f"{name}: {path} = {value}"


def test_mesh_noc_traffic_counts_every_line_of_the_region():
    from archsim.families.mesh.energy import region_cores

    assert region_cores({"region": "757x996"}) == 757 * 996
    assert region_cores({"mesh": {"region_w": 10, "region_h": 20}, "region": "10x20"}) == 200
    assert region_cores({}) == 1
    r = _run("wse2", "gemm:2048x2048x2048", scenario=Scenario())
    assert r.energy["by_component_j"]["noc"] > 0


def test_a_bad_energy_value_is_a_located_spec_error():
    from archsim.errors import SpecError

    with pytest.raises(SpecError, match=r"energy\.hbm.*pJ/bit"):
        load_system("h100-sxm", [("energy.hbm", "3.9 W")])
    with pytest.raises(SpecError, match=r"price\.pue"):
        load_system("dgx-h100", [("price.pue", 0.5)])
    with pytest.raises(SpecError, match="did you mean 'hbm'"):
        load_system("h100-sxm", [("energy.hmb", "3.9 pJ/bit")])
