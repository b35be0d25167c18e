"""NocConfig validation and the BookSim2 configuration reader: one broken input per rule."""
import pytest

from archsim.engine.noc import NocConfig, preset, read_booksim_config
from archsim.engine.noc.booksim import parse_booksim_file
from archsim.errors import ArchsimInputError

BASE = "topology = mesh; k = 4; n = 2; routing_function = dor;\n"


@pytest.mark.parametrize("field,value,words", [
    ("mesh_x", 0, "at least 1"), ("num_vcs", 0, "between 1"), ("num_vcs", 33, "between 1"),
    ("vc_buf_size", 0, "at least 1"), ("routing_delay", -1, "between 0"), ("link_delay", -1, "between 0"),
    ("crossbar_delay", -1, "between 0"), ("vc_alloc_delay", 0, "between 1"), ("credit_delay", -1, "between 0"),
    ("input_speedup", 3, "num_vcs"), ("alloc_iters", 0, "between 1"),
    ("speculative", 1, "a bool"), ("num_vcs", 2.0, "an int"),
])
def test_config_rejects_each_bad_value_naming_the_option(field, value, words):
    with pytest.raises(ArchsimInputError, match=field) as exc:
        NocConfig(**{field: value})
    assert words in str(exc.value)


def test_zero_load_latency_formulas_of_the_reference_routers():
    assert [preset("mesh_min").zero_load_latency(h) for h in range(4)] == [6, 10, 14, 18]
    assert [preset("mesh_min_spec").zero_load_latency(h) for h in range(4)] == [5, 8, 11, 14]
    with pytest.raises(ArchsimInputError, match="mesh_typical"):
        preset("typical")


def _write(tmp_path, text, name="c.cfg"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reader_accepts_comments_overrides_and_output_only_options(tmp_path):
    p = _write(tmp_path, BASE + "/* block\n comment */ num_vcs = 2; // line comment\n"
               "vc_buf_size = 4; traffic = transpose; injection_rate = 0.05; packet_size = 2;\n"
               "print_csv_results = 1; watch_out = \"-\"; sample_period = 500;\n")
    cfg, traffic, meas = read_booksim_config(p, overrides={"k": "6"})
    assert (cfg.mesh_x, cfg.mesh_y, cfg.num_vcs, cfg.vc_buf_size) == (6, 6, 2, 4)
    assert cfg.routing_delay == 1  # BookSim's default is explicit routing
    assert (traffic.pattern, traffic.packet_flits) == ("transpose", 2)
    assert traffic.rate == pytest.approx(0.1)  # 0.05 packets/cycle x 2 flits
    assert meas.sample_period == 500


def test_reader_takes_hotspot_nodes_and_rates(tmp_path):
    p = _write(tmp_path, BASE + "traffic = hotspot({0, 5}, {1, 3}); injection_rate_uses_flits = 1;\n")
    _, traffic, _ = read_booksim_config(p)
    assert traffic.pattern == "hotspot" and traffic.hotspot_nodes == (0, 5)
    assert traffic.hotspot_rates == (1.0, 3.0)


@pytest.mark.parametrize("line,needle", [
    ("topology = torus;", "'topology' = torus"),
    ("n = 3;", "'n' = 3"),
    ("routing_function = romm;", "'routing_function'"),
    ("vc_allocator = separable_input_first;", "'vc_allocator'"),
    ("injection_process = on_off;", "'injection_process'"),
    ("routing_delay = 2;", "'routing_delay'"),
    ("vc_alloc_delay = 2;", "'vc_alloc_delay'"),
    ("sw_alloc_delay = 2;", "'sw_alloc_delay'"),
    ("st_final_delay = 2;", "'st_final_delay'"),
    ("hold_switch_for_packet = 1;", "'hold_switch_for_packet'"),
    ("output_speedup = 2;", "'output_speedup'"),
    ("internal_speedup = 2.0;", "'internal_speedup'"),
    ("vc_busy_when_full = 1;", "'vc_busy_when_full'"),
    ("buf_size = 64;", "'buf_size'"),
    ("classes = 2;", "'classes'"),
    ("priority = age;", "'priority'"),
    ("use_read_write = 1;", "'use_read_write'"),
    ("sim_count = 2;", "'sim_count'"),
    ("include_queuing = 0;", "'include_queuing'"),
    ("traffic = tornado;", "'traffic' = tornado"),
    ("num_vcs = 40;", "num_vcs"),
    ("nmu_vcs = 2;", "Did you mean 'num_vcs'"),
    ("k = eight;", "'k' must be an integer"),
    ("k = 8", "cannot parse"),
])
def test_reader_rejects_what_it_cannot_honour_naming_the_option(tmp_path, line, needle):
    p = _write(tmp_path, BASE + line + "\n")
    with pytest.raises(ArchsimInputError) as exc:
        read_booksim_config(p)
    assert needle in str(exc.value) and str(p) in str(exc.value)


def test_reader_error_for_a_missing_file(tmp_path):
    with pytest.raises(ArchsimInputError, match="cannot read"):
        parse_booksim_file(tmp_path / "nope.cfg")
