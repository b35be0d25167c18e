"""serve(): KV capacity, the iteration cost, energy and cost, the CLI and its files, the rate search and
the MLPerf presets."""
import csv
import json
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.hw.load import load_system
from archsim.pipeline import run as pipeline_run
from archsim.serving.capacity import kv_capacity_tokens
from archsim.serving.cost import IterationCost
from archsim.serving.rate_search import find_max_rate
from archsim.serving.scenarios import scenario_preset
from archsim.serving.serve import prepare, serve
from archsim.serving.spec import load_serving
from archsim.workload.lower import parameter_count
from archsim.workload.model import Scenario, load_transformer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serving"


def test_kv_capacity_of_llama3_8b_on_one_h100_by_hand():
    """80 GB - 8.03 B params x 2 B - the workspace of an 8,192-token prefill (attention is fused, so its
    largest unfused operator, the SwiGLU activation: reads 2 x 8192 x 14336 and writes 8192 x 14336 values
    of 2 B, plus the residual stream of 8192 x 4096 values, as the mapper's check counts them), over 2 x 32 layers x 8 K/V heads x 128 x 2 B = 131,072 B per token;
    less the largest iteration's new tokens (256 decodes + 8,192 prefill tokens)."""
    system, model = load_system("h100-sxm"), load_transformer("llama3.1-8b")
    tokens, why = kv_capacity_tokens(system, "llama3.1-8b", model, Scenario(), {"tp": 1, "pp": 1},
                                     max_batched_tokens=8192, max_seqs=256)
    weights = parameter_count(model) * 2
    workspace = (3 * 8192 * 14336 + 8192 * 4096) * 2
    assert tokens == int((80e9 - weights - workspace) // 131072) - 256 - 8192
    assert "131,072" not in why and "128.0 KiB per token" in why and f"{tokens:,} tokens" in why


def test_tensor_parallelism_splits_weights_and_kv_heads():
    system, model = load_system("dgx-h100"), load_transformer("llama2-70b")
    limits = dict(max_batched_tokens=8192, max_seqs=256)
    tp8, _ = kv_capacity_tokens(system, "llama2-70b", model, Scenario(), {"tp": 8, "pp": 1}, **limits)
    tp4, _ = kv_capacity_tokens(system, "llama2-70b", model, Scenario(), {"tp": 4, "pp": 1}, **limits)
    assert tp8 > 2 * tp4  # twice the GPUs for the K/V of a token, and less of the weights on each
    fp8, _ = kv_capacity_tokens(system, "llama2-70b", model,
                                Scenario(weight_dtype="fp8", act_dtype="fp8", kv_dtype="fp8"), {"tp": 8, "pp": 1},
                                **limits)
    assert fp8 > 1.9 * tp8


def test_iteration_cost_is_one_mixed_step_through_the_mapper():
    """P alone is a prefill step, D alone a decode step, both one mixed step: its linear layers read the
    weights once, so it costs less than the two steps apart and more than either."""
    system = load_system("h100-sxm")
    scenario = Scenario()
    cost = IterationCost(system, "llama3.1-8b", scenario, {"tp": 1, "pp": 1})
    prefill = pipeline_run(system, "llama3.1-8b", scenario.with_(phase="prefill", batch=1, prompt_len=300),
                           options={"tp": 1, "pp": 1})
    decode = pipeline_run(system, "llama3.1-8b", scenario.with_(phase="decode", batch=8, context_len=125),
                          options={"tp": 1, "pp": 1})
    assert cost(300, 0, 0) == (prefill.latency_s, prefill.energy["dynamic_j"])
    assert cost(0, 8, 1000) == (decode.latency_s, decode.energy["dynamic_j"])
    both, _ = cost(300, 8, 1000)
    assert max(prefill.latency_s, decode.latency_s) < both < prefill.latency_s + decode.latency_s
    prefix, _ = cost(300, 0, 3000)  # a later chunk: its queries also attend to 3,000 cached tokens
    assert prefix > prefill.latency_s
    assert cost.pipeline_runs == 4


def _affine(p, d, c):
    return 0.002 + 1e-5 * p + 5e-5 * d + 1e-8 * c, 0.05 * p + 0.2 * d


def test_energy_is_dynamic_per_iteration_plus_static_power_over_the_run():
    spec = load_serving(flags=dict(rate=5.0, requests=40, prompt_tokens=200, output_tokens=20))
    result = serve("dgx-h100", "tiny", spec, options={"tp": 1}, cost_fn=_affine, direct=True)
    run = result.run
    dynamic = float(run.iterations["joules"].sum())
    static = 70.0 * 8 * run.end_s  # every chip of the system idles at 70 W (h100-sxm.yaml) for the whole run
    assert result.energy["dynamic_j"] == pytest.approx(dynamic)
    assert result.energy["energy_j"] == pytest.approx(dynamic + static)
    assert result.energy["energy_per_output_token_j"] == pytest.approx((dynamic + static) / (40 * 20))
    assert result.cost["cost_per_million_tokens_usd"] > 0
    assert result.setup["replicas"] == 1 and result.setup["replica_mapping"] == "tp 1 x pp 1"


def test_cli_prints_the_summary_and_writes_json_csv_timeline_and_plots(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["serve", "dgx-h100", "tiny", "--serving", FIXTURES / "chunked.yaml", "-o", "tp=2", "--fidelity",
            "roofline", "--json", out / "r.json", "--csv", out / "r.csv", "--timeline", out / "t.json",
            "--plot", out / "plots"]
    out.mkdir()
    assert main([str(a) for a in argv]) == 0
    text = capsys.readouterr().out
    for words in ("serving tiny on dgx-h100: 2 replicas x tp 2", "chunked prefill (256-token budget)", "TTFT",
                  "TPOT", "inter-token", "goodput", "preemptions:", "stability:", "J per output token",
                  "per million output tokens", "hit rate"):
        assert words in text, words
    doc = json.loads((out / "r.json").read_text())
    assert doc["summary"]["requests"] == 60 and doc["setup"]["scheduler"]["policy"] == "chunked"
    assert set(doc["summary"]["latency"]) == {"ttft_s", "tpot_s", "e2e_s", "queue_s", "itl_s"}
    assert doc["summary"]["slo"]["ttft_s"] == 0.005 and "goodput_requests_per_s" in doc["summary"]["slo"]
    rows = list(csv.DictReader((out / "r.csv").open()))
    assert len(rows) == 60 and {r["replica"] for r in rows} == {"0", "1"}
    assert all(float(r["e2e_s"]) >= float(r["ttft_s"]) > 0 for r in rows)
    trace = json.loads((out / "t.json").read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert {"prefill", "decode"} & names and any(n.startswith("request ") for n in names)
    for plot in ("latency_cdf", "throughput_latency", "kv_use"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 0


def test_the_rate_search_brackets_and_bisects_to_the_boundary():
    """A fake system: P99 TTFT is 0.1 s below 37 requests/s and 10 s above."""
    from types import SimpleNamespace

    def evaluate(rate):
        ttft = 0.1 if rate <= 37.0 else 10.0
        return SimpleNamespace(summary={
            "slo": {"p99_met": ttft <= 2.0, "fraction_meeting": 1.0}, "stability": {"stable": True},
            "latency": {"ttft_s": {"p99": ttft}, "tpot_s": {"p99": 0.01}}, "requests": 10,
            "throughput": {"output_tokens_per_s": rate * 100}})

    search = find_max_rate(evaluate, 2.0, 0.2, start=1.0, tolerance=0.01)
    assert 36.6 <= search.best_rate <= 37.0
    rates = [p["rate"] for p in search.points]
    assert rates[:7] == [1, 2, 4, 8, 16, 32, 64]
    low = find_max_rate(evaluate, 2.0, 0.2, start=500.0, tolerance=0.01)
    assert 36.6 <= low.best_rate <= 37.0
    never = find_max_rate(lambda r: evaluate(1e9), 2.0, 0.2, start=1.0)
    assert never.best is None


def test_find_max_rate_on_a_small_system():
    spec = load_serving(flags=dict(rate=20.0, requests=150, prompt_tokens=300, output_tokens=30,
                                   slo_ttft="100 ms", slo_tpot="20 ms"))
    setup = prepare("h100-sxm", "tiny", spec, cost_fn=_affine)
    results = []

    def evaluate(rate):
        results.append(serve(setup.system, "tiny", spec, setup=setup, rate=rate))
        return results[-1]

    search = find_max_rate(evaluate, 0.1, 0.02, start=20.0, tolerance=0.05)
    best = search.best.summary
    assert best["slo"]["p99_met"] and best["latency"]["ttft_s"]["p99"] <= 0.1
    failing = [p for p in search.points if not p["meets"]]
    assert failing and min(p["rate"] for p in failing) > search.best_rate
    assert min(p["rate"] for p in failing) <= search.best_rate * 1.05 + 1e-9
    # one cost table shared by every rate: later runs mostly reuse what earlier ones filled
    assert sum(r.table["cost_fn_calls"] for r in results) == setup.table.fills
    assert results[-1].table["cost_fn_calls"] < results[0].table["cost_fn_calls"]


def test_mlperf_presets():
    base, notes = scenario_preset("mlperf-server", "llama2-70b")
    spec = load_serving(flags={"rate": 10.0}, base=base)
    assert spec.slo.ttft == 2.0 and spec.slo.tpot == 0.2 and spec.arrivals.duration == 600.0
    assert spec.output.mean == 294.45 and spec.output.max == 1024 and spec.prompt.max == 1023
    inter, _ = scenario_preset("mlperf-interactive", "llama2-70b")
    assert inter["slo"] == {"ttft": "450 ms", "tpot": "40 ms"}
    assert scenario_preset("mlperf-server", "llama3.1-405b")[0]["slo"] == {"ttft": "6000 ms", "tpot": "175 ms"}
    off, _ = scenario_preset("mlperf-offline", "llama3.1-8b")
    assert off["arrivals"] == {"process": "offline", "requests": 24576}
    assert any("ASSUMED" in n for n in notes)


def test_every_exported_serving_name_resolves():
    import archsim.serving

    for name in archsim.serving.__all__:
        assert getattr(archsim.serving, name) is not None, name


def test_the_gpu_token_steps_are_where_a_kernel_leaves_l2_and_the_table_has_points_there():
    """The GPU family names the token counts past which an activation-only kernel is read from HBM (a step of
    several microseconds per layer); the cost table puts a token point there, and decode points on both sides,
    so no iteration is read across such a step."""
    import numpy as np

    from archsim.serving.serve import ready_table

    setup = prepare("h100-sxm", "llama3.1-8b", load_serving(None, {"trace": "azure-conv", "duration": "60s"}))
    steps = setup.cost_fn.token_steps(8192)
    assert 508 in steps and 145 in steps  # the residual adds (3 x 4096 x 2 B a token), the SwiGLU activation
    for t in steps:
        before, at, after = (setup.cost_fn(0, d, d)[0] for d in (t - 1, t, t + 1))  # t decodes, 1 cached token each
        assert after - at > 3 * (at - before), (t, before, at, after)
    ready_table(setup, np.array([1000]), np.array([100]))
    assert set(steps) <= set(setup.table.t_axis.tolist()) and 512 in setup.table.t_axis
    assert {145, 146} <= set(setup.table.d_axis.tolist())
