"""`tsp-static`: Groq-style tensor streaming systems, SRAM only, on a static schedule.

Compiler passes, in order:
1. place: every weight and the KV cache in SRAM, sharded over tp x pp chips
   (archsim/families/tsp/mapper/plan.py); too small a system is infeasible, with numbers;
2. parallelize: tensor parallelism inside a stage (Megatron split: qkv and
   ffn_up by columns, o_proj and ffn_down by rows, an all-reduce after each of
   the latter), pipeline parallelism across stages; `auto` simulates each tp
   (with the fewest stages that fit) and keeps the fastest;
3. time: per unit from the chip description (archsim/families/tsp/mapper/chip.py, the
   MXM model in tsp_mxm.py), C2C collectives from the links (tsp_links.py).

What the engine runs: one representative chip of a tensor-parallel group (its
peers do identical work in lockstep) for one decoder layer, repeated for every
layer; the embedding and the LM head; and one pipeline hand-off per stage
boundary. Stages run one after another: a step of a batch has nothing to
overlap across stages. The schedule is static, so the engine meets no
contention the compiler did not plan (a collective's transfers over distinct
links are concurrent; more transfers than links go in rounds).
"""
from __future__ import annotations

import math
from types import SimpleNamespace

from archsim.engine import TaskGraphBuilder, simulate
from archsim.errors import ArchsimInputError
from archsim.mapping.base import Mapping, Option, Segment, register_mapper
from archsim.mapping.choose import first_best
from archsim.workload.ops import MATRIX_KINDS
from archsim.families.tsp.mapper.chip import TspChip
from archsim.families.tsp.mapper.links import (allgather_steps, allreduce_steps, links_of, loopback_steps, node_crossings,
                                       pipeline_send_steps, reduce_scatter_steps)
from archsim.families.tsp.mapper.plan import (check_stage_sram, check_stages, chip_bytes, footprint, infeasible, min_pp,
                                              parse_degree, parse_stages, stage_layers)
from archsim.workload.model import DTYPE_BYTES
from archsim.workload.inline import reject_collective, require_uniform_layers

ROW_PARALLEL = {"o_proj": "allreduce_attn", "ffn_down": "allreduce_ffn", "experts_down": "allreduce_ffn"}
REPLICATED = ("attn_norm", "ffn_norm", "attn_residual", "ffn_residual", "final_norm", "router")
TP_CANDIDATES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
TOKEN_ID_BYTES = 4  # a sampled token id, int32
SOFTMAX_STAT_BYTES = 8  # running max and sum of a split softmax, two fp32 per head and token


@register_mapper(
    "tsp-static", family="tsp", default_for=("tsp",),
    description="Groq-style: weights in SRAM over tp x pp chips, weight-stationary MXM, static C2C schedule",
    options=(Option("tp", str, "auto", "tensor-parallel chips per pipeline stage: an integer or auto",
                    check=lambda raw: parse_degree("tp", raw)),
             Option("pp", str, "auto", "pipeline stages: an integer or auto (the fewest that fit)",
                    check=lambda raw: parse_degree("pp", raw)),
             Option("chips", str, "auto", "chips the mapping uses (tp x pp): an integer, e.g. 576 with tp=8 for "
                                          "Groq's public Llama-2-70B deployment, or auto (the fewest that fit)",
                    check=lambda raw: parse_degree("chips", raw)),
             Option("stages", str, "auto", "decoder layers of each pipeline stage, first stage first, comma-"
                                           "separated (4,4,3: layer-to-chip assignment; sets pp), or auto (as "
                                           "even as SRAM allows)", check=parse_stages)))
def map_tsp(system, graph, scenario, options) -> Mapping:
    reject_collective(graph, "tsp-static")
    require_uniform_layers(graph, "tsp-static")
    chip = TspChip.from_system(system)
    links = links_of(system)
    fp = footprint(graph)
    tp, pp = parse_degree("tp", options["tp"]), parse_degree("pp", options["pp"])
    chips = parse_degree("chips", options.get("chips", "auto"))
    stages = parse_stages(options.get("stages", "auto"))
    if stages is not None:  # an explicit layer-to-stage assignment says how many stages there are
        pp = check_stages(stages, pp, fp, graph)
    candidates = _candidates(fp, system, chip, links, tp, pp, graph, scenario, chips)
    # auto: every candidate simulated, the fastest kept by the rule archsim search ranks by (mapping/choose.py)
    runs = [(t, p, _segments(chip, links, graph, scenario, t, p)) for t, p in candidates]
    t, p, segments = first_best(runs, lambda run: sum(simulate(s.graph).makespan_cycles * s.repeat
                                                      for s in run[2]))
    layers = stages if stages is not None else stage_layers(fp, t, p, chip.sram_bytes)
    if stages is not None:
        check_stage_sram(fp, t, stages, chip.sram_bytes, system)
    per_layer = _critical_split(segments[0].graph) if graph.layers else {}
    extra = dict(tp=t, pp=p, chips_needed_min=math.ceil(fp.total_bytes / chip.sram_bytes),
                 sram_used_per_chip_max_bytes=round(chip_bytes(fp, t, layers)),
                 layers_per_stage_max=max(layers), stage_layers=list(layers), schedule="static (deterministic)",
                 **{f"per_layer_{k}_us": round(v / chip.clock_hz * 1e6, 3) for k, v in per_layer.items()},
                 per_layer_bottleneck=max(("compute", "memory", "c2c"), key=lambda k: per_layer.get(k, 0.0)))
    return Mapping("tsp-static", dict(options, tp=str(t), pp=str(p)), segments, chips_used=t * p,
                   notes=_notes(chip, links, graph, scenario, t, p, len(candidates), options.get("fidelity"), chips),
                   extra=extra)


def _candidates(fp, system, chip, links, tp, pp, graph, scenario, chips=None) -> list[tuple[int, int]]:
    """(tp, pp) pairs to compare: the user's, or every tp with the fewest stages that fit; with `chips`, every
    tp (or the user's) whose pp = chips / tp fits."""
    cap, count = chip.sram_bytes, system.count
    group = links.group_size if links else 1
    tps = [tp] if tp else [t for t in TP_CANDIDATES if t <= count and (t <= group or t % group == 0)]
    if chips is not None:
        return _split_chips(fp, system, cap, group, tps, pp, chips, graph, scenario)
    out = []
    for t in tps:
        if t > count or (links is None and t > 1):
            raise infeasible(fp, system, graph, scenario, f"tp={t} needs {t} chips; {system.name} has {count}")
        if t > group and t % group:
            raise ArchsimInputError(f"tp={t} spans nodes of {group} chips on {system.name}; use a multiple of {group}")
        p = pp or min_pp(fp, t, cap, count)
        if p is not None and t * p > count:
            raise infeasible(fp, system, graph, scenario, f"tp={t} x pp={p} needs {t * p} chips; "
                             f"{system.name} has {count}")
        if p is None or stage_layers(fp, t, p, cap) is None:
            if pp:
                raise infeasible(fp, system, graph, scenario, f"tp={t} x pp={pp} ({t * pp} chips) does not fit "
                                 f"(or pp exceeds the {fp.layers} layers)")
            continue
        out.append((t, p))
    if not out:
        raise infeasible(fp, system, graph, scenario, f"{system.name} has {count}"
                         + (f" and tp={tp} leaves no pipeline split that fits" if tp else ""))
    return out


def _split_chips(fp, system, cap, group, tps, pp, chips, graph, scenario) -> list[tuple[int, int]]:
    if chips > system.count:
        raise infeasible(fp, system, graph, scenario, f"chips={chips} but {system.name} has {system.count}")
    out = [(t, chips // t) for t in tps if chips % t == 0 and (t <= group or t % group == 0)
           and (pp is None or pp == chips // t) and stage_layers(fp, t, chips // t, cap) is not None]
    if not out:
        raise infeasible(fp, system, graph, scenario, f"no split of chips={chips} into tp x pp fits"
                         + (f" with tp={tps[0]}" if len(tps) == 1 else "")
                         + (f" and pp={pp}" if pp else "") + f" (pp at most {fp.layers + 2})")
    return out


def _resources(b: TaskGraphBuilder, chip: TspChip, links) -> SimpleNamespace:
    r = SimpleNamespace(
        mxm=b.add_resource("mxm", "compute", 1.0),  # work = cycles from the MXM model
        vxm=b.add_resource("vxm", "compute", float(chip.alus), latency=chip.vxm_latency),
        sxm=b.add_resource("sxm", "compute", chip.sxm_bytes_per_cycle),
        sram=b.add_resource("sram", "memory", chip.sram_bytes_per_cycle))
    if links:
        r.hop_cycles = links.hop_cycles
        r.local = b.add_resource("c2c_local", "interconnect", links.bytes_per_cycle, latency=links.hop_cycles,
                                 capacity=max(1, links.local_links))
        r.glob = b.add_resource("c2c_global", "interconnect", links.bytes_per_cycle, latency=links.hop_cycles,
                                capacity=max(1, links.global_links))
    return r


def _segments(chip, links, graph, scenario, t, pp) -> list[Segment]:
    model_run = graph.phase in ("prefill", "decode", "mixed")
    if not model_run:
        return [_graph_segment(chip, links, graph.ops, scenario, t, graph.ops[0].name, 1)]
    segments = [_graph_segment(chip, links, graph.layer_ops(0), scenario, t,
                               f"decoder layer, one chip of each tp group (x{graph.layers})", graph.layers)]
    if graph.pre_ops:
        segments.append(_graph_segment(chip, links, graph.pre_ops, scenario, t, "embedding (first stage)", 1))
    segments.append(_graph_segment(chip, links, graph.post_ops, scenario, t, "final norm and LM head", 1,
                                   sample=True))
    if pp > 1:
        nbytes = graph.tokens * _hidden(graph) * DTYPE_BYTES[scenario.act_dtype]
        crossings = node_crossings(t, pp, links.group_size)
        for link, repeat in (("local", pp - 1 - crossings), ("global", crossings)):
            if repeat > 0:
                b = TaskGraphBuilder(clock_hz=chip.clock_hz)
                r = _resources(b, chip, links)
                _emit_steps(b, r, pipeline_send_steps(links, t, nbytes, link), [], "pipeline_send", -1)
                segments.append(Segment(b.build(), repeat, f"pipeline hand-off over {link} links (x{repeat})"))
        b = TaskGraphBuilder(clock_hz=chip.clock_hz)
        r = _resources(b, chip, links)
        _emit_steps(b, r, loopback_steps(links, t * pp, TOKEN_ID_BYTES * graph.batch), [], "token_loopback",
                    graph.layers)
        segments.append(Segment(b.build(), 1, "sampled token back to the first stage"))
    return segments


def _hidden(graph) -> int:
    return next(op.n for op in graph.ops if op.short_name == "o_proj")


def _graph_segment(chip, links, ops, scenario, t, label, repeat, sample=False) -> Segment:
    b = TaskGraphBuilder(clock_hz=chip.clock_hz)
    r = _resources(b, chip, links)
    prev: list[int] = []
    act = DTYPE_BYTES[scenario.act_dtype]
    for op in ops:
        group = _kv_split(op, t)
        if op.kind == "attn_score" and group > 1:  # q, and the new K/V row, to every chip of the KV group
            a = op.attrs
            share = a["batch"] * a["q_len"] * (a["heads"] + 2 * a["kv_heads"]) * a["head_dim"] * act / t
            prev = _emit_steps(b, r, allgather_steps(links, group, share), prev,
                               op.name[: -len(op.short_name)] + "attn_gather", op.layer)
        prev = _emit_op(b, r, chip, links, op, scenario, t, prev)
        if op.kind == "attn_context" and group > 1:  # combine the partial softmaxes of the split context
            a = op.attrs
            rows = a["batch"] * a["q_len"] * a["heads"] / t  # (token, head) outputs this chip keeps
            steps = reduce_scatter_steps(links, group, rows * (a["head_dim"] * act + SOFTMAX_STAT_BYTES),
                                         rows * a["head_dim"])
            prev = _emit_steps(b, r, steps, prev, op.name[: -len(op.short_name)] + "attn_combine", op.layer)
        if t > 1 and op.kind == "embedding":  # each chip holds 1/t of the table's columns
            share = op.act_write_bytes / t
            prev = _emit_steps(b, r, allgather_steps(links, t, share), prev, "embed_allgather", op.layer)
        if t > 1 and op.short_name in ROW_PARALLEL:
            steps = allreduce_steps(links, t, op.act_write_bytes, DTYPE_BYTES[scenario.act_dtype], chip.alus,
                                    chip.vxm_latency)
            prefix = op.name[: -len(op.short_name)]
            prev = _emit_steps(b, r, steps, prev, prefix + ROW_PARALLEL[op.short_name], op.layer, chip.alus)
        if t > 1 and sample and op.short_name == "lm_head":  # each chip's best token -> one winner
            steps = allreduce_steps(links, t, 8.0 * op.m, 4.0, chip.alus, chip.vxm_latency)
            prev = _emit_steps(b, r, steps, prev, "sample_allreduce", op.layer, chip.alus)
    return Segment(b.build(), repeat, label)


def _emit_op(b, r, chip, links, op, scenario, t, prev) -> list[int]:
    replicated = op.short_name in REPLICATED
    share = 1 if replicated else t
    tasks = []
    if op.kind in MATRIX_KINDS:
        cycles = _matrix_cycles(chip, op, scenario, t)
        tasks.append(b.add_task(r.mxm, cycles, deps=prev, op=op.name, layer=op.layer, category="compute"))
    elif op.flops > 0:
        tasks.append(b.add_task(r.vxm, op.flops / share, deps=prev, op=op.name, layer=op.layer,
                                category="compute"))
    if op.kind == "rope":  # the rotate-half permutation goes through the switch unit
        tasks.append(b.add_task(r.sxm, op.act_read_bytes / share, deps=prev, op=op.name, layer=op.layer,
                                category="compute"))
    if op.bytes > 0:
        tasks.append(b.add_task(r.sram, op.bytes / share, deps=prev, op=op.name, layer=op.layer,
                                category="memory"))
    return tasks or prev


def _matrix_cycles(chip: TspChip, op, scenario, t: int) -> int:
    """MXM cycles of this chip's share of a matrix op (the stationary operand split t ways)."""
    if op.kind == "gemm":
        mode = chip.matrix_mode(scenario.weight_dtype, scenario.act_dtype)
        m, n, k = op.m, op.n, op.k
        if op.short_name in ROW_PARALLEL:
            k = math.ceil(k / t)
        elif op.short_name not in REPLICATED:
            n = math.ceil(n / t)
        return chip.matmul_cycles(mode, max(1, m), max(1, n), max(1, k), max(1, op.count))
    a = op.attrs  # attention: the K (scores) or V (context) cache is stationary, one block per KV head
    mode = chip.matrix_mode(scenario.kv_dtype, scenario.act_dtype)
    blocks = a["batch"] * a["kv_heads"]
    rows_streamed = a["q_len"] * (a["heads"] // a["kv_heads"])
    kv_len = a["kv_len"]
    if t <= blocks:
        count = math.ceil(blocks / t)
    else:  # more chips than KV heads: split the context too
        count, kv_len = 1, math.ceil(kv_len / (t / blocks))
    n, k = (kv_len, a["head_dim"]) if op.kind == "attn_score" else (a["head_dim"], kv_len)
    return chip.matmul_cycles(mode, rows_streamed, n, k, count)


def _kv_split(op, t: int) -> int:
    """Chips that share one KV block (a sequence's KV head) of an attention op: more chips than
    blocks split the context, and each block's chips must then exchange q and combine partial
    softmaxes (flash-decoding style). 1 when no block is split."""
    if op.kind not in ("attn_score", "attn_context"):
        return 1
    blocks = op.attrs["batch"] * op.attrs["kv_heads"]
    return math.ceil(t / blocks) if t > blocks else 1


def _emit_steps(b, r, steps, deps, label, layer, alus=None) -> list[int]:
    for s in steps:
        route = [r.local if hop == "local" else r.glob for hop in s.hops]
        far = s.far_hops * r.hop_cycles
        deps = [b.add_transfer(route, s.nbytes, deps=deps, op=label, layer=layer, latency=far)
                for _ in range(s.transfers)]
        if s.reduce_elements:
            deps = [b.add_task(r.vxm, s.reduce_elements, deps=deps, op=label, layer=layer, category="compute")]
    return deps


def _critical_split(graph) -> dict[str, float]:
    """Cycles of the critical path by what the tasks on it do: compute, memory, c2c, wait."""
    sim = simulate(graph)
    out = {"compute": 0.0, "memory": 0.0, "c2c": 0.0, "wait": 0.0}
    names = ("compute", "memory", "c2c")
    end = 0
    for k in sim.critical_path:
        start, stop = int(sim.start_cycle[k]), int(sim.end_cycle[k])
        out["wait"] += max(0, start - end)
        out[names[int(graph.task_category[k])]] += stop - start
        end = max(end, stop)
    return out


def _notes(chip, links, graph, scenario, t, pp, searched, fidelity, chips=None) -> list[str]:
    mode = chip.matrix_mode(scenario.weight_dtype, scenario.act_dtype)
    how = (f" (the fastest of {searched} splits of chips={chips})" if chips else
           f" (auto: the fastest of {searched} tensor-parallel degrees, each with the fewest stages that fit)")
    notes = [
        "static schedule: deterministic; the compiler plans every unit and every chip-to-chip transfer, so "
        "the engine sees no contention the schedule did not plan",
        f"tp={t} x pp={pp} = {t * pp} chips" + (how if searched > 1 else ""),
        "one chip of each tensor-parallel group is simulated (its peers work in lockstep); one decoder layer "
        "is simulated and repeated for every layer; stages run one after another",
        f"matrix unit (weight-stationary, {chip.rows}x{chip.cols}): {mode.describe()}; norms and residuals are "
        "replicated on every tp chip; attention splits over KV heads, then over the context",
    ]
    if graph.phase == "prefill":
        notes.append("prefill: causal attention runs full (unmasked) tiles; no micro-batching across stages")
    if graph.phase == "decode" and searched > 1 and not chips:
        notes.append("auto minimizes one step's latency: wider tensor parallelism cuts each chip's share of the "
                     "weight installs, which set a batch-1 step, so it picks the widest tp that pays; a deployment "
                     "built for throughput keeps tp inside a node and pipelines many sequences over many stages "
                     "(Groq's public Llama-2-70B: 576 chips, tp 8 x pp 72: -o chips=576 -o tp=8), slower for "
                     "one sequence, whose stages run one after another (docs/tsp.md)")
    if graph.phase == "decode":
        seqs = "one sequence" if graph.batch == 1 else f"{graph.batch} sequences"
        notes.append(f"decode: the speed of {seqs} per step on this latency-first schedule, not that of a public "
                     "service: Groq's 2024 figures are about 3x lower for 7B-47B models (more sequences per step, "
                     "unpublished chip counts and splits, software of the time); docs/tsp.md")
    if links and t > links.group_size:
        notes.append(f"tp={t} spans {t // links.group_size} nodes: counterpart chips of up to "
                     f"{links.global_links} other nodes are taken to share a global link (ASSUMED placement; "
                     "farther nodes local-global-local); fewer direct links would make it slower (docs/tsp.md)")
    if fidelity == "cycle":
        notes.append("fidelity cycle = task for tsp: a static schedule has no contention to resolve")
    return notes
