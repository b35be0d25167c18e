"""Multi-node GPU systems: expert parallelism, all-to-all, micro-batched pipelines across nodes, MLA and
DeepSeek-V3's KV cache, serving with ep; each expected value is derived by hand in its comment."""
import pytest

from archsim.calibration import COLLECTIVE_BASE_S, NCCL_SIMPLE_BASE_S, NVLINK_PROTOCOL_EFFICIENCY
from archsim.families.gpu.mapper.collectives import alltoall, net_of
from archsim.families.gpu.mapper.experts import groups_hit
from archsim.families.gpu.mapper.parallel import memory_parts
from archsim.hw.load import load_system
from archsim.pipeline import build_graph, run
from archsim.workload.lower import expert_parameter_count, kv_cache_bytes, lower
from archsim.workload.model import Scenario, load_transformer
from cli_checks import bad

DECODE = Scenario(phase="decode", batch=64, context_len=1024)


@pytest.mark.parametrize("chip, options, before", [
    # latency_s recorded on c7096b8, the commit before expert parallelism and micro-batches existed
    ("dgx-h100x2", {"tp": "16"}, 0.005731303825136613),
    ("dgx-h100", {"tp": "4", "pp": 2}, 0.010332530054644809),
])
def test_ep1_is_the_tensor_parallel_result_bit_for_bit(chip, options, before):
    plain = run(chip, "mixtral-8x7b", DECODE, options=options).latency_s
    explicit = run(chip, "mixtral-8x7b", DECODE,
                   options=dict(options, ep=1, microbatches="1", ep_imbalance=1.0)).latency_s
    assert plain == explicit == before


def test_alltoall_over_infiniband_by_hand():
    # 64 MiB per GPU over the 16 GPUs of two DGX H100: 1/16 to each GPU; 7 peers in the node over NVLink
    # (7/16 of it at 450 GB/s x NCCL's efficiency), 8 on the other node over the GPU's own NIC (8/16 at
    # 48 GB/s); latency: NCCL Simple base + one NVLink hop (0.6 us) + one network step (2.7 us)
    system = load_system("dgx-h100x2")
    net = net_of(system, 16)
    size = 64 * 2 ** 20
    cost = alltoall(size, net, 16)
    nic_s = size * 8 / 16 / 48e9
    link_s = size * 7 / 16 / (450e9 * NVLINK_PROTOCOL_EFFICIENCY)
    assert nic_s > link_s
    assert cost.seconds(net) == pytest.approx(NCCL_SIMPLE_BASE_S + 0.6e-6 + 2.7e-6 + nic_s, rel=1e-12)
    # the same through `archsim run dgx-h100x2 alltoall:64M`: the collective plus one kernel launch
    whole = run("dgx-h100x2", "alltoall:64M", Scenario(), options={"host_overhead": False}).latency_s
    assert whole == pytest.approx(cost.seconds(net), rel=0.01) and whole > cost.seconds(net)


def test_alltoall_with_infiniband_as_fast_as_nvlink():
    # With each NIC as fast as the NVLink port (payload rate) and no network latency, two nodes of 8 move the
    # 8/16 of the buffer bound for the other node on the NIC while 7/16 go over NVLink, side by side; one
    # island of 16 moves 15/16 through its one port: the bandwidth term is 8/15 of the island's.
    payload = 450e9 * NVLINK_PROTOCOL_EFFICIENCY
    two = load_system("dgx-h100x2", [("interconnect.scale_out_bandwidth", f"{payload / 1e9} GB/s"),
                                     ("interconnect.scale_out_latency", "0 us")])
    island = load_system("dgx-h100x2", [("interconnect.group_size", 16)])
    size = 2 ** 30
    net2, net1 = net_of(two, 16), net_of(island, 16)
    c2, c1 = alltoall(size, net2, 16), alltoall(size, net1, 16)
    assert c1.nic_bytes == 0 and c2.nic_bytes == size / 2
    assert c2.seconds(net2) - c2.latency_s == pytest.approx((c1.seconds(net1) - c1.latency_s) * 8 / 15, rel=1e-12)


def test_pipeline_across_nodes_with_nic_as_nvlink_equals_one_island():
    # pp=2 stages of tp=8: the boundary crosses the two nodes; with the NIC at the NVLink payload rate and the
    # network step as long as an NVLink hop, the stage send costs what it would inside one 16-GPU island
    payload = 450e9 * NVLINK_PROTOCOL_EFFICIENCY
    options = {"tp": "8", "pp": 2, "microbatches": "4"}
    two = load_system("dgx-h100x2", [("interconnect.scale_out_bandwidth", f"{payload / 1e9} GB/s"),
                                     ("interconnect.scale_out_latency", "0.6 us")])
    island = load_system("dgx-h100x2", [("interconnect.group_size", 16)])
    a = run(two, "llama3.1-70b", DECODE, options=options)
    b = run(island, "llama3.1-70b", DECODE, options=options)
    assert "pp_send_net" in a.extra["gpu_collectives"] and "pp_send" in b.extra["gpu_collectives"]
    assert a.latency_s == pytest.approx(b.latency_s, rel=1e-9)
    # and on the real NDR fabric the send is slower than over NVLink
    c = run("dgx-h100x2", "llama3.1-70b", DECODE, options=options)
    assert c.latency_s > b.latency_s


def test_microbatched_pipeline_is_m_plus_pp_minus_1_stage_times():
    # pp=2 equal stages of L/2 layers, m micro-batches of B/m: the step is (m + 1) stage times of a micro-batch
    # (the first micro-batch crosses both stages, the other m - 1 each add one stage time of the last stage),
    # i.e. the layer segment repeats L + (m - 1) L / 2 times, the last stage's LM head m times, one send.
    from archsim.mapping.base import resolve_mapper
    from archsim.pipeline import simulate_mapping

    system = load_system("dgx-h100")
    mapper = resolve_mapper("auto", system.kind)
    L, m = 80, 4
    full = Scenario(phase="prefill", batch=8, prompt_len=512)
    micro = full.with_(batch=2)

    def segments(scenario, microbatches):
        graph = build_graph("llama3.1-70b", scenario)
        options = mapper.parse_options({"tp": "4", "pp": 2, "microbatches": microbatches})
        mapping = mapper.fn(system, graph, scenario, dict(options, fidelity="task"))
        return {(s.label, s.repeat): r.total_s for s, r in zip(mapping.segments, simulate_mapping(mapping, L))}

    piped = segments(full, str(m))
    assert ("layer", L + (m - 1) * L // 2) in piped and ("post", m) in piped and ("pipeline", 1) in piped
    one = segments(micro, "1")  # one micro-batch alone through both stages: the same per-layer graph
    # (total_s: a segment's time times its repeats)
    layer = one[("layer", L)] / L
    assert piped[("layer", L + (m - 1) * L // 2)] / (L + (m - 1) * L // 2) == pytest.approx(layer, rel=1e-12)
    stage = L // 2 * layer + one[("post", 1)]  # the last stage's time for one micro-batch, its LM head included
    first = sum(one.values())  # one micro-batch through both stages, its send included
    assert sum(piped.values()) == pytest.approx(first + (m - 1) * stage, rel=1e-12)
    # faster than the whole batch at once through both stages (prefill is compute-bound)
    assert sum(piped.values()) < sum(segments(full, "1").values())
    bubble = run(system, "llama3.1-70b", full, options={"tp": "4", "pp": 2, "microbatches": str(m)})
    assert bubble.extra["pipeline_bubble"] == round(1 / (m + 1), 4)


def test_expert_weights_per_gpu_fall_by_ep():
    model = load_transformer("mixtral-8x7b")
    graph = lower(model, DECODE)
    one = memory_parts(graph, DECODE, 2, 1, 1)
    four = memory_parts(graph, DECODE, 2, 1, 4)
    experts = expert_parameter_count(model) * 2  # bf16
    assert experts == 32 * 8 * 3 * 4096 * 14336 * 2
    # only the routed experts' share (1/tp of them on each GPU) falls, to 1/ep of it
    assert one["weights_bytes"] - four["weights_bytes"] == pytest.approx(experts / 2 * (1 - 1 / 4), rel=1e-12)
    # each GPU holds the K/V of its group's sequences: 1/ep of them
    assert four["kv_cache_bytes"] == pytest.approx(one["kv_cache_bytes"] / 4, rel=1e-12)


def test_ep_dispatch_bytes_and_expert_shards_by_hand():
    # Mixtral (8 experts, top-2), ep=8 x tp=2 on 16 GPUs, 64 sequences: each group attends 8 sequences and
    # holds one expert; a token's two experts are always on two groups, so each GPU sends 8 x 2 x 4096 x 2 B
    assert groups_hit(8, 2, 8) == pytest.approx(2.0)
    assert groups_hit(8, 2, 1) == pytest.approx(1.0)
    r = run("dgx-h100x2", "mixtral-8x7b", DECODE, options={"tp": "2", "ep": 8})
    assert r.chips_used == 16 and r.extra["sequences_per_gpu"] == 8
    assert r.extra["gpu_collectives"]["L0.moe_dispatch"] == f"alltoall ({8 * 2 * 4096 * 2 / 1e3:.1f} KB)"
    # a busier group (ep_imbalance) makes the step slower, never faster
    skew = run("dgx-h100x2", "mixtral-8x7b", DECODE, options={"tp": "2", "ep": 8, "ep_imbalance": 1.5})
    assert skew.latency_s > r.latency_s


def test_ep_dispatch_plan_is_the_cheaper_one():
    # tp=2 groups: decode messages are small, so sending the whole group's tokens (replicated) beats slicing
    # them (two more collectives' latencies); a 2048-token prefill moves 33.5 MB per GPU, where sending half
    # of it over the NICs and all-gathering over NVLink wins (Megatron-Core's dispatcher)
    decode = run("dgx-h100x2", "mixtral-8x7b", DECODE, options={"tp": "2", "ep": 8}).extra["gpu_collectives"]
    assert decode["L0.moe_plan"] == "replicated" and "L0.moe_gather" not in decode
    prefill = run("dgx-h100x2", "mixtral-8x7b", Scenario(phase="prefill", batch=1, prompt_len=2048),
                  options={"tp": "2", "ep": 8}).extra["gpu_collectives"]
    received = 2048 * 2 * 4096 * 2  # the one prompt's tokens, each on 2 groups, bf16
    assert prefill["L0.moe_plan"] == "sliced"
    assert prefill["L0.moe_dispatch"] == f"alltoall ({received / 2 / 1e3:.1f} KB)"
    assert prefill["L0.moe_gather"].endswith(f"({received / 1e3:.1f} KB)")


def test_mla_kv_cache_is_the_latent():
    # DeepSeek-V3: 61 layers x (kv_lora_rank 512 + rope 64) per token, not 2 x 128 heads x 192
    model = load_transformer("deepseek-v3")
    s = Scenario(phase="decode", batch=1, context_len=1, kv_dtype="fp8", weight_dtype="fp8")
    assert kv_cache_bytes(model, s, 1) == 61 * 576 * 1
    # the latent is one K/V head: every GPU of a tensor-parallel group holds all of it
    graph = lower(model, s)
    assert memory_parts(graph, s, 8, 1)["kv_cache_bytes"] == memory_parts(graph, s, 1, 1)["kv_cache_bytes"]
    decode = [op for op in graph.layer_ops(5) if op.kind == "attn_score"][0]
    assert decode.attrs["kv_heads"] == 1 and decode.attrs["head_dim"] == 576 and decode.attrs["latent"]


def test_mla_kv_and_mtp_head_in_speculation():
    # the EAGLE/MTP head of DeepSeek-V3 is one MoE layer (its MTP module: 11.5B unique parameters, DeepSeek's
    # README_WEIGHTS), with the latent K/V of one layer; serving and disaggregation use the same K/V bytes
    from archsim.speculative import Speculation, drafter_memory

    model = load_transformer("deepseek-v3")
    s = Scenario(weight_dtype="fp8", kv_dtype="fp8")
    weights, kv = drafter_memory(Speculation(method="eagle", k=3, alpha=0.7), model, s)
    assert weights / 1e9 == pytest.approx(11.5, rel=0.01) and kv == 576


def test_deepseek_v3_decode_on_two_b200_nodes_runs():
    r = run("dgx-b200x2", "deepseek-v3", Scenario(phase="decode", batch=64, context_len=2048, weight_dtype="fp8",
                                                   act_dtype="bf16", kv_dtype="fp8"), options={"tp": "8", "ep": 2})
    assert r.chips_used == 16 and r.latency_s > r.roofline_latency_s
    names = {op.name for op in r.ops}
    assert {"L0.ffn_up", "L3.experts_up", "L60.experts_up", "L3.moe_dispatch"} <= names


@pytest.mark.parametrize("argv, words", [
    (["dgx-h100x2", "mixtral-8x7b", "-o", "ep=3", "-o", "tp=2"], ["ep=3", "must divide", "8 experts"]),
    (["dgx-h100", "mixtral-8x7b", "-o", "tp=4", "-o", "ep=4"], ["tp x ep x pp", "16 GPUs", "has 8"]),
    (["dgx-h100", "llama3.1-8b", "-o", "ep=2"], ["ep=2", "dense"]),
    (["dgx-h100x2", "mixtral-8x7b", "-o", "pp=2", "-o", "microbatches=0"], ["microbatches", "positive integer"]),
    (["dgx-h100x2", "mixtral-8x7b", "-o", "microbatches=zero"], ["microbatches", "positive integer"]),
    (["dgx-h100x2", "mixtral-8x7b", "-o", "ep=2", "-o", "ep_imbalance=0.5"], ["ep_imbalance", "at least 1"]),
    (["cs3x4", "deepseek-v3"], ["does not model deepseek-v3", "latent attention"]),
])
def test_bad_multinode_options_exit_2(argv, words, capsys):
    bad(["run", *argv, "--phase", "decode"], capsys, *words)


def test_microbatches_capped_at_the_batch_and_said():
    r = run("dgx-h100x2", "mixtral-8x7b", Scenario(phase="decode", batch=4), options={"pp": 2, "microbatches": "8"})
    capped = run("dgx-h100x2", "mixtral-8x7b", Scenario(phase="decode", batch=4),
                 options={"pp": 2, "microbatches": "4"})
    assert r.latency_s == capped.latency_s and r.extra["microbatches"] == 4
    assert any("microbatches=8 capped at the batch of 4" in n for n in r.notes)


def test_serve_with_ep_counts_the_replica_and_its_kv():
    from archsim.families.gpu.serving import kv_capacity, replica_options

    system = load_system("dgx-h100x2")
    model = load_transformer("mixtral-8x7b")
    s = Scenario()
    opts, chips, text = replica_options(system, "mixtral-8x7b", model, s, {"tp": "2", "ep": "8"}, 1)
    assert chips == 16 and text == "tp 2 x ep 8 x pp 1"
    tokens8, _ = kv_capacity(system, "mixtral-8x7b", model, s, opts, max_batched_tokens=2048, max_seqs=64)
    tokens1, _ = kv_capacity(system, "mixtral-8x7b", model, s, dict(opts, ep=1), max_batched_tokens=2048,
                             max_seqs=64)
    # 8 groups each hold their own sequences' K/V, and each GPU 1/8 of the experts: more than 8x the tokens
    assert tokens8 > 8 * tokens1


def test_compare_serve_on_two_multinode_systems(capsys):
    from archsim.cli import main

    assert main(["compare", "dgx-h100x2", "dgx-b200x2", "mixtral-8x7b", "--serve", "-o", "tp=2", "-o", "ep=8",
                 "--rate", "5", "--requests", "10", "--prompt-tokens", "64", "--output-tokens", "8"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("dgx-")]
    assert len(rows) == 2 and all("1 x tp 2 x ep 8 x pp 1" in r and " 16 " in r for r in rows)


@pytest.mark.parametrize("workload, scenario, options", [
    ("mixtral-8x7b", DECODE, {"tp": "2", "ep": 8}),
    ("mixtral-8x7b", Scenario(phase="prefill", batch=1, prompt_len=1024), {"tp": "2", "ep": 8}),
    ("llama3.1-70b", DECODE, {"tp": "8", "pp": 2, "microbatches": "2"}),
])
def test_a_faster_nic_never_slows_a_multinode_run(workload, scenario, options):
    base = run("dgx-h100x2", workload, scenario, options=options).latency_s
    fast = run(load_system("dgx-h100x2", [("interconnect.scale_out_bandwidth", "96 GB/s")]), workload, scenario,
               options=options).latency_s
    assert fast < base
