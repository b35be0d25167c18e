"""Closed-loop arrivals (`--arrivals concurrency --concurrency N`): N clients, each sending its next request the
moment its last one ends, as AIPerf and genai-perf run their concurrency sweeps."""
import json

import numpy as np
import pytest

from archsim.cli import main
from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.state import ST_FINISHED, ST_REJECTED

from tests.cli_checks import bad
from tests.test_serving_loop import affine


def _lengths(n, seed=3):
    rng = np.random.default_rng(seed)
    return rng.integers(10, 600, n), rng.integers(1, 40, n)


def _closed(n, clients, **kw):
    prompt, output = _lengths(n)
    config = LoopConfig(kv_capacity_tokens=kw.pop("kv", 200_000), max_context=kw.pop("max_context", 8192),
                        clients=clients, **kw)
    return simulate_requests(np.zeros(n), prompt, output, affine, config, direct=True)


def _in_flight_at(run, t):
    """Requests issued at or before t that have not ended before t (a request ending at t hands over at t)."""
    end = np.where(run.status == ST_FINISHED, run.finish_s, run.arrival_s)  # a rejection ends when it arrives
    return int(np.count_nonzero((run.arrival_s <= t) & (end > t)))


def test_one_client_sends_each_request_when_the_one_before_ends():
    run = _closed(30, 1)
    assert (run.status == ST_FINISHED).all()
    assert run.arrival_s[0] == 0.0
    np.testing.assert_array_equal(run.arrival_s[1:], run.finish_s[:-1])
    assert (run.iterations["seqs"] == 1).all()  # never two requests at once


@pytest.mark.parametrize("clients", [2, 5, 16])
def test_never_more_requests_in_flight_than_clients_and_every_end_issues_the_next(clients):
    run = _closed(120, clients)
    assert (run.status == ST_FINISHED).all()
    assert (np.diff(run.arrival_s) >= 0).all()
    assert (run.arrival_s[:clients] == 0.0).all() and (run.arrival_s[clients:] > 0).all()
    for t in np.unique(np.concatenate([run.arrival_s, run.finish_s])):
        assert _in_flight_at(run, t) <= clients
    # request clients + k is issued at the k-th end (ends sorted; ties at one instant issue together)
    np.testing.assert_array_equal(run.arrival_s[clients:], np.sort(run.finish_s)[:120 - clients])
    assert run.iterations["seqs"].max() == clients


def test_as_many_clients_as_requests_is_the_offline_run_bit_for_bit():
    n = 40
    prompt, output = _lengths(n)
    config = LoopConfig(kv_capacity_tokens=200_000, max_context=8192)
    offline = simulate_requests(np.zeros(n), prompt, output, affine, config, direct=True)
    for clients in (n, n + 7):
        closed = simulate_requests(np.zeros(n), prompt, output, affine,
                                   LoopConfig(kv_capacity_tokens=200_000, max_context=8192, clients=clients),
                                   direct=True)
        np.testing.assert_array_equal(closed.token_s, offline.token_s)
        np.testing.assert_array_equal(closed.arrival_s, offline.arrival_s)


def test_a_rejected_request_hands_its_client_the_next_one():
    prompt, output = _lengths(20)
    prompt[[3, 4, 11]] = 9000  # beyond the model's context: rejected on arrival
    run = simulate_requests(np.zeros(20), prompt, output, affine,
                            LoopConfig(kv_capacity_tokens=200_000, max_context=8192, clients=2), direct=True)
    assert list(np.nonzero(run.status == ST_REJECTED)[0]) == [3, 4, 11]
    assert ((run.status == ST_FINISHED) | (run.status == ST_REJECTED)).all()
    for t in np.unique(run.arrival_s):
        assert _in_flight_at(run, t) <= 2


def test_a_closed_loop_is_deterministic():
    a, b = _closed(80, 7), _closed(80, 7)
    np.testing.assert_array_equal(a.token_s, b.token_s)
    np.testing.assert_array_equal(a.arrival_s, b.arrival_s)


SERVE = ["serve", "h100-sxm", "llama3.1-8b"]


def test_the_cli_runs_a_closed_loop_and_reports_its_clients(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(SERVE + ["--arrivals", "concurrency", "--concurrency", "3", "--requests", "12", "--prompt-tokens",
                         "300", "--output-tokens", "20", "--json", str(out)]) == 0
    assert "closed loop: 3 clients" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["summary"]["finished"] == 12
    assert data["summary"]["load"]["batch_size_max"] == 3


@pytest.mark.parametrize("args, message", [
    (("--arrivals", "concurrency"), "needs its number of clients (--concurrency N)"),
    (("--concurrency", "4", "--rate", "2"), "concurrency is the client count of a closed loop"),
    (("--arrivals", "concurrency", "--concurrency", "4", "--duration", "60s"), "give their count"),
    (("--arrivals", "concurrency", "--concurrency", "0"), "concurrency"),
])
def test_bad_closed_loop_input_is_one_located_error(args, message, capsys):
    bad(SERVE + list(args) + ["--prompt-tokens", "100", "--output-tokens", "10"], capsys, message)
