"""Read BookSim2 configuration files and the shipped BookSim2 reference data.

`read_booksim_config` maps every option archsim models onto a `NocConfig`,
`SyntheticTraffic` and `Measurement`. The rule for everything else: an option
left at BookSim2's default is accepted (it changes nothing); an option that
only affects BookSim's output (statistics files, watch lists, power model) is
accepted whatever its value; any other option set to a value archsim cannot
reproduce is an error naming it; an unknown option is an error with a
suggestion. Values on the BookSim command line (`k=16`) can be passed as
`overrides`.
"""
from __future__ import annotations

import csv
import difflib
import re
from importlib import resources
from pathlib import Path

from archsim.engine.noc.config import NocConfig
from archsim.engine.noc.synthetic import PATTERNS, Measurement, SyntheticTraffic
from archsim.errors import ArchsimInputError

# BookSim2's defaults (src/booksim_config.cpp) for the options that can change
# a mesh simulation's result.
DEFAULTS: dict[str, object] = {
    "topology": "torus", "k": 8, "n": 2, "c": 1, "routing_function": "none", "use_noc_latency": 1,
    "subnets": 1, "link_failures": 0, "fail_seed": 0, "in_ports": 5, "out_ports": 5,
    "router": "iq", "output_delay": 0, "credit_delay": 0, "internal_speedup": 1.0,
    "output_buffer_size": -1, "noq": 0, "speculative": 0, "spec_check_elig": 1, "spec_check_cred": 1,
    "spec_mask_by_reqs": 0, "spec_sw_allocator": "prio", "num_vcs": 16, "vc_buf_size": 8,
    "buf_size": -1, "buffer_policy": "private", "private_bufs": -1, "private_buf_size": 1,
    "private_buf_start_vc": -1, "private_buf_end_vc": -1, "max_held_slots": -1,
    "feedback_aging_scale": 1, "feedback_offset": 0, "wait_for_tail_credit": 0,
    "vc_busy_when_full": 0, "vc_prioritize_empty": 0, "vc_priority_donation": 0,
    "vc_shuffle_requests": 0, "hold_switch_for_packet": 0, "input_speedup": 1, "output_speedup": 1,
    "routing_delay": 1, "vc_alloc_delay": 1, "sw_alloc_delay": 1, "st_prepare_delay": 0,
    "st_final_delay": 1, "vct": 0, "vc_allocator": "islip", "sw_allocator": "islip",
    "arb_type": "round_robin", "alloc_iters": 1, "vc_alloc_iters": 0, "sw_alloc_iters": 0,
    "classes": 1, "traffic": "uniform", "class_priority": 0, "perm_seed": 0, "injection_rate": 0.1,
    "injection_rate_uses_flits": 0, "packet_size": 1, "packet_size_rate": 1,
    "injection_process": "bernoulli", "burst_alpha": 0.5, "burst_beta": 0.5, "burst_r1": -1.0,
    "priority": "none", "batch_size": 1000, "batch_count": 1, "max_outstanding_requests": 0,
    "use_read_write": 0, "write_fraction": 0.5, "read_request_begin_vc": 0, "read_request_end_vc": 5,
    "write_request_begin_vc": 2, "write_request_end_vc": 7, "read_reply_begin_vc": 8,
    "read_reply_end_vc": 13, "write_reply_begin_vc": 10, "write_reply_end_vc": 15,
    "read_request_subnet": 0, "read_reply_subnet": 0, "write_request_subnet": 0,
    "write_reply_subnet": 0, "read_request_size": 1, "write_request_size": 1, "read_reply_size": 1,
    "write_reply_size": 1, "sim_type": "latency", "warmup_periods": 3, "sample_period": 1000,
    "max_samples": 10, "measure_stats": 1, "pair_stats": 0, "latency_thres": 500.0,
    "warmup_thres": 0.05, "acc_warmup_thres": 0.05, "stopping_thres": 0.05,
    "acc_stopping_thres": 0.05, "sim_count": 1, "include_queuing": 1, "seed": 0,
    "x": 8, "y": 8, "xr": 1, "yr": 1, "limit": 0,
}
# Options that only change what BookSim prints or writes, never the simulation.
OUTPUT_ONLY = {
    "print_activity", "print_csv_results", "print_vc_stats", "deadlock_warn_timeout", "viewer_trace",
    "watch_file", "watch_flits", "watch_packets", "watch_transactions", "watch_out", "stats_out",
    "flow_out", "sent_packets_out", "active_packets_out", "injected_flits_out", "ejected_flits_out",
    "received_flits_out", "sent_flits_out", "stored_flits_out", "outstanding_credits_out",
    "used_credits_out", "free_credits_out", "max_credits_out", "sim_power", "power_output_file",
    "tech_file", "channel_width", "channel_sweep", "channel_file", "network_file",
}
# Options archsim takes over (everything else must stay at its default).
MODELED = {
    "topology", "k", "n", "routing_function", "num_vcs", "vc_buf_size", "wait_for_tail_credit",
    "vc_allocator", "sw_allocator", "alloc_iters", "speculative", "credit_delay", "routing_delay",
    "vc_alloc_delay", "sw_alloc_delay", "st_prepare_delay", "st_final_delay", "input_speedup",
    "traffic", "packet_size", "injection_rate", "injection_rate_uses_flits", "injection_process",
    "sim_type", "warmup_periods", "sample_period", "max_samples", "latency_thres", "warmup_thres",
    "acc_warmup_thres", "stopping_thres", "acc_stopping_thres", "seed",
}
_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^;]*?)\s*;")


def parse_booksim_file(path) -> dict[str, str]:
    """`key = value;` pairs of a BookSim2 configuration file (raw strings)."""
    from archsim.yaml_io import read_text

    path = Path(path)
    try:
        text = read_text(path, "BookSim2 configuration")  # a regular file of bounded size, never a device
    except ArchsimInputError as exc:
        if "UTF-8" in str(exc):
            raise ArchsimInputError(f"BookSim2 configuration {path} is not a text file") from None
        raise
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out: dict[str, str] = {}
    pos = 0
    for m in _TOKEN.finditer(text):
        if text[pos:m.start()].strip():
            raise ArchsimInputError(f"{path}: cannot parse {text[pos:m.start()].strip()[:40]!r} "
                                    "(expected 'name = value;')")
        out[m.group(1)] = m.group(2).strip().strip('"')
        pos = m.end()
    if text[pos:].strip():
        raise ArchsimInputError(f"{path}: cannot parse {text[pos:].strip()[:40]!r} (expected 'name = value;')")
    return out


def _convert(path, key, raw, default):
    try:
        if isinstance(default, bool):
            return bool(int(raw))
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ArchsimInputError(f"{path}: option '{key}' must be {kind}; got {raw!r}.") from None
    return raw


def read_booksim_config(path, overrides: dict[str, str] | None = None):
    """(NocConfig, SyntheticTraffic, Measurement) for a BookSim2 config file."""
    raw = {**parse_booksim_file(path), **(overrides or {})}
    known = set(DEFAULTS) | OUTPUT_ONLY
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ArchsimInputError(f"{path}: unknown BookSim2 option '{key}'.{hint}")
    opt = {k: _convert(path, k, raw[k], DEFAULTS[k]) for k in raw if k in DEFAULTS}
    for key, value in opt.items():
        if key not in MODELED and value != DEFAULTS[key]:
            raise ArchsimInputError(
                f"{path}: option '{key}' = {raw[key]} is not modelled by archsim (only BookSim2's "
                f"default {DEFAULTS[key]!r} is supported).")
    get = lambda k: opt.get(k, DEFAULTS[k])  # noqa: E731

    def need(key, ok, what):
        if not ok:
            raise ArchsimInputError(f"{path}: option '{key}' = {raw.get(key, get(key))} is not supported; "
                                    f"archsim models {what}.")

    need("topology", get("topology") == "mesh", "topology = mesh only")
    need("n", get("n") == 2, "2-dimensional meshes (n = 2)")
    need("routing_function", get("routing_function") == "dor", "dimension-order routing (dor)")
    need("vc_allocator", get("vc_allocator") == "islip", "iSLIP allocators")
    need("sw_allocator", get("sw_allocator") == "islip", "iSLIP allocators")
    need("injection_process", get("injection_process") == "bernoulli", "Bernoulli injection")
    # BookSim evaluates a multi-cycle stage only when the previous evaluation
    # has completed (its deques block); archsim pipelines such stages instead.
    need("routing_delay", get("routing_delay") in (0, 1), "routing_delay 0 (lookahead) or 1")
    for key in ("vc_alloc_delay", "sw_alloc_delay"):
        need(key, get(key) == 1, "single-cycle allocators as BookSim2 schedules them")
    crossbar = get("st_prepare_delay") + get("st_final_delay")
    need("st_final_delay", crossbar == 1, "st_prepare_delay + st_final_delay = 1")
    traffic_name, hot_nodes, hot_rates = _traffic(path, get("traffic"))
    pkt = get("packet_size")
    rate = get("injection_rate") if get("injection_rate_uses_flits") else get("injection_rate") * pkt
    try:
        cfg = NocConfig(mesh_x=get("k"), mesh_y=get("k"), num_vcs=get("num_vcs"),
                        vc_buf_size=get("vc_buf_size"),
                        wait_for_tail_credit=bool(get("wait_for_tail_credit")),
                        speculative=bool(get("speculative")), routing_delay=get("routing_delay"),
                        credit_delay=get("credit_delay"), input_speedup=get("input_speedup"),
                        alloc_iters=get("alloc_iters"))
    except ArchsimInputError as exc:
        raise ArchsimInputError(f"{path}: {exc}") from None
    traffic = SyntheticTraffic(pattern=traffic_name, rate=float(rate), packet_flits=pkt,
                               hotspot_nodes=hot_nodes, hotspot_rates=hot_rates)
    meas = Measurement(sim_type=get("sim_type"), warmup_periods=get("warmup_periods"),
                       sample_period=get("sample_period"), max_samples=get("max_samples"),
                       latency_thres=get("latency_thres"), warmup_thres=get("warmup_thres"),
                       acc_warmup_thres=get("acc_warmup_thres"), stopping_thres=get("stopping_thres"),
                       acc_stopping_thres=get("acc_stopping_thres"), seed=get("seed"))
    traffic.check(cfg)
    meas.check()
    return cfg, traffic, meas


def _traffic(path, text: str):
    m = re.fullmatch(r"hotspot\(\s*\{([^}]*)\}\s*(?:,\s*\{([^}]*)\})?\s*\)", text.replace(" ", ""))
    if m:
        nodes = tuple(int(x) for x in m.group(1).split(",") if x)
        rates = tuple(float(x) for x in (m.group(2) or "").split(",") if x)
        return "hotspot", nodes, rates
    if text not in PATTERNS:
        raise ArchsimInputError(f"{path}: option 'traffic' = {text} is not supported; archsim models "
                                f"{', '.join(PATTERNS)} (hotspot as hotspot({{nodes}},{{rates}})).")
    return text, (), ()


def reference_path(name: str) -> Path:
    """A shipped reference file (archsim/data/reference/...)."""
    return Path(str(resources.files("archsim") / "data" / "reference" / name))


def load_reference_results() -> list[dict]:
    """Rows of booksim_mesh.csv as dicts (numbers as floats, blanks as None)."""
    with open(reference_path("booksim_mesh.csv")) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    for row in rows:
        for key in ("k", "injection_rate", "packet_lat_avg", "network_lat_avg", "accepted_flit_rate",
                    "hops_avg", "sim_cycles", "router_cycles_per_s"):
            row[key] = float(row[key]) if row[key] else None
    return rows
