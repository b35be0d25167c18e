"""Prefix caching: the part of each prompt whose K/V is already in the cache, shared between requests.

Two ways to say which (docs/serving.md, `prefix_cache:`):
- `shared_tokens` N: every prompt starts with the same N tokens (a system prompt), clipped to the prompt less
  one token; a request finds them cached with probability `hit_rate` (default 1; a seeded stream of its own).
  Their K/V is held once per replica: ceil(N / block) blocks set aside from the KV cache.
- `hashes`: a trace's block hashes (hash_ids column: one hash per `hash_block_tokens` of the prompt, equal
  hashes for equal content, so a multi-turn chat's later turns repeat the earlier turns' hashes). An LRU cache
  of `capacity_tokens` (default a tenth of a replica's KV cache, set aside from it) is replayed in arrival
  order: a request's cached prefix is its leading blocks found in it, then all its blocks are put in it. One
  cache for all replicas, as if the router sent each conversation where its prefix is (prefix-aware routing),
  and in arrival order, not at the moment each prefill runs: stated in the run.
Cached tokens are rounded down to whole KV blocks. A cached prefix is computed from the start: the prefill
runs only the rest, attending to the prefix (it is in C, the cached context), and its blocks are not the
request's own (the loop's R_CACHED).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from archsim.errors import ArchsimInputError

DEFAULT_HASH_CACHE_SHARE = 0.1  # ASSUMED: a tenth of a replica's KV cache kept for cached prefixes by default


def reserved_tokens(spec, capacity_tokens: int, block_tokens: int) -> int:
    """KV tokens per replica set aside for cached prefixes (whole blocks)."""
    pc = spec.prefix_cache
    if pc.shared_tokens is not None:
        return -(-pc.shared_tokens // block_tokens) * block_tokens
    if pc.hashes:
        tokens = pc.capacity_tokens if pc.capacity_tokens is not None else int(capacity_tokens *
                                                                                DEFAULT_HASH_CACHE_SHARE)
        return tokens // block_tokens * block_tokens
    return 0


def cached_tokens(spec, requests, block_tokens: int, reserved: int) -> tuple[np.ndarray | None, str | None]:
    """(tokens of each request's prompt found in the prefix cache, a sentence saying how), or (None, None)."""
    pc = spec.prefix_cache
    prompt = requests.prompt_tokens
    room = (prompt - 1) // block_tokens * block_tokens  # at least one prompt token is computed
    if pc.shared_tokens is not None:
        rate = 1.0 if pc.hit_rate is None else pc.hit_rate
        rng = np.random.default_rng(np.random.SeedSequence(spec.arrivals.seed).spawn(5)[4])
        hit = rng.random(prompt.size) < rate
        shared = pc.shared_tokens // block_tokens * block_tokens
        return (np.where(hit, np.minimum(shared, room), 0).astype(np.int64),
                f"prefix cache: a shared prefix of {pc.shared_tokens:,} tokens ({shared:,} in whole blocks, "
                f"clipped to each prompt less one token), found by {rate:.0%} of requests; its K/V held once per "
                f"replica ({reserved:,} tokens set aside)")
    if not pc.hashes:
        return None, None
    if requests.block_hashes is None:
        raise ArchsimInputError("prefix_cache.hashes needs a trace with block hashes (a hash_ids column) replayed "
                                "with its own prompt lengths")
    size = pc.hash_block_tokens
    capacity = reserved // size
    lru: OrderedDict = OrderedDict()
    out = np.zeros(prompt.size, dtype=np.int64)
    for i, hashes in enumerate(requests.block_hashes):
        found = 0
        for h in hashes:
            if h not in lru:
                break
            found += 1
        out[i] = min(found * size, int(room[i])) // block_tokens * block_tokens
        for h in hashes:
            lru[h] = None
            lru.move_to_end(h)
        while len(lru) > capacity:
            lru.popitem(last=False)
    return out, (f"prefix cache: the trace's block hashes ({size} tokens each) replayed in arrival order through an "
                 f"LRU cache of {capacity:,} blocks ({reserved:,} tokens set aside per replica; one cache for all "
                 "replicas, as with prefix-aware routing)")


def summary(cached: np.ndarray | None, requests, reserved: int) -> dict | None:
    if cached is None:
        return None
    prompt = int(requests.prompt_tokens.sum())
    return {"reserved_tokens_per_replica": reserved, "requests_with_hits": int(np.count_nonzero(cached)),
            "request_hit_rate": float(np.count_nonzero(cached)) / cached.size,
            "cached_prompt_tokens": int(cached.sum()),
            "prompt_tokens": prompt, "cached_share_of_prompt_tokens": float(cached.sum()) / prompt if prompt else 0.0}
