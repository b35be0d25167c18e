"""Prefix caching (archsim/serving/prefix.py and the loop's cached prefixes): answers worked out by hand."""
from pathlib import Path

import numpy as np
import pytest

from archsim.serving.loop import LoopConfig, simulate_requests
from archsim.serving.serve import serve
from archsim.serving.spec import load_serving
from cli_checks import bad as _bad

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serving"


def linear_cost(p, d, c):
    """1 ms per prefill token, 10 ms per decode, 1 us per cached token attended to."""
    return 1e-3 * p + 1e-2 * d + 1e-6 * c, 0.0


def test_full_prefix_hits_remove_the_prefill_of_the_shared_part():
    """A lone request of 96 prompt tokens, 64 of them a cached prefix: its prefill computes 32 tokens attending
    to the 64 cached ones (P = 32, C = 64), so its first token comes at 32 ms + 64 us, not 96 ms. (32 and 96
    are points of the cost table's token axis, where the table is exact.)"""
    config = LoopConfig(kv_capacity_tokens=1024, max_context=4096, reserved_tokens=64)
    run = simulate_requests([0.0], [96], [3], linear_cost, config, cached_tokens=[64])
    assert run.iterations["p"][0] == 32 and run.iterations["c"][0] == 64
    assert run.first_token_s[0] == pytest.approx(0.032 + 64e-6)
    plain = simulate_requests([0.0], [96], [3], linear_cost, LoopConfig(kv_capacity_tokens=1024, max_context=4096))
    assert plain.first_token_s[0] == pytest.approx(0.096)
    # the decodes after it attend to the whole context, the prefix included (C = 96, then 97)
    assert run.iterations["c"][1:].tolist() == plain.iterations["c"][1:].tolist() == [96, 97]


def test_cached_blocks_are_shared_and_set_aside_once():
    """Capacity 160 tokens in blocks of 16, a 32-token shared prefix set aside: 8 blocks for sequences. Two
    requests of 40 + 4 tokens with the prefix cached own ceil((44 - 32) / 16) = 1 block each, not 3."""
    config = LoopConfig(kv_capacity_tokens=160, max_context=4096, block_tokens=16, reserved_tokens=32)
    assert config.blocks == 8
    run = simulate_requests([0.0, 0.0], [40, 40], [5, 5], linear_cost, config, cached_tokens=[32, 32])
    assert run.iterations["kv_blocks"].max() == 2
    plain = simulate_requests([0.0, 0.0], [40, 40], [5, 5], linear_cost,
                              LoopConfig(kv_capacity_tokens=160, max_context=4096, block_tokens=16))
    assert plain.iterations["kv_blocks"].max() == 6


def _spec(**flags):
    return load_serving(flags={"rate": 2.0, "requests": 400, "prompt_tokens": 300, "output_tokens": 4, **flags})


def test_a_shared_prefix_with_a_hit_rate():
    result = serve("h100-sxm", "tiny", _spec(shared_prefix=200, prefix_hit_rate=0.25))
    pc = result.summary["prefix_cache"]
    cached = result.run.cached_tokens
    assert set(np.unique(cached)) == {0, 192}  # 200 tokens in whole blocks of 16
    assert pc["request_hit_rate"] == pytest.approx(0.25, abs=0.06) and pc["reserved_tokens_per_replica"] == 208
    again = serve("h100-sxm", "tiny", _spec(shared_prefix=200, prefix_hit_rate=0.25))
    assert np.array_equal(cached, again.run.cached_tokens)  # seeded
    full = serve("h100-sxm", "tiny", _spec(shared_prefix=200))
    none = serve("h100-sxm", "tiny", _spec())
    assert full.summary["latency"]["ttft_s"]["mean"] < none.summary["latency"]["ttft_s"]["mean"]


def test_cached_prefixes_from_a_traces_block_hashes():
    """Blocks of 16 tokens. With room for every block: request 1 finds blocks 1, 2 (32 tokens), request 3 finds
    1, 2, 4, 5 (64 tokens, clipped to 48: its 60-token prompt less one, in whole blocks). With room for 3 blocks
    the LRU has dropped 1 and 2 by request 3: it finds nothing."""
    file, trace = FIXTURES / "prefix_hashes16.yaml", str(FIXTURES / "hashed_trace.csv")
    big = serve("h100-sxm", "tiny", load_serving(file, flags={"trace": trace}))
    assert big.run.cached_tokens.tolist() == [0, 32, 0, 48]
    assert big.summary["prefix_cache"]["cached_prompt_tokens"] == 80
    small = serve("h100-sxm", "tiny", load_serving(file, flags={"trace": trace, "prefix_cache_tokens": 48}))
    assert small.run.cached_tokens.tolist() == [0, 32, 0, 0]


def test_bad_prefix_input(capsys):
    _bad(["serve", "h100-sxm", "tiny", "--serving", FIXTURES / "prefix_hit_rate_alone.yaml"], capsys,
         "prefix_hit_rate_alone.yaml:7", "prefix_cache.hit_rate", "shared_tokens")
    _bad(["serve", "h100-sxm", "tiny", "--rate", "1", "--prompt-tokens", "10", "--output-tokens", "2",
          "--prefix-hashes"], capsys, "prefix_cache.hashes", "trace replay")
    _bad(["serve", "h100-sxm", "tiny", "--trace", FIXTURES / "hashed_trace_bad.csv", "--prefix-hashes"], capsys,
         "hashed_trace_bad.csv:3", "hash_ids")
    _bad(["serve", "h100-sxm", "tiny", "--trace", "azure-conv", "--requests", "10", "--prefix-hashes"], capsys,
         "hash_ids")
