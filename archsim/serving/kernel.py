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
- Blocks: a sequence holding t tokens of K/V needs ceil(t / block) blocks,
  less those of its prompt's prefix found in the prefix cache (R_CACHED,
  computed from the start and shared). `reserve` admission takes blocks for
  p + output at admission; `on_demand` takes them as tokens are scheduled and
  preempts when the cache is full.
- Speculative decoding (C_SPEC_K = k > 0): a decode processes q = 1 + up to
  k drafts; when it ends, 1 + min(a, q - 1) tokens are emitted together,
  a = accepted[token offset + generated] drawn by Python (seeded).
- Closed loop (C_CLIENTS = N > 0): the first N requests arrive at t = 0, and
  each request that finishes or is rejected issues the next one at that
  instant (N clients, no think time: AIPerf's and genai-perf's --concurrency).
  Rows keep arrival order: issue times only grow.
- A request may arrive with its prompt's K/V and first token (a disaggregated
  decode pool): it joins the running list when it fits and decodes.
- Preemption (vLLM): the most recently admitted running sequence is the
  victim; by recompute (its K/V dropped, back to the front of the waiting
  queue, its prefill redone over p + g tokens) or by swap (its K/V moved to
  host memory, the transfer time added to the iteration, back when it fits).
"""
from __future__ import annotations

import numpy as np

from pathlib import Path

from archsim.engine.jit import njit, purge_stale_cache

# The loop calls kernels of these files: a change to any of them must recompile it (engine/jit.py says why).
purge_stale_cache(Path(__file__).parent, ("kernel.py", "kernel_ops.py", "kernel_schedulers.py", "state.py",
                                          "iteration_table.py", "../engine/jit.py"))

from archsim.serving.iteration_table import _interpolate  # noqa: E402
from archsim.serving.kernel_ops import RUN, WAIT, _free, _is_decode, _own_blocks, _push_back, _remove
from archsim.serving.kernel_schedulers import _schedule
from archsim.serving.state import (ADMIT_RESERVE, C_ADMISSION, C_BLOCKS, C_CLIENTS, C_DIRECT, C_MAX_BATCHED, C_SPEC_K,
                                   C_MAX_CONTEXT, C_MAX_QUEUE, C_POLICY, C_ROUTER, F_ARRIVAL, F_FINISH, F_FIRST_TOKEN,
                                   G_ITER_OVERHEAD, G_SWAP_S_PER_TOKEN, G_TIME_CAP, LF_JOULES, LF_SECONDS, LF_START,
                                   L_C, L_D, L_KV_BLOCKS, L_P, L_REPLICA, L_SEQS, L_SWAP, L_WAITING, POLICY_CHUNKED,
                                   POLICY_STATIC, P_FREE_BLOCKS, P_ITER_C, P_ITER_D, P_ITER_P, P_ITER_SEQS,
                                   P_ITER_SWAP, P_OUTSTANDING, P_RUN_HEAD, P_RUN_N, P_STATE, P_WAIT_N, Q_BUSY_S, Q_END,
                                   Q_JOULES, Q_START, REJECT_BATCH, REJECT_CONTEXT, REJECT_KV, RET_DONE, RET_LOG_FULL,
                                   RET_NEED_CELL, RET_NEED_DIRECT, RET_OUT_OF_RANGE, ROUTER_ROUND_ROBIN, RS_BUSY,
                                   RS_IDLE, RS_PENDING, RUN_ACTIVE, RUN_DONE, RUN_QUEUE_CAP, RUN_STUCK, RUN_TIME_CAP,
                                   R_CACHED, R_CHUNK, R_COMPUTED, R_GENERATED, R_NEXT, R_OUTPUT, R_PROMPT, R_REJECT,
                                   R_REPLICA, R_STATUS, R_TOKEN_OFFSET, ST_FINISHED, ST_REJECTED, ST_RUNNING,
                                   ST_WAITING, S_DIRECT_C, S_DIRECT_D, S_DIRECT_P, S_DIRECT_READY, S_FINISHED,
                                   S_ISSUED, S_ITERATIONS, S_LOG_N, S_LOOKUPS, S_MAX_QUEUE_SEEN, S_MISSES, S_NEED,
                                   S_NEED_N, S_NEXT_ARRIVAL, S_REJECTED, S_ROUND_ROBIN, S_STATUS, S_VERIFY_STEPS,
                                   S_VERIFY_TOKENS, S_WAITING, T_DIRECT_J, T_DIRECT_S, T_NOW)


# ---------------------------------------------------------------- arrivals and routing
@njit
def _arrive(req_i, rep_i, sim_i, cfg_i, i):
    prompt, output, cached = req_i[i, R_PROMPT], req_i[i, R_OUTPUT], req_i[i, R_CACHED]
    policy = cfg_i[C_POLICY]
    # Non-chunked schedulers prefill in one iteration: the prompt, and after a recompute
    # (continuous, on demand) the prompt and all but the last output token (a cached prefix excepted).
    longest_prefill = prompt + output - 1 if (policy != POLICY_STATIC
                                              and cfg_i[C_ADMISSION] != ADMIT_RESERVE) else prompt
    longest_prefill -= cached
    reason = 0
    if prompt + output > cfg_i[C_MAX_CONTEXT]:
        reason = REJECT_CONTEXT
    elif _own_blocks(req_i, cfg_i, i, prompt + output) > cfg_i[C_BLOCKS]:
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
    rep_i[r, P_OUTSTANDING] += prompt + output - 1 - req_i[i, R_COMPUTED]
    sim_i[S_WAITING] += 1


# ---------------------------------------------------------------- iteration end
@njit
def _complete(req_i, req_f, token_s, accepted, rep_i, sim_i, cfg_i, r, now):
    """The iteration of replica r ends at `now`: advance its sequences, emit tokens, retire finished ones."""
    static = cfg_i[C_POLICY] == POLICY_STATIC
    i = rep_i[r, P_RUN_HEAD]
    while i >= 0:
        nxt = req_i[i, R_NEXT]
        chunk = req_i[i, R_CHUNK]
        if chunk > 0:
            req_i[i, R_CHUNK] = 0
            running = req_i[i, R_STATUS] == ST_RUNNING  # (static padding of a finished member does no work for it)
            g = req_i[i, R_GENERATED]
            emit = 0
            if running and cfg_i[C_SPEC_K] > 0 and _is_decode(req_i, i):  # a verify step of `chunk` tokens
                emit = 1
                if chunk > 1:
                    emit += min(accepted[req_i[i, R_TOKEN_OFFSET] + g], chunk - 1)
                req_i[i, R_COMPUTED] += emit
                rep_i[r, P_OUTSTANDING] -= emit
                sim_i[S_VERIFY_STEPS] += 1
                sim_i[S_VERIFY_TOKENS] += emit
            else:
                req_i[i, R_COMPUTED] += chunk
                if running:
                    rep_i[r, P_OUTSTANDING] -= chunk
                    if req_i[i, R_COMPUTED] == req_i[i, R_PROMPT] + g:
                        emit = 1
            if emit > 0:
                for e in range(emit):
                    token_s[req_i[i, R_TOKEN_OFFSET] + g + e] = now
                req_i[i, R_GENERATED] = g + emit
                if g == 0:
                    req_f[i, F_FIRST_TOKEN] = now
                if g + emit == req_i[i, R_OUTPUT]:
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
def _price(req_i, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, t_axis, d_axis, c_axis, tab_s, tab_j, tab_ok,
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
            n = _interpolate(t_axis, d_axis, c_axis, tab_s, tab_j, tab_ok, p, d, c, cfg_i[C_SPEC_K] + 1,
                             sim_i[S_NEED:S_NEED + 8], out)
            if n < 0:
                sim_i[S_DIRECT_P], sim_i[S_DIRECT_D], sim_i[S_DIRECT_C] = p, d, c
                return RET_OUT_OF_RANGE
            if n > 0:
                sim_i[S_NEED_N] = n
                sim_i[S_MISSES] += 1
                return RET_NEED_CELL
            sim_i[S_LOOKUPS] += 1
            seconds, joules = out[0], out[1]
        seconds += rep_i[r, P_ITER_SWAP] * cfg_f[G_SWAP_S_PER_TOKEN] + cfg_f[G_ITER_OVERHEAD]
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
def _run(req_i, req_f, token_s, accepted, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, t_axis, d_axis, c_axis,
         tab_s, tab_j, tab_ok, log_i, log_f):
    n, replicas = req_i.shape[0], rep_i.shape[0]
    out = np.zeros(2)
    while True:
        code = _price(req_i, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, t_axis, d_axis, c_axis, tab_s, tab_j,
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
                _complete(req_i, req_f, token_s, accepted, rep_i, sim_i, cfg_i, r, t)
        while True:
            while nxt < n and req_f[nxt, F_ARRIVAL] <= t:
                _arrive(req_i, rep_i, sim_i, cfg_i, nxt)
                nxt += 1
            if cfg_i[C_CLIENTS] == 0:
                break
            issue = min(n, cfg_i[C_CLIENTS] + sim_i[S_FINISHED] + sim_i[S_REJECTED])
            if sim_i[S_ISSUED] >= issue:
                break
            while sim_i[S_ISSUED] < issue:  # one new request per request retired, now
                req_f[sim_i[S_ISSUED], F_ARRIVAL] = t
                sim_i[S_ISSUED] += 1
        sim_i[S_NEXT_ARRIVAL] = nxt
        if sim_i[S_WAITING] > sim_i[S_MAX_QUEUE_SEEN]:
            sim_i[S_MAX_QUEUE_SEEN] = sim_i[S_WAITING]
        if sim_i[S_WAITING] > cfg_i[C_MAX_QUEUE]:
            sim_i[S_STATUS] = RUN_QUEUE_CAP
            return RET_DONE
        for r in range(replicas):
            if rep_i[r, P_STATE] == RS_IDLE:
                _schedule(req_i, req_f, rep_i, sim_i, sim_f, cfg_i, r)
