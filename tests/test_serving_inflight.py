"""In-flight batching (`--scheduler inflight`, TensorRT-LLM without chunked context): running decodes and whole
prompts of waiting requests share an iteration within max_batched_tokens; a prompt is never split."""
import numpy as np
import pytest

from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.state import ST_FINISHED

from tests.test_serving_loop import affine


def _run(policy, arrival, prompt, output, **kw):
    config = LoopConfig(kv_capacity_tokens=kw.pop("kv", 100_000), max_context=8192, policy=policy, **kw)
    return simulate_requests(arrival, prompt, output, affine, config, direct=True)


def test_a_new_prompt_joins_the_running_decodes_instead_of_stopping_them():
    # request 0 decodes alone; request 1 arrives while it runs
    arrival, prompt, output = [0.0, 0.02], [64, 128], [10, 5]
    inflight = _run("inflight", arrival, prompt, output)
    continuous = _run("continuous", arrival, prompt, output)
    it = inflight.iterations
    mixed = np.nonzero(it["p"] > 0)[0]
    assert list(it["p"][mixed]) == [64, 128]
    assert it["d"][mixed[1]] == 1  # request 1's prompt ran beside request 0's decode
    c = continuous.iterations
    second = np.nonzero(c["p"] == 128)[0][0]
    assert c["d"][second] == 0  # vLLM's policy: a prefill-only iteration, request 0 waits for it
    assert (inflight.status == ST_FINISHED).all() and (continuous.status == ST_FINISHED).all()


def test_a_prompt_is_never_split_and_waits_for_room_in_the_budget():
    # budget 100: request 0 decodes (1 token per iteration); request 1's 100-token prompt never fits beside it
    arrival, prompt, output = [0.0, 0.001], [50, 100], [6, 3]
    run = _run("inflight", arrival, prompt, output, max_batched_tokens=100, max_seqs=4, admission="reserve")
    it = run.iterations
    assert sorted(set(it["p"].tolist()) - {0}) == [50, 100]
    first_100 = np.nonzero(it["p"] == 100)[0][0]
    assert it["d"][first_100] == 0
    assert run.scheduled_s[1] >= run.finish_s[0]  # it ran once request 0 had ended
    assert (run.status == ST_FINISHED).all()


@pytest.mark.parametrize("admission", ["reserve", "on_demand"])
def test_iterations_stay_within_the_token_budget_and_prompts_stay_whole(admission):
    rng = np.random.default_rng(5)
    n = 300
    arrival = np.cumsum(rng.exponential(0.02, n))
    prompt = np.full(n, 300)
    output = rng.integers(1, 60, n)
    run = _run("inflight", arrival, prompt, output, max_batched_tokens=1024, max_seqs=64, kv=20_000,
               admission=admission)
    it = run.iterations
    assert (it["p"] + it["d"] <= 1024).all()
    assert (it["p"] % 300 == 0).all()  # whole prompts only (a recompute after preemption excepted: none here)
    assert run.counters["preempt_recompute"] == 0 or admission == "on_demand"
    assert ((it["p"] > 0) & (it["d"] > 0)).any()  # prompts do share iterations with decodes
    assert (run.status == ST_FINISHED).all()


def test_with_every_request_at_once_the_first_iteration_is_the_continuous_one():
    prompt, output = np.full(8, 200), np.full(8, 4)
    a = _run("inflight", np.zeros(8), prompt, output, max_batched_tokens=1000)
    b = _run("continuous", np.zeros(8), prompt, output, max_batched_tokens=1000)
    assert a.iterations["p"][0] == b.iterations["p"][0] == 1000
    assert a.iterations["d"][0] == b.iterations["d"][0] == 0
