"""Smoke tests of `archsim noc`: one rate, a latency-load curve with its plot,
a BookSim2 configuration file, and bad input (exit 2)."""
import json

from archsim.cli import main
from archsim.engine.noc import reference_path

SHORT = ["--sample-period", "400", "--warmup-periods", "1"]


def test_one_rate_prints_the_summary_and_writes_json(capsys, tmp_path):
    out = tmp_path / "r.json"
    assert main(["noc", "--mesh", "4x4", "--traffic", "uniform", "--rate", "0.1", "--json", str(out), *SHORT]) == 0
    text = capsys.readouterr().out
    for word in ("packet latency", "avg", "min", "max", "accepted", "hops", "router-cycles/s"):
        assert word in text
    data = json.loads(out.read_text())
    for key in ("packet_latency_avg", "network_latency_avg", "accepted_flit_rate", "hops_avg", "cycles",
                "router_cycles_per_s", "archsim_version"):
        assert key in data
    assert data["config"]["mesh_x"] == 4 and data["stable"]


def test_rates_print_the_curve_and_save_the_plot(capsys, tmp_path):
    png, js = tmp_path / "curve.png", tmp_path / "c.json"
    argv = ["noc", "--router", "mesh_min", "--mesh", "4x4", "--rates", "0.05,0.2,0.9", "--plot", str(png),
            "--json", str(js), *SHORT]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "offered" in text and "unstable" in text
    assert png.stat().st_size > 1000
    points = json.loads(js.read_text())["points"]
    assert [p["offered_flit_rate"] for p in points] == [0.05, 0.2, 0.9]
    assert points[-1]["packet_latency_avg"] is None  # unstable: no average reported


def test_booksim_config_with_command_line_overrides(capsys):
    cfg = str(reference_path("booksim_configs/mesh_typical.cfg"))
    assert main(["noc", "--booksim-config", cfg, "--mesh", "3x3", "--rate", "0.2", "--vcs", "4", *SHORT]) == 0
    assert "3x3 mesh, 4 VC x 8 flits" in capsys.readouterr().out


def test_bad_input_exits_2(capsys, tmp_path):
    assert main(["noc", "--mesh", "8by8"]) == 2
    assert main(["noc", "--traffic", "tornado"]) == 2
    assert main(["noc", "--vcs", "0"]) == 2
    assert main(["noc", "--plot", str(tmp_path / "x.png")]) == 2
    bad = tmp_path / "bad.cfg"
    bad.write_text("topology = mesh; routing_function = dor; hold_switch_for_packet = 1;")
    assert main(["noc", "--booksim-config", str(bad)]) == 2
    assert "hold_switch_for_packet" in capsys.readouterr().err
