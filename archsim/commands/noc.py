"""`archsim noc`: the cycle-level mesh network model on synthetic traffic.

Options combine in this order: archsim's defaults (BookSim2's minimal router:
1 VC of 64 flits), then `--router PRESET`, then `--booksim-config FILE`, then
any option given explicitly on the command line.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace

NAME = "noc"
HELP = "simulate the cycle-level mesh network (BookSim2-compatible) on synthetic traffic"

_ROUTER_OPTS = {  # flag dest -> NocConfig field
    "vcs": "num_vcs", "buf": "vc_buf_size", "routing_delay": "routing_delay",
    "va_delay": "vc_alloc_delay", "sa_delay": "sw_alloc_delay", "xbar_delay": "crossbar_delay",
    "link_delay": "link_delay", "credit_delay": "credit_delay", "input_speedup": "input_speedup",
    "alloc_iters": "alloc_iters", "speculative": "speculative",
    "wait_tail_credit": "wait_for_tail_credit",
}
_MEAS_OPTS = ("sim_type", "warmup_periods", "sample_period", "max_samples", "latency_thres", "seed")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network")
    g.add_argument("--mesh", help="mesh size KxM (default 8x8)")
    g.add_argument("--router", help="router preset: mesh_min (default), mesh_min_spec, mesh_typical, wafer")
    g.add_argument("--booksim-config", metavar="FILE", help="read a BookSim2 configuration file")
    g.add_argument("--vcs", type=int, help="virtual channels per port")
    g.add_argument("--buf", type=int, help="buffer depth per VC (flits)")
    g.add_argument("--routing-delay", type=int, help="0 = lookahead routing")
    g.add_argument("--va-delay", type=int, help="VC allocation cycles")
    g.add_argument("--sa-delay", type=int, help="switch allocation cycles")
    g.add_argument("--xbar-delay", type=int, help="crossbar cycles")
    g.add_argument("--link-delay", type=int, help="router-to-router channel cycles")
    g.add_argument("--credit-delay", type=int, help="cycles to process a returned credit")
    g.add_argument("--input-speedup", type=int, help="crossbar inputs per port")
    g.add_argument("--alloc-iters", type=int, help="iSLIP iterations")
    g.add_argument("--speculative", action=argparse.BooleanOptionalAction, default=None,
                   help="speculative switch allocation")
    g.add_argument("--wait-tail-credit", action=argparse.BooleanOptionalAction, default=None,
                   help="reuse an output VC only after its tail's credit returns")
    t = p.add_argument_group("traffic")
    t.add_argument("--traffic", help="uniform, transpose, bitcomp, hotspot, neighbor")
    t.add_argument("--rate", type=float, help="offered load, flits/node/cycle (default 0.1)")
    t.add_argument("--rates", help="comma-separated loads: print the latency-load curve")
    t.add_argument("--packet-flits", type=int, help="flits per packet")
    t.add_argument("--hotspot", help="hotspot node ids, comma-separated (default: the centre)")
    t.add_argument("--hotspot-fraction", type=float, help="share of traffic sent to the hotspots")
    m = p.add_argument_group("measurement (BookSim2's protocol)")
    m.add_argument("--sim-type", choices=("latency", "throughput"))
    m.add_argument("--warmup-periods", type=int)
    m.add_argument("--sample-period", type=int, help="cycles per sample period (default 10000)")
    m.add_argument("--max-samples", type=int)
    m.add_argument("--latency-thres", type=float, help="declare a load unstable above this latency")
    m.add_argument("--seed", type=int)
    o = p.add_argument_group("output")
    o.add_argument("--json", metavar="FILE", help="write results as JSON ('-' for stdout)")
    o.add_argument("--plot", metavar="FILE", help="with --rates: save the latency-load plot")


def _parse_mesh(text: str):
    from archsim.errors import ArchsimInputError

    try:
        k, m = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ArchsimInputError(f"--mesh must look like 8x8. Got {text!r} instead.") from None
    return k, m


def _parse_floats(text: str, option: str):
    from archsim.errors import ArchsimInputError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise ArchsimInputError(f"{option} must be comma-separated numbers. Got {text!r} instead.")
    return values


def _parse_ints(text: str, option: str):
    from archsim.errors import ArchsimInputError

    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ArchsimInputError(f"{option} must be comma-separated node ids. Got {text!r} instead.") from None


def build(args):
    """(NocConfig, SyntheticTraffic, Measurement) from the parsed arguments."""
    from archsim.engine.noc import Measurement, NocConfig, SyntheticTraffic, preset, read_booksim_config
    from archsim.errors import ArchsimInputError

    cfg, traffic, meas = NocConfig(), SyntheticTraffic(), Measurement()
    if args.router:
        cfg = preset(args.router)
    if args.booksim_config:
        cfg, traffic, meas = read_booksim_config(args.booksim_config)
    if args.mesh:
        cfg = cfg.with_mesh(*_parse_mesh(args.mesh))
    changes = {field: getattr(args, dest) for dest, field in _ROUTER_OPTS.items()
               if getattr(args, dest) is not None}
    if changes:
        cfg = replace(cfg, **changes)
    t = {}
    if args.traffic:
        t["pattern"] = args.traffic
    if args.rate is not None:
        t["rate"] = args.rate
    if args.packet_flits is not None:
        t["packet_flits"] = args.packet_flits
    if args.hotspot:
        t["hotspot_nodes"] = _parse_ints(args.hotspot, "--hotspot")
    if args.hotspot_fraction is not None:
        t["hotspot_fraction"] = args.hotspot_fraction
    traffic = replace(traffic, **t)
    if args.seed is not None and args.seed < 0:
        raise ArchsimInputError(f"--seed must be a non-negative integer. Got {args.seed} instead.")
    ms = {k: getattr(args, k) for k in _MEAS_OPTS if getattr(args, k) is not None}
    meas = replace(meas, **ms)
    traffic.check(cfg)
    meas.check()
    return cfg, traffic, meas


def _describe(cfg, traffic) -> str:
    spec = ", speculative" if cfg.speculative else ""
    return (f"{cfg.mesh_x}x{cfg.mesh_y} mesh, {cfg.num_vcs} VC x {cfg.vc_buf_size} flits{spec}, "
            f"{traffic.pattern} traffic, {traffic.packet_flits}-flit packets")


def _print_one(s) -> None:
    print(f"  status            {s.status}")
    print(f"  packet latency    avg {s.packet_latency_avg:.2f}  min {s.packet_latency_min:g}  "
          f"max {s.packet_latency_max:g} cycles")
    print(f"  network latency   avg {s.network_latency_avg:.2f}  min {s.network_latency_min:g}  "
          f"max {s.network_latency_max:g} cycles")
    print(f"  accepted          {s.accepted_flit_rate:.4f} flits/node/cycle (offered {s.offered_flit_rate:g})")
    print(f"  hops              {s.hops_avg:.3f} routers per packet (Manhattan distance + 1)")
    print(f"  simulated         {s.cycles} cycles in {s.wall_s:.2f} s "
          f"({s.router_cycles_per_s / 1e6:.1f} M router-cycles/s)")


def run(args) -> int:
    from archsim import __version__
    from archsim.engine.noc import latency_load_curve, plot_curve, simulate_synthetic
    from archsim.errors import ArchsimInputError

    from archsim.commands.common import prepare_output

    cfg, traffic, meas = build(args)
    if args.plot and args.rates is None:
        raise ArchsimInputError("--plot needs --rates (it draws the latency-load curve).")
    prepare_output(args.json, "--json")
    prepare_output(args.plot, "--plot")
    print(f"archsim noc: {_describe(cfg, traffic)}")
    if args.rates is not None:
        points = latency_load_curve(cfg, traffic, _parse_floats(args.rates, "--rates"), meas)
        print(f"  {'offered':>8} {'accepted':>9} {'latency':>9} {'net lat':>9} {'hops':>6}  status")
        for s in points:
            lat = "-" if math.isnan(s.packet_latency_avg) or not s.stable else f"{s.packet_latency_avg:.2f}"
            net = "-" if math.isnan(s.network_latency_avg) or not s.stable else f"{s.network_latency_avg:.2f}"
            print(f"  {s.offered_flit_rate:>8.3f} {s.accepted_flit_rate:>9.4f} {lat:>9} {net:>9} "
                  f"{s.hops_avg:>6.3f}  {s.status}")
        if args.plot:
            try:
                plot_curve(points, args.plot, _describe(cfg, traffic))
            except OSError as exc:
                raise ArchsimInputError(f"cannot write --plot {args.plot}: {exc.strerror or exc}") from None
            print(f"  plot written to {args.plot}")
        result = {"points": [s.to_dict() for s in points]}
    else:
        s = simulate_synthetic(cfg, traffic, meas)
        _print_one(s)
        result = s.to_dict()
    if args.json:
        result.update(archsim_version=__version__, fidelity="cycle", measurement=asdict(meas))
        text = json.dumps(_finite(result), indent=2)
        if args.json == "-":
            print(text)
        else:
            try:
                with open(args.json, "w") as f:
                    f.write(text + "\n")
            except OSError as exc:
                raise ArchsimInputError(f"cannot write --json {args.json}: {exc.strerror}") from None
    return 0


def _finite(obj):
    """JSON has no NaN or infinity: write null (e.g. latency of an unstable load)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
