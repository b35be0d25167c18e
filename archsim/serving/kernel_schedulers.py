"""The schedulers of the serving loop (kernel.py): static batching, continuous batching (vLLM's default
policy), chunked prefill (Sarathi-Serve) and in-flight batching (TensorRT-LLM without chunked context), with
the decode and swap-in passes they share."""
from __future__ import annotations

from archsim.engine.jit import njit
from archsim.serving.kernel_ops import (RUN, SWAP, _add, _admit, _admit_ready, _decode_q, _grow, _is_decode,
                                        _own_blocks, _preempt, _push_back, _remaining, _remove)
from archsim.serving.state import (ADMIT_RESERVE, C_ADMISSION, C_BLOCK_TOKENS, C_CHUNK, C_MAX_BATCHED, C_MAX_SEQS,
                                   C_POLICY, POLICY_CHUNKED, POLICY_INFLIGHT, POLICY_STATIC, P_FREE_BLOCKS,
                                   P_HOST_FREE, P_ITER_C,
                                   P_ITER_D, P_ITER_P, P_ITER_SEQS, P_ITER_SWAP, P_RUN_HEAD, P_RUN_N, P_RUN_TAIL,
                                   P_STATE, P_SWAP_HEAD, P_SWAP_N, P_WAIT_HEAD, P_WAIT_N, RS_PENDING, R_BLOCKS,
                                   R_CACHED, R_CHUNK, R_COMPUTED, R_HOST_BLOCKS, R_NEXT, R_OUTPUT, R_PROMPT, R_STATUS,
                                   ST_RUNNING)


# ---------------------------------------------------------------- schedulers
@njit
def _schedule_static(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """Static batching: a batch is admitted with its full length reserved, prefilled together, then decoded
    together until its longest member ends; members that finish early stay in the batch as padding."""
    if rep_i[r, P_RUN_N] > 0:
        i = rep_i[r, P_RUN_HEAD]
        while i >= 0:
            _add(req_i, req_f, rep_i, sim_f, r, i, _decode_q(req_i, cfg_i, i), True)
            i = req_i[i, R_NEXT]
        return
    tokens = 0
    while rep_i[r, P_WAIT_N] > 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS]:
        i = rep_i[r, P_WAIT_HEAD]
        chunk = _remaining(req_i, i)  # the prompt, less a cached prefix
        need = _own_blocks(req_i, cfg_i, i, req_i[i, R_PROMPT] + req_i[i, R_OUTPUT])
        if tokens + chunk > cfg_i[C_MAX_BATCHED] or need > rep_i[r, P_FREE_BLOCKS]:
            break
        _admit(req_i, rep_i, sim_i, r, i)
        rep_i[r, P_FREE_BLOCKS] -= need
        req_i[i, R_BLOCKS] = need
        tokens += chunk
        _add(req_i, req_f, rep_i, sim_f, r, i, chunk, False)


@njit
def _decode_pass(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, budget):
    """Schedule every running decode in order, preempting from the tail when the cache is full.
    Returns (tokens used, whether anything was preempted)."""
    used = 0
    preempted = False
    i = rep_i[r, P_RUN_HEAD]
    while i >= 0:
        if not _is_decode(req_i, i):
            i = req_i[i, R_NEXT]
            continue
        q = _decode_q(req_i, cfg_i, i)
        if used + q > budget:
            break
        while not _grow(req_i, rep_i, cfg_i, r, i, req_i[i, R_COMPUTED] + q):
            victim = rep_i[r, P_RUN_TAIL]
            _preempt(req_i, rep_i, sim_i, cfg_i, r, victim)
            preempted = True
            if victim == i:
                break
        if req_i[i, R_STATUS] != ST_RUNNING:
            break  # it preempted itself: nothing after it remains
        _add(req_i, req_f, rep_i, sim_f, r, i, q, True)
        used += q
        i = req_i[i, R_NEXT]
    return used, preempted


@njit
def _swap_in_pass(req_i, req_f, rep_i, cfg_i, sim_f, r, budget, chunked):
    """Bring swapped sequences back, oldest first, while they fit; they join this iteration."""
    used = 0
    while rep_i[r, P_SWAP_N] > 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS] and used < budget:
        i = rep_i[r, P_SWAP_HEAD]
        decode = _is_decode(req_i, i)
        chunk = _decode_q(req_i, cfg_i, i) if decode else _remaining(req_i, i)
        if chunked and not decode:
            chunk = min(chunk, budget - used)
        if used + chunk > budget or (_own_blocks(req_i, cfg_i, i, req_i[i, R_COMPUTED] + chunk)
                                     > rep_i[r, P_FREE_BLOCKS]):
            break
        _remove(req_i, rep_i, r, SWAP, i)
        rep_i[r, P_HOST_FREE] += req_i[i, R_HOST_BLOCKS]
        req_i[i, R_HOST_BLOCKS] = 0
        _grow(req_i, rep_i, cfg_i, r, i, req_i[i, R_COMPUTED] + chunk)
        _push_back(req_i, rep_i, r, RUN, i)
        req_i[i, R_STATUS] = ST_RUNNING
        rep_i[r, P_ITER_SWAP] += req_i[i, R_COMPUTED] - req_i[i, R_CACHED]
        _add(req_i, req_f, rep_i, sim_f, r, i, chunk, decode)
        used += chunk
    return used


@njit
def _admit_prompts(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, used, budget):
    """Whole prompts of waiting requests (FCFS, the head of the queue blocks the rest) join the iteration while
    they fit beside the `used` tokens within `budget`, max_seqs and the cache (reserve admission: blocks for
    prompt + output). Returns the iteration's tokens after them."""
    reserve = cfg_i[C_ADMISSION] == ADMIT_RESERVE
    while rep_i[r, P_WAIT_N] > 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS]:
        i = rep_i[r, P_WAIT_HEAD]
        if _is_decode(req_i, i):
            break  # it came with its K/V and waits for room to decode (_admit_ready)
        chunk = _remaining(req_i, i)
        if used + chunk > budget:
            break
        tokens = req_i[i, R_PROMPT] + req_i[i, R_OUTPUT] if reserve else req_i[i, R_COMPUTED] + chunk
        if _own_blocks(req_i, cfg_i, i, tokens) > rep_i[r, P_FREE_BLOCKS]:
            break
        _admit(req_i, rep_i, sim_i, r, i)
        _grow(req_i, rep_i, cfg_i, r, i, tokens)
        _add(req_i, req_f, rep_i, sim_f, r, i, chunk, False)
        used += chunk
    return used


@njit
def _schedule_continuous(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """vLLM's default (no chunking): whole prefills of waiting requests first (FCFS, up to max_seqs and
    max_batched_tokens, while the cache has room); if none, one decode step for every running sequence."""
    budget = cfg_i[C_MAX_BATCHED]
    _admit_ready(req_i, rep_i, sim_i, cfg_i, r)
    if rep_i[r, P_SWAP_N] == 0:
        _admit_prompts(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, 0, budget)
        if rep_i[r, P_ITER_SEQS] > 0:
            return
    used, preempted = _decode_pass(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, budget)
    if not preempted:
        _swap_in_pass(req_i, req_f, rep_i, cfg_i, sim_f, r, budget - used, False)


@njit
def _schedule_chunked(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """Sarathi-Serve / vLLM chunked prefill: within a token budget, decodes first, then chunks of running
    prefills, then swapped sequences, then new requests (FCFS); chunks shrink to the budget and the cache."""
    block, budget = cfg_i[C_BLOCK_TOKENS], cfg_i[C_CHUNK]
    reserve = cfg_i[C_ADMISSION] == ADMIT_RESERVE
    _admit_ready(req_i, rep_i, sim_i, cfg_i, r)
    while True:
        used, preempted = _decode_pass(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, budget)
        i = rep_i[r, P_RUN_HEAD]
        while i >= 0 and used < budget:
            if req_i[i, R_CHUNK] == 0 and not _is_decode(req_i, i):
                chunk = min(_remaining(req_i, i), budget - used)
                room = ((req_i[i, R_BLOCKS] + rep_i[r, P_FREE_BLOCKS]) * block
                        - (req_i[i, R_COMPUTED] - req_i[i, R_CACHED]))
                chunk = min(chunk, room)
                if chunk > 0:
                    _grow(req_i, rep_i, cfg_i, r, i, req_i[i, R_COMPUTED] + chunk)
                    _add(req_i, req_f, rep_i, sim_f, r, i, chunk, False)
                    used += chunk
            i = req_i[i, R_NEXT]
        if not preempted:
            used += _swap_in_pass(req_i, req_f, rep_i, cfg_i, sim_f, r, budget - used, True)
        if rep_i[r, P_SWAP_N] == 0:
            while rep_i[r, P_WAIT_N] > 0 and used < budget and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS]:
                i = rep_i[r, P_WAIT_HEAD]
                if _is_decode(req_i, i):
                    break  # it came with its K/V and waits for room to decode (_admit_ready)
                chunk = min(_remaining(req_i, i), budget - used)
                if reserve:
                    tokens = req_i[i, R_PROMPT] + req_i[i, R_OUTPUT]
                else:
                    chunk = min(chunk, rep_i[r, P_FREE_BLOCKS] * block)
                    tokens = req_i[i, R_COMPUTED] + chunk
                if chunk <= 0 or _own_blocks(req_i, cfg_i, i, tokens) > rep_i[r, P_FREE_BLOCKS]:
                    break
                _admit(req_i, rep_i, sim_i, r, i)
                _grow(req_i, rep_i, cfg_i, r, i, tokens)
                _add(req_i, req_f, rep_i, sim_f, r, i, chunk, False)
                used += chunk
        if rep_i[r, P_ITER_SEQS] > 0 or rep_i[r, P_RUN_N] == 0:
            return
        # Running prefills hold the whole cache and none can grow: evict the most recent and try again.
        _preempt(req_i, rep_i, sim_i, cfg_i, r, rep_i[r, P_RUN_TAIL])


@njit
def _schedule_inflight(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """TensorRT-LLM's in-flight batching without chunked context: every running decode, then swapped sequences,
    then whole prompts of waiting requests (FCFS) in the same iteration, while the iteration's tokens stay within
    max_batched_tokens (TensorRT-LLM's max_num_tokens) and the cache has room; a prompt that does not fit whole
    waits for a later iteration (it is never split)."""
    budget = cfg_i[C_MAX_BATCHED]
    _admit_ready(req_i, rep_i, sim_i, cfg_i, r)
    used, preempted = _decode_pass(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, budget)
    if not preempted:
        used += _swap_in_pass(req_i, req_f, rep_i, cfg_i, sim_f, r, budget - used, False)
    if rep_i[r, P_SWAP_N] == 0:
        _admit_prompts(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, used, budget)


@njit
def _schedule(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    for col in (P_ITER_P, P_ITER_D, P_ITER_C, P_ITER_SEQS, P_ITER_SWAP):
        rep_i[r, col] = 0
    policy = cfg_i[C_POLICY]
    if policy == POLICY_STATIC:
        _schedule_static(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    elif policy == POLICY_CHUNKED:
        _schedule_chunked(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    elif policy == POLICY_INFLIGHT:
        _schedule_inflight(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    else:
        _schedule_continuous(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    if rep_i[r, P_ITER_SEQS] > 0:
        rep_i[r, P_STATE] = RS_PENDING
