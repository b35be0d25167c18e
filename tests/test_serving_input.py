"""Bad serving input: one clear message naming the file, line and key (or column), exit 2 via the CLI.
One fixture per rule in tests/fixtures/serving/."""
from pathlib import Path

import pytest

from archsim.errors import ArchsimInputError, SpecError
from archsim.serving.spec import load_serving
from archsim.serving.traces import load_trace
from cli_checks import bad as _bad

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serving"


def serve(*extra):
    return ["serve", "h100-sxm", "tiny", *extra]


@pytest.mark.parametrize("fixture, words", [
    ("unknown_key.yaml", ["unknown_key.yaml:7", "scheduler.polcy", "did you mean 'policy'"]),
    ("negative_rate.yaml", ["negative_rate.yaml:5", "arrivals.rate", "greater than zero"]),
    ("bare_number_slo.yaml", ["bare_number_slo.yaml:5", "slo.ttft", "a time"]),
    ("gamma_without_cv.yaml", ["gamma_without_cv.yaml:", "arrivals.cv", "gamma process needs the cv"]),
    ("swap_without_space.yaml", ["swap_without_space.yaml:", "kv_cache.swap_space", "host memory"]),
])
def test_bad_serving_file(fixture, words, capsys):
    _bad(serve("--serving", FIXTURES / fixture), capsys, *words)


@pytest.mark.parametrize("fixture, words", [
    ("trace_missing_column.csv", ["trace_missing_column.csv:1", "output", "GeneratedTokens"]),
    ("trace_out_of_order.csv", ["trace_out_of_order.csv:4", "timestamp", "out of order"]),
    ("trace_bad_tokens.csv", ["trace_bad_tokens.csv:3", "prompt_tokens", "whole number"]),
])
def test_bad_trace(fixture, words, capsys):
    _bad(serve("--trace", FIXTURES / fixture), capsys, *words)


def test_bad_flags(capsys):
    _bad(serve("--rate", "-3", "--prompt-tokens", "10", "--output-tokens", "2"), capsys, "arrivals.rate",
         "greater than zero")
    _bad(serve("--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2", "--scheduler", "fifo"), capsys,
         "scheduler.policy", "'continuous'")
    _bad(serve("--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2", "--slo", "latency=2s"), capsys,
         "--slo key 'latency'")
    _bad(serve("--trace", "azure-chat"), capsys, "unknown trace 'azure-chat'", "azure-conv")
    _bad(serve("--rate", "1"), capsys, "prompt.tokens", "--prompt-tokens")
    _bad(serve("--scenario", "mlperf-server"), capsys, "MLPerf server has no latency limits for 'tiny'")
    _bad(serve("--scenario", "mlperf-sever"), capsys, "did you mean 'mlperf-server'")
    _bad(serve("--arrivals", "offline", "--prompt-tokens", "10", "--output-tokens", "2", "--find-max-rate",
               "--slo", "ttft=1s"), capsys, "--find-max-rate searches over Poisson")


def test_systems_that_cannot_hold_the_replicas_or_swap(capsys):
    _bad(["serve", "dgx-h100", "tiny", "--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2",
          "--replicas", "3", "-o", "tp=4"], capsys, "3 replicas x 4 chips (tp 4 x pp 1) = 12 chips", "has 8")
    _bad(["serve", "cs3x4", "tiny", "--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2",
          "--replicas", "2"], capsys, "serves as one replica")
    _bad(["serve", "groq-lpu-576", "tiny", "--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2",
          "--preemption", "swap", "--swap-space", "1 GB"], capsys, "no host memory")


def test_every_problem_of_a_file_is_reported_together(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text("version: 1\nkind: serving\narrivals: {process: poisson, rate: 0}\nscheduler: {max_seqs: -1}\n"
                    "extra: 1\n")
    with pytest.raises(SpecError) as err:
        load_serving(str(path))
    text = str(err.value)
    assert "3 problems" in text and "arrivals.rate" in text and "scheduler.max_seqs" in text and "extra" in text


def test_a_trace_with_dates_or_seconds_reads_relative_times():
    trace = load_trace(str(FIXTURES / "small_trace.csv"))
    assert list(trace.arrival_s) == pytest.approx([0.0, 0.3, 1.0, 3.0])
    assert list(trace.prompt_tokens) == [100, 50, 80, 30] and list(trace.output_tokens) == [10, 5, 20, 3]
    with pytest.raises(ArchsimInputError, match="does not exist"):
        load_trace("no/such/trace.csv")
