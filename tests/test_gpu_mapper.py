"""The gpu-tiled mapper end to end: breakdowns, parallelism, launch modes,
capacity, options, the CLI, and the validation cases."""
import pytest
from hypothesis import given, settings, strategies as st

from archsim.cli import main
from archsim.errors import ArchsimInputError, InfeasibleError
from archsim.mapping.base import resolve_mapper
from archsim.pipeline import run
from archsim.spec import parse_override
from archsim.workload.model import Scenario

DECODE = Scenario(phase="decode", context_len=1024)


@pytest.fixture(scope="module")
def tp8_decode():
    return run("dgx-h100", "llama3.1-70b", DECODE, options={"tp": 8})


def test_is_the_default_for_gpus():
    assert resolve_mapper("auto", "gpu").name == "gpu-tiled"


def test_tp8_decode_splits_time_into_memory_compute_and_communication(tp8_decode):
    r = tp8_decode
    by_name = {o.name: o for o in r.ops}
    assert by_name["L0.allreduce_attn"].comm_s > 0 and by_name["L79.allreduce_ffn"].comm_s > 0
    assert by_name["L3.ffn_up"].memory_s > 0 and by_name["L3.ffn_up"].bound == "memory"
    totals = r.totals()
    assert totals["compute_s"] > 0 and totals["memory_s"] > totals["comm_s"] > 0
    assert r.chips_used == 8 and r.latency_s >= r.roofline_latency_s
    assert sum(o.time_s for o in r.ops) == pytest.approx(r.latency_s, rel=1e-6)


def test_weights_are_sharded_so_tp_speeds_up_memory_bound_decode(tp8_decode):
    tp2 = run("dgx-h100", "llama3.1-70b", DECODE, options={"tp": 2})
    assert tp8_decode.latency_s < 0.5 * tp2.latency_s
    assert tp8_decode.extra["hbm_need_gb"] < 0.3 * tp2.extra["hbm_need_gb"]


def test_prefill_is_compute_bound_and_uses_the_fused_attention_kernel():
    r = run("dgx-h100", "llama3.1-8b", Scenario(phase="prefill", prompt_len=2048), options={"tp": 2})
    by_name = {o.name: o for o in r.ops}
    assert by_name["L0.ffn_up"].bound == "compute"
    assert by_name["L0.softmax"].time_s == 0 and by_name["L0.attn_context"].time_s == 0
    assert by_name["L0.attn_score"].time_s > 0
    plan = {p["op"]: p for p in r.extra["gpu_kernel_plan"]}
    assert "FlashAttention" in plan["L0.attn_score"]["kernel"]


def test_eager_launch_is_slower_than_cuda_graphs_in_decode():
    graphs = run("a100-sxm-80gb", "llama2-7b", DECODE)
    eager = run("a100-sxm-80gb", "llama2-7b", DECODE, options={"cuda_graphs": False})
    assert eager.latency_s > 1.1 * graphs.latency_s
    assert eager.latency_s >= eager.extra["host_dispatch_s"]  # the host dispatches one op after another
    assert eager.extra["host_dispatch_s"] == pytest.approx(eager.extra["gpu_kernels_per_step"] * 20e-6)
    assert graphs.extra["host_dispatch_s"] == pytest.approx(20e-6)


def test_pipeline_parallel_adds_stage_sends():
    r = run("dgx-h100", "llama3.1-70b", DECODE, options={"tp": 4, "pp": 2})
    names = {o.name for o in r.ops}
    assert "pp_send" in names and r.chips_used == 8


def test_model_that_does_not_fit_is_infeasible_with_numbers():
    with pytest.raises(InfeasibleError) as info:
        run("h100-sxm", "llama3.1-70b", DECODE)
    assert "141" in str(info.value) and "80.0 GB" in str(info.value)
    assert info.value.details["need_bytes"] > info.value.details["capacity_bytes"]


@pytest.mark.parametrize("options,fragment", [({"tp": 16}, "has 8"), ({"tp": 3}, "divide"),
                                              ({"tile": "7x7x7"}, "multiple of 16"), ({"tp": 0}, "at least 1")])
def test_bad_options_are_one_clear_error(options, fragment):
    with pytest.raises(ArchsimInputError, match=fragment):
        run("dgx-h100", "llama3.1-70b", DECODE, options=options)


def test_cycle_fidelity_says_it_reuses_the_task_model():
    r = run("h100-sxm", "tiny", DECODE, fidelity="cycle")
    assert any("reuses the task-level model" in n for n in r.notes)


def test_moe_and_gelu_models_map():
    assert run("dgx-h100", "mixtral-8x7b", Scenario(phase="prefill", prompt_len=256), options={"tp": 2}).latency_s > 0
    assert run("dgx-a100", "gpt3-175b", DECODE, options={"tp": 8}).latency_s > 0


@settings(max_examples=8, deadline=None)
@given(scale=st.sampled_from([1.5, 2.0, 4.0]), phase=st.sampled_from(["decode", "prefill"]))
def test_more_hbm_bandwidth_never_slower(scale, phase):
    scenario = Scenario(phase=phase, prompt_len=256, context_len=512)
    base = run("h100-sxm", "llama3.1-8b", scenario)
    fast = run("h100-sxm", "llama3.1-8b", scenario,
               overrides=[parse_override(f"hbm.bandwidth={3.35 * scale} TB/s")])
    assert fast.latency_s <= base.latency_s * (1 + 1e-9)


def test_done_when_commands_print_per_layer_breakdowns(capsys):
    assert main(["run", "dgx-h100", "llama3.1-70b", "--phase", "decode", "-o", "tp=8"]) == 0
    out = capsys.readouterr().out
    assert "L*.allreduce_ffn" in out and "memory us" in out and "comm us" in out
    assert main(["run", "dgx-h100", "llama3.1-70b", "--phase", "prefill", "--prompt-len", "2048",
                 "-o", "tp=8"]) == 0
    assert "TTFT" in capsys.readouterr().out


# TensorRT-LLM v1.0's 80 throughput rows are each a whole offline serving run (about 2.5 s apiece, 200 s in
# all): every run checks two ISL/OSL pairs of each system and model (a decode-heavy and a balanced one); the
# nightly run checks every row. Their expectations (tests/validation_expectations.py) hold for all 80.
TRTLLM10_EVERY_RUN = ("-128_2048", "-1000_1000")
# NIM 1.8.0's concurrency sweep (eight closed-loop runs, 23 s in all): three levels every run, all nightly.
NIM_EVERY_RUN = ("-c1-", "-c25-", "-c100-")
# A reported-only rate search (eight one-GPU B200 instances, about 90 s): nightly too.
NIGHTLY_ONLY = ("mlperf-v5.0-b200-70b-server",)


def _gpu_case_ids(every_row: bool) -> list[str]:
    from archsim.validation.base import load_all_cases

    ids = [c.case_id for c in load_all_cases() if c.family == "gpu"]
    if every_row:
        return ids
    return [i for i in ids if i not in NIGHTLY_ONLY
            and (not i.startswith("trtllm10-") or i.endswith(TRTLLM10_EVERY_RUN))
            and (not i.startswith("nim180-") or any(level in i for level in NIM_EVERY_RUN))]


def _check_gpu_cases(ids: list[str]) -> None:
    from archsim.validation.base import run_cases

    from validation_expectations import check_case

    results = run_cases(["gpu"], ids)
    assert len(results) == len(ids) >= 16
    for r in results:
        check_case(r)


def test_gpu_validation_cases_pass():
    ids = _gpu_case_ids(every_row=False)
    assert sum(i.startswith("trtllm10-") for i in ids) == 16  # two pairs x eight system/model rows
    assert sum(i.startswith("nim180-") for i in ids) == 9  # three levels x three metrics
    _check_gpu_cases(ids)


@pytest.mark.nightly
def test_every_trtllm10_row_and_the_long_rate_searches_keep_their_expected_state():
    every_run = set(_gpu_case_ids(every_row=False))
    _check_gpu_cases([i for i in _gpu_case_ids(every_row=True) if i not in every_run])


def test_fp4_weights_run_on_blackwell_fp4_and_weight_only_before():
    """NVFP4 on B200 uses its FP4 tensor cores; int4 and fp4 on H100 dequantize into 16-bit GEMMs."""
    from archsim.families.gpu.schema import math_dtype
    from archsim.hw.load import load_system

    b200, h100, a100 = (load_system(c).chip for c in ("b200", "h100-sxm", "a100-sxm-80gb"))
    assert math_dtype(b200, "fp4") == "fp4" and math_dtype(b200, "mxfp4") == "fp4"
    assert math_dtype(h100, "fp4") == "bf16" and math_dtype(h100, "int4", "fp16") == "fp16"
    assert math_dtype(a100, "fp8") == "bf16" and math_dtype(h100, "fp8") == "fp8"
    fp4 = run("b200", "llama3.1-70b", Scenario(phase="decode", weight_dtype="fp4"))
    bf16 = run("b200", "llama3.1-70b", Scenario(phase="decode"))
    assert 2.5 < bf16.latency_s / fp4.latency_s < 3.6  # 4.5 of 16 bits: about 3.5x fewer bytes, less fixed costs
    int4 = run("h100-sxm", "llama3.1-8b", Scenario(phase="prefill", prompt_len=2048, weight_dtype="int4"))
    dense = run("h100-sxm", "llama3.1-8b", Scenario(phase="prefill", prompt_len=2048))
    assert int4.latency_s >= dense.latency_s * 0.97  # weight-only: no faster tensor cores for a compute-bound prefill


@pytest.mark.parametrize("chip,workload,fragment", [
    ("groq-lpu-576", "allreduce:1M", "multi-GPU"), ("h100-sxm", "allreduce:1M", "at least 2 GPUs"),
    ("dgx-h100", "allreduce:1X", "allreduce:BYTES"), ("dgx-h100", "stream:0", "stream:BYTES")])
def test_single_collective_and_stream_workloads_refuse_what_they_cannot_run(chip, workload, fragment):
    with pytest.raises(ArchsimInputError, match=fragment):
        run(chip, workload, Scenario())


def test_all_reduce_workload_reproduces_nccl_bus_bandwidth_on_dgx_h100():
    seconds = run("dgx-h100", "allreduce:8G", Scenario(), options={"allreduce": "nccl", "host_overhead": False}).latency_s
    busbw = 8 * 2**30 / seconds * 14 / 8 / 1e9
    assert 440 < busbw < 480  # NVLS; nccl-tests: ~476-480 GB/s
