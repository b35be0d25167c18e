"""The serving event loop, compiled: requests, replicas, schedulers, paged KV cache.

`_run` advances the whole system in virtual time over structure-of-arrays
state (state.py) and returns a code: RET_DONE when the run is over (finished,
or stopped by a cap), or a request for Python (a cost-table corner to fill, a
direct cost, a larger iteration log), after which Python calls it again and it
resumes exactly where it stopped. Semantics (docs/serving.md), in one place:

- Events at one instant: iterations that end, in replica order; then arrivals
  (routed one by one); then every idle replica schedules its next iteration.
- A request with p prompt tokens has p + g tokens after g outputs; `computed`
  of them have K/V in the cache. An iteration schedules `chunk` tokens for a
  sequence; when computed reaches p + g, a token is emitted at the end of the
  iteration. A sequence with g >= 1 and one token to compute is a decode;
  anything else is a prefill chunk. C counts `computed` before the iteration.
- Blocks: a sequence holding t tokens of K/V needs ceil(t / block) blocks.
  `reserve` admission takes blocks for p + output at admission; `on_demand`
  takes them as tokens are scheduled and preempts when the cache is full.
- Preemption (vLLM): the most recently admitted running sequence is the
  victim; by recompute (its K/V dropped, back to the front of the waiting
  queue, its prefill redone over p + g tokens) or by swap (its K/V moved to
  host memory, the transfer time added to the iteration, back when it fits).
"""
from __future__ import annotations

import numpy as np

from archsim.engine.jit import njit
from archsim.serving.iteration_table import _interpolate
from archsim.serving.state import (ADMIT_RESERVE, C_ADMISSION, C_BLOCK_TOKENS, C_BLOCKS, C_CHUNK, C_DIRECT,
                                   C_MAX_BATCHED, C_MAX_CONTEXT, C_MAX_QUEUE, C_MAX_SEQS, C_POLICY, C_PREEMPTION,
                                   C_ROUTER, F_ARRIVAL, F_FINISH, F_FIRST_TOKEN, F_SCHEDULED, G_SWAP_S_PER_TOKEN,
                                   G_TIME_CAP, L_C, L_D, L_KV_BLOCKS, L_P, L_REPLICA, L_SEQS, L_SWAP, L_WAITING,
                                   LF_JOULES, LF_SECONDS, LF_START, P_FREE_BLOCKS, P_HOST_FREE, P_ITER_C, P_ITER_D,
                                   P_ITER_P, P_ITER_SEQS, P_ITER_SWAP, P_OUTSTANDING, P_RUN_HEAD, P_RUN_N,
                                   P_RUN_TAIL, P_STATE, P_SWAP_HEAD, P_SWAP_N, P_WAIT_HEAD, P_WAIT_N,
                                   POLICY_CHUNKED, POLICY_STATIC, PREEMPT_SWAP, Q_BUSY_S, Q_END, Q_JOULES, Q_START,
                                   R_BLOCKS, R_CHUNK, R_COMPUTED, R_GENERATED, R_HOST_BLOCKS, R_NEXT, R_OUTPUT,
                                   R_PREV, R_PROMPT, R_RECOMPUTES, R_REJECT, R_REPLICA, R_STATUS, R_SWAPS,
                                   R_TOKEN_OFFSET, REJECT_BATCH, REJECT_CONTEXT, REJECT_KV, RET_DONE,
                                   RET_LOG_FULL, RET_NEED_CELL, RET_NEED_DIRECT, RET_OUT_OF_RANGE,
                                   ROUTER_ROUND_ROBIN, RS_BUSY, RS_IDLE, RS_PENDING, RUN_ACTIVE, RUN_DONE,
                                   RUN_QUEUE_CAP, RUN_STUCK, RUN_TIME_CAP, S_DIRECT_C, S_DIRECT_D, S_DIRECT_P,
                                   S_DIRECT_READY, S_FINISHED, S_ITERATIONS, S_LOG_N, S_LOOKUPS, S_MAX_QUEUE_SEEN,
                                   S_MISSES, S_NEED, S_NEED_N, S_NEXT_ARRIVAL, S_RECOMPUTES, S_REJECTED,
                                   S_ROUND_ROBIN, S_STATUS, S_SWAPS, S_WAITING, ST_FINISHED, ST_REJECTED,
                                   ST_RUNNING, ST_SWAPPED, ST_WAITING, T_DIRECT_J, T_DIRECT_S, T_NOW)

WAIT, RUN, SWAP = P_WAIT_HEAD, P_RUN_HEAD, P_SWAP_HEAD  # a list is named by its head column (head, tail, n)


# ---------------------------------------------------------------- doubly linked lists per replica
@njit
def _push_back(req_i, rep_i, r, h, i):
    tail = rep_i[r, h + 1]
    req_i[i, R_PREV] = tail
    req_i[i, R_NEXT] = -1
    if tail >= 0:
        req_i[tail, R_NEXT] = i
    else:
        rep_i[r, h] = i
    rep_i[r, h + 1] = i
    rep_i[r, h + 2] += 1


@njit
def _push_front(req_i, rep_i, r, h, i):
    head = rep_i[r, h]
    req_i[i, R_NEXT] = head
    req_i[i, R_PREV] = -1
    if head >= 0:
        req_i[head, R_PREV] = i
    else:
        rep_i[r, h + 1] = i
    rep_i[r, h] = i
    rep_i[r, h + 2] += 1


@njit
def _remove(req_i, rep_i, r, h, i):
    p, q = req_i[i, R_PREV], req_i[i, R_NEXT]
    if p >= 0:
        req_i[p, R_NEXT] = q
    else:
        rep_i[r, h] = q
    if q >= 0:
        req_i[q, R_PREV] = p
    else:
        rep_i[r, h + 1] = p
    rep_i[r, h + 2] -= 1
    req_i[i, R_NEXT] = -1
    req_i[i, R_PREV] = -1


# ---------------------------------------------------------------- small helpers
@njit
def _blocks(tokens, block):
    return (tokens + block - 1) // block


@njit
def _remaining(req_i, i):
    return req_i[i, R_PROMPT] + req_i[i, R_GENERATED] - req_i[i, R_COMPUTED]


@njit
def _is_decode(req_i, i):
    return req_i[i, R_GENERATED] >= 1 and _remaining(req_i, i) == 1


@njit
def _grow(req_i, rep_i, cfg_i, r, i, tokens):
    """Blocks for `tokens` of K/V (taken from the free pool); False if there are not enough."""
    need = _blocks(tokens, cfg_i[C_BLOCK_TOKENS]) - req_i[i, R_BLOCKS]
    if need <= 0:
        return True
    if need > rep_i[r, P_FREE_BLOCKS]:
        return False
    rep_i[r, P_FREE_BLOCKS] -= need
    req_i[i, R_BLOCKS] += need
    return True


@njit
def _add(req_i, req_f, rep_i, sim_f, r, i, chunk, decode):
    """Put `chunk` tokens of sequence i into replica r's iteration."""
    req_i[i, R_CHUNK] = chunk
    if decode:
        rep_i[r, P_ITER_D] += 1
    else:
        rep_i[r, P_ITER_P] += chunk
    rep_i[r, P_ITER_C] += req_i[i, R_COMPUTED]
    rep_i[r, P_ITER_SEQS] += 1
    if req_f[i, F_SCHEDULED] < 0.0:
        req_f[i, F_SCHEDULED] = sim_f[T_NOW]


@njit
def _admit(req_i, rep_i, sim_i, r, i):
    """Move the head of the waiting queue to the tail of the running list."""
    _remove(req_i, rep_i, r, WAIT, i)
    sim_i[S_WAITING] -= 1
    _push_back(req_i, rep_i, r, RUN, i)
    req_i[i, R_STATUS] = ST_RUNNING


@njit
def _free(req_i, rep_i, r, i):
    rep_i[r, P_FREE_BLOCKS] += req_i[i, R_BLOCKS]
    req_i[i, R_BLOCKS] = 0


@njit
def _preempt(req_i, rep_i, sim_i, cfg_i, r, v):
    """Evict running sequence v: swap its K/V to host memory if asked and it fits, else recompute."""
    _remove(req_i, rep_i, r, RUN, v)
    blocks = req_i[v, R_BLOCKS]
    if cfg_i[C_PREEMPTION] == PREEMPT_SWAP and blocks <= rep_i[r, P_HOST_FREE]:
        _free(req_i, rep_i, r, v)
        rep_i[r, P_HOST_FREE] -= blocks
        req_i[v, R_HOST_BLOCKS] = blocks
        _push_back(req_i, rep_i, r, SWAP, v)
        req_i[v, R_STATUS] = ST_SWAPPED
        rep_i[r, P_ITER_SWAP] += req_i[v, R_COMPUTED]
        req_i[v, R_SWAPS] += 1
        sim_i[S_SWAPS] += 1
        return
    _free(req_i, rep_i, r, v)
    rep_i[r, P_OUTSTANDING] += req_i[v, R_COMPUTED]
    req_i[v, R_COMPUTED] = 0
    _push_front(req_i, rep_i, r, WAIT, v)
    req_i[v, R_STATUS] = ST_WAITING
    sim_i[S_WAITING] += 1
    req_i[v, R_RECOMPUTES] += 1
    sim_i[S_RECOMPUTES] += 1


# ---------------------------------------------------------------- arrivals and routing
@njit
def _arrive(req_i, rep_i, sim_i, cfg_i, i):
    prompt, output = req_i[i, R_PROMPT], req_i[i, R_OUTPUT]
    policy = cfg_i[C_POLICY]
    # Non-chunked schedulers prefill in one iteration: the prompt, and after a recompute
    # (continuous, on demand) the prompt and all but the last output token.
    longest_prefill = prompt + output - 1 if (policy != POLICY_STATIC
                                              and cfg_i[C_ADMISSION] != ADMIT_RESERVE) else prompt
    reason = 0
    if prompt + output > cfg_i[C_MAX_CONTEXT]:
        reason = REJECT_CONTEXT
    elif _blocks(prompt + output, cfg_i[C_BLOCK_TOKENS]) > cfg_i[C_BLOCKS]:
        reason = REJECT_KV
    elif policy != POLICY_CHUNKED and longest_prefill > cfg_i[C_MAX_BATCHED]:
        reason = REJECT_BATCH
    if reason != 0:
        req_i[i, R_REJECT] = reason
        req_i[i, R_STATUS] = ST_REJECTED
        sim_i[S_REJECTED] += 1
        return
    n = rep_i.shape[0]
    if cfg_i[C_ROUTER] == ROUTER_ROUND_ROBIN:
        r = sim_i[S_ROUND_ROBIN]
        sim_i[S_ROUND_ROBIN] = (r + 1) % n
    else:  # least outstanding tokens, ties to the lowest index
        r = 0
        for k in range(1, n):
            if rep_i[k, P_OUTSTANDING] < rep_i[r, P_OUTSTANDING]:
                r = k
    req_i[i, R_REPLICA] = r
    req_i[i, R_STATUS] = ST_WAITING
    _push_back(req_i, rep_i, r, WAIT, i)
    rep_i[r, P_OUTSTANDING] += prompt + output - 1
    sim_i[S_WAITING] += 1


# ---------------------------------------------------------------- schedulers
@njit
def _schedule_static(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """Static batching: a batch is admitted with its full length reserved, prefilled together, then decoded
    together until its longest member ends; members that finish early stay in the batch as padding."""
    if rep_i[r, P_RUN_N] > 0:
        i = rep_i[r, P_RUN_HEAD]
        while i >= 0:
            _add(req_i, req_f, rep_i, sim_f, r, i, 1, True)
            i = req_i[i, R_NEXT]
        return
    block = cfg_i[C_BLOCK_TOKENS]
    tokens = 0
    while rep_i[r, P_WAIT_N] > 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS]:
        i = rep_i[r, P_WAIT_HEAD]
        prompt = req_i[i, R_PROMPT]
        need = _blocks(prompt + req_i[i, R_OUTPUT], block)
        if tokens + prompt > cfg_i[C_MAX_BATCHED] or need > rep_i[r, P_FREE_BLOCKS]:
            break
        _admit(req_i, rep_i, sim_i, r, i)
        rep_i[r, P_FREE_BLOCKS] -= need
        req_i[i, R_BLOCKS] = need
        tokens += prompt
        _add(req_i, req_f, rep_i, sim_f, r, i, prompt, False)


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
        if used >= budget:
            break
        while not _grow(req_i, rep_i, cfg_i, r, i, req_i[i, R_COMPUTED] + 1):
            victim = rep_i[r, P_RUN_TAIL]
            _preempt(req_i, rep_i, sim_i, cfg_i, r, victim)
            preempted = True
            if victim == i:
                break
        if req_i[i, R_STATUS] != ST_RUNNING:
            break  # it preempted itself: nothing after it remains
        _add(req_i, req_f, rep_i, sim_f, r, i, 1, True)
        used += 1
        i = req_i[i, R_NEXT]
    return used, preempted


@njit
def _swap_in_pass(req_i, req_f, rep_i, cfg_i, sim_f, r, budget, chunked):
    """Bring swapped sequences back, oldest first, while they fit; they join this iteration."""
    used = 0
    block = cfg_i[C_BLOCK_TOKENS]
    while rep_i[r, P_SWAP_N] > 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS] and used < budget:
        i = rep_i[r, P_SWAP_HEAD]
        decode = _is_decode(req_i, i)
        chunk = 1 if decode else _remaining(req_i, i)
        if chunked and not decode:
            chunk = min(chunk, budget - used)
        if used + chunk > budget or _blocks(req_i[i, R_COMPUTED] + chunk, block) > rep_i[r, P_FREE_BLOCKS]:
            break
        _remove(req_i, rep_i, r, SWAP, i)
        rep_i[r, P_HOST_FREE] += req_i[i, R_HOST_BLOCKS]
        req_i[i, R_HOST_BLOCKS] = 0
        _grow(req_i, rep_i, cfg_i, r, i, req_i[i, R_COMPUTED] + chunk)
        _push_back(req_i, rep_i, r, RUN, i)
        req_i[i, R_STATUS] = ST_RUNNING
        rep_i[r, P_ITER_SWAP] += req_i[i, R_COMPUTED]
        _add(req_i, req_f, rep_i, sim_f, r, i, chunk, decode)
        used += chunk
    return used


@njit
def _schedule_continuous(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    """vLLM's default (no chunking): whole prefills of waiting requests first (FCFS, up to max_seqs and
    max_batched_tokens, while the cache has room); if none, one decode step for every running sequence."""
    block, budget = cfg_i[C_BLOCK_TOKENS], cfg_i[C_MAX_BATCHED]
    if rep_i[r, P_SWAP_N] == 0:
        while rep_i[r, P_WAIT_N] > 0:
            i = rep_i[r, P_WAIT_HEAD]
            chunk = _remaining(req_i, i)
            if rep_i[r, P_ITER_P] + chunk > budget or rep_i[r, P_RUN_N] + 1 > cfg_i[C_MAX_SEQS]:
                break
            tokens = req_i[i, R_PROMPT] + req_i[i, R_OUTPUT] if cfg_i[C_ADMISSION] == ADMIT_RESERVE else chunk
            if _blocks(tokens, block) > rep_i[r, P_FREE_BLOCKS]:
                break
            _admit(req_i, rep_i, sim_i, r, i)
            _grow(req_i, rep_i, cfg_i, r, i, tokens)
            _add(req_i, req_f, rep_i, sim_f, r, i, chunk, False)
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
    while True:
        used, preempted = _decode_pass(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r, budget)
        i = rep_i[r, P_RUN_HEAD]
        while i >= 0 and used < budget:
            if req_i[i, R_CHUNK] == 0 and not _is_decode(req_i, i):
                chunk = min(_remaining(req_i, i), budget - used)
                room = (req_i[i, R_BLOCKS] + rep_i[r, P_FREE_BLOCKS]) * block - req_i[i, R_COMPUTED]
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
                chunk = min(_remaining(req_i, i), budget - used)
                if reserve:
                    tokens = req_i[i, R_PROMPT] + req_i[i, R_OUTPUT]
                else:
                    chunk = min(chunk, rep_i[r, P_FREE_BLOCKS] * block)
                    tokens = chunk
                if chunk <= 0 or _blocks(tokens, block) > rep_i[r, P_FREE_BLOCKS]:
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
def _schedule(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r):
    for col in (P_ITER_P, P_ITER_D, P_ITER_C, P_ITER_SEQS, P_ITER_SWAP):
        rep_i[r, col] = 0
    policy = cfg_i[C_POLICY]
    if policy == POLICY_STATIC:
        _schedule_static(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    elif policy == POLICY_CHUNKED:
        _schedule_chunked(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    else:
        _schedule_continuous(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
    if rep_i[r, P_ITER_SEQS] > 0:
        rep_i[r, P_STATE] = RS_PENDING


# ---------------------------------------------------------------- iteration end
@njit
def _complete(req_i, req_f, token_s, rep_i, sim_i, cfg_i, r, now):
    """The iteration of replica r ends at `now`: advance its sequences, emit tokens, retire finished ones."""
    static = cfg_i[C_POLICY] == POLICY_STATIC
    i = rep_i[r, P_RUN_HEAD]
    while i >= 0:
        nxt = req_i[i, R_NEXT]
        chunk = req_i[i, R_CHUNK]
        if chunk > 0:
            req_i[i, R_CHUNK] = 0
            req_i[i, R_COMPUTED] += chunk
            if req_i[i, R_STATUS] == ST_RUNNING:  # (static padding of a finished member does no work for it)
                rep_i[r, P_OUTSTANDING] -= chunk
                if req_i[i, R_COMPUTED] == req_i[i, R_PROMPT] + req_i[i, R_GENERATED]:
                    g = req_i[i, R_GENERATED]
                    token_s[req_i[i, R_TOKEN_OFFSET] + g] = now
                    req_i[i, R_GENERATED] = g + 1
                    if g == 0:
                        req_f[i, F_FIRST_TOKEN] = now
                    if g + 1 == req_i[i, R_OUTPUT]:
                        req_f[i, F_FINISH] = now
                        req_i[i, R_STATUS] = ST_FINISHED
                        sim_i[S_FINISHED] += 1
                        if not static:
                            _remove(req_i, rep_i, r, RUN, i)
                            _free(req_i, rep_i, r, i)
        i = nxt
    if static:  # the batch ends when its last member finishes
        done = True
        i = rep_i[r, P_RUN_HEAD]
        while i >= 0:
            if req_i[i, R_STATUS] != ST_FINISHED:
                done = False
            i = req_i[i, R_NEXT]
        if done:
            while rep_i[r, P_RUN_N] > 0:
                i = rep_i[r, P_RUN_HEAD]
                _remove(req_i, rep_i, r, RUN, i)
                _free(req_i, rep_i, r, i)
    rep_i[r, P_STATE] = RS_IDLE


# ---------------------------------------------------------------- pricing
@njit
def _price(req_i, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, p_axis, d_axis, c_axis, tab_s, tab_j, tab_ok,
           log_i, log_f, out):
    """Give every pending iteration its duration and energy; stop (return a code) when Python must act."""
    for r in range(rep_i.shape[0]):
        if rep_i[r, P_STATE] != RS_PENDING:
            continue
        n_log = sim_i[S_LOG_N]
        if n_log >= log_i.shape[0]:
            return RET_LOG_FULL
        p, d, c = rep_i[r, P_ITER_P], rep_i[r, P_ITER_D], rep_i[r, P_ITER_C]
        if cfg_i[C_DIRECT] != 0:
            if sim_i[S_DIRECT_READY] == 0:
                sim_i[S_DIRECT_P], sim_i[S_DIRECT_D], sim_i[S_DIRECT_C] = p, d, c
                return RET_NEED_DIRECT
            sim_i[S_DIRECT_READY] = 0
            seconds, joules = sim_f[T_DIRECT_S], sim_f[T_DIRECT_J]
        else:
            n = _interpolate(p_axis, d_axis, c_axis, tab_s, tab_j, tab_ok, p, d, c, sim_i[S_NEED:S_NEED + 8], out)
            if n < 0:
                sim_i[S_DIRECT_P], sim_i[S_DIRECT_D], sim_i[S_DIRECT_C] = p, d, c
                return RET_OUT_OF_RANGE
            if n > 0:
                sim_i[S_NEED_N] = n
                sim_i[S_MISSES] += 1
                return RET_NEED_CELL
            sim_i[S_LOOKUPS] += 1
            seconds, joules = out[0], out[1]
        seconds += rep_i[r, P_ITER_SWAP] * cfg_f[G_SWAP_S_PER_TOKEN]
        now = sim_f[T_NOW]
        rep_f[r, Q_START] = now
        rep_f[r, Q_END] = now + seconds
        rep_f[r, Q_BUSY_S] += seconds
        rep_f[r, Q_JOULES] += joules
        rep_i[r, P_STATE] = RS_BUSY
        log_i[n_log, L_REPLICA], log_i[n_log, L_P], log_i[n_log, L_D], log_i[n_log, L_C] = r, p, d, c
        log_i[n_log, L_SEQS] = rep_i[r, P_ITER_SEQS]
        log_i[n_log, L_KV_BLOCKS] = cfg_i[C_BLOCKS] - rep_i[r, P_FREE_BLOCKS]
        log_i[n_log, L_WAITING] = rep_i[r, P_WAIT_N]
        log_i[n_log, L_SWAP] = rep_i[r, P_ITER_SWAP]
        log_f[n_log, LF_START], log_f[n_log, LF_SECONDS], log_f[n_log, LF_JOULES] = now, seconds, joules
        sim_i[S_LOG_N] = n_log + 1
        sim_i[S_ITERATIONS] += 1
    return RET_DONE


# ---------------------------------------------------------------- the loop
@njit
def _run(req_i, req_f, token_s, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, p_axis, d_axis, c_axis,
         tab_s, tab_j, tab_ok, log_i, log_f):
    n, replicas = req_i.shape[0], rep_i.shape[0]
    out = np.zeros(2)
    while True:
        code = _price(req_i, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, p_axis, d_axis, c_axis, tab_s, tab_j,
                      tab_ok, log_i, log_f, out)
        if code != RET_DONE:
            return code
        if sim_i[S_STATUS] != RUN_ACTIVE:
            return RET_DONE
        nxt = sim_i[S_NEXT_ARRIVAL]
        t = np.inf
        if nxt < n:
            t = req_f[nxt, F_ARRIVAL]
        for r in range(replicas):
            if rep_i[r, P_STATE] == RS_BUSY and rep_f[r, Q_END] < t:
                t = rep_f[r, Q_END]
        if t == np.inf:
            over = sim_i[S_FINISHED] + sim_i[S_REJECTED] == n
            sim_i[S_STATUS] = RUN_DONE if over else RUN_STUCK
            return RET_DONE
        if t > cfg_f[G_TIME_CAP]:
            sim_i[S_STATUS] = RUN_TIME_CAP
            return RET_DONE
        sim_f[T_NOW] = t
        for r in range(replicas):
            if rep_i[r, P_STATE] == RS_BUSY and rep_f[r, Q_END] == t:
                _complete(req_i, req_f, token_s, rep_i, sim_i, cfg_i, r, t)
        while nxt < n and req_f[nxt, F_ARRIVAL] <= t:
            _arrive(req_i, rep_i, sim_i, cfg_i, nxt)
            nxt += 1
        sim_i[S_NEXT_ARRIVAL] = nxt
        if sim_i[S_WAITING] > sim_i[S_MAX_QUEUE_SEEN]:
            sim_i[S_MAX_QUEUE_SEEN] = sim_i[S_WAITING]
        if sim_i[S_WAITING] > cfg_i[C_MAX_QUEUE]:
            sim_i[S_STATUS] = RUN_QUEUE_CAP
            return RET_DONE
        for r in range(replicas):
            if rep_i[r, P_STATE] == RS_IDLE:
                _schedule(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
