"""The roofline fidelity and its agreement with the engine on contention-free graphs."""
import json

import pytest

from archsim.hw.load import load_system
from archsim.pipeline import run
from archsim.workload.lower import lower
from archsim.workload.model import Scenario, load_transformer


def test_h100_decode_tpot_is_weight_and_kv_bytes_over_hbm_bandwidth():
    """Issue 2: TPOT = (weights + KV cache) / HBM bandwidth, at batch 1 where activations are negligible."""
    scenario = Scenario(phase="decode", batch=1, context_len=1024)
    result = run("h100-sxm", "llama3.1-8b", scenario, fidelity="roofline")
    graph = lower(load_transformer("llama3.1-8b"), scenario)
    bandwidth = load_system("h100-sxm").chip.hbm.bandwidth
    assert bandwidth == 3.35e12
    # Every operator is memory-bound, so TPOT is exactly all bytes over bandwidth ...
    assert all(o.bound == "memory" for o in result.ops)
    assert result.tpot_s == pytest.approx(graph.total_bytes / bandwidth, rel=1e-12)
    # ... and weights + KV are all but 0.2% of those bytes (activations of one token).
    assert result.tpot_s == pytest.approx((graph.weight_bytes + graph.kv_bytes) / bandwidth, rel=2e-3)
    assert result.tokens_per_s == pytest.approx(1 / result.tpot_s)
    assert result.bottleneck == "memory"


def test_prefill_large_batch_is_compute_bound():
    result = run("h100-sxm", "llama3.1-8b", Scenario(phase="prefill", batch=4, prompt_len=2048),
                 fidelity="roofline")
    gemms = [o for o in result.ops if o.kind == "gemm" and o.name != "lm_head"]  # lm_head: last token only
    assert all(o.bound == "compute" for o in gemms)
    assert result.bottleneck == "compute"
    assert result.tokens_per_s == pytest.approx(4 * 2048 / result.ttft_s)


@pytest.mark.parametrize("chip", ["h100-sxm", "groq-lpu", "wse2", "dgx-a100"])
def test_aggregate_mapper_on_engine_agrees_with_roofline(chip):
    """Issue 3: no contention -> the engine reproduces the roofline (up to whole-cycle rounding)."""
    scenario = Scenario(phase="decode", batch=2, context_len=256)
    bound = run(chip, "tiny", scenario, fidelity="roofline")
    simulated = run(chip, "tiny", scenario, mapper="aggregate", fidelity="task")
    clock = load_system(chip).clock_hz
    n_ops = len(bound.ops)
    assert simulated.latency_s >= bound.latency_s * (1 - 1e-12)
    assert simulated.latency_s <= bound.latency_s + 2 * n_ops / clock  # at most a cycle of rounding per task


def test_json_has_required_fields(tmp_path):
    from archsim.cli import main

    out = tmp_path / "r.json"
    assert main(["run", "h100-sxm", "tiny", "--fidelity", "roofline", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for key in ("chip", "workload", "phase", "fidelity", "batch", "latency_s", "tpot_s", "tokens_per_s",
                "tokens_per_s_per_user", "bottleneck", "ops", "provenance"):
        assert key in data
    for key in ("name", "layer", "kind", "flops", "bytes", "compute_s", "memory_s", "comm_s", "time_s", "bound"):
        assert key in data["ops"][0]
    assert {"archsim_version", "config_hash", "mapper", "options"} <= set(data["provenance"])
