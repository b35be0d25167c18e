"""Operations on the serving loop's state (kernel.py): per-replica linked lists of requests (waiting,
running, swapped), KV blocks, putting a sequence into an iteration, admission and preemption.

A sequence owns the blocks of its K/V beyond its cached prefix (R_CACHED tokens, block-aligned, shared with
the prefix cache and never freed by it); a decode processes 1 token, or with speculative decoding the last
token and up to k drafts (`_decode_q`)."""
from __future__ import annotations

from archsim.engine.jit import njit
from archsim.serving.state import (ADMIT_RESERVE, C_ADMISSION, C_BLOCK_TOKENS, C_MAX_SEQS, C_PREEMPTION, C_SPEC_K,
                                   F_SCHEDULED,
                                   PREEMPT_SWAP, P_FREE_BLOCKS, P_HOST_FREE, P_ITER_C, P_ITER_D, P_ITER_P,
                                   P_ITER_SEQS, P_ITER_SWAP, P_OUTSTANDING, P_RUN_HEAD, P_RUN_N, P_SWAP_HEAD,
                                   P_SWAP_N, P_WAIT_HEAD, P_WAIT_N, R_BLOCKS, R_CACHED, R_CHUNK, R_COMPUTED,
                                   R_GENERATED, R_HOST_BLOCKS, R_NEXT, R_OUTPUT, R_PREV, R_PROMPT, R_RECOMPUTES,
                                   R_STATUS, R_SWAPS, ST_RUNNING, ST_SWAPPED, ST_WAITING, S_RECOMPUTES, S_SWAPS,
                                   S_WAITING, T_NOW)

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
def _own_blocks(req_i, cfg_i, i, tokens):
    """Blocks sequence i owns when it holds `tokens` of K/V (its cached prefix is shared, not its own)."""
    return _blocks(tokens - req_i[i, R_CACHED], cfg_i[C_BLOCK_TOKENS])


@njit
def _remaining(req_i, i):
    return req_i[i, R_PROMPT] + req_i[i, R_GENERATED] - req_i[i, R_COMPUTED]


@njit
def _is_decode(req_i, i):
    return req_i[i, R_GENERATED] >= 1 and _remaining(req_i, i) == 1


@njit
def _decode_q(req_i, cfg_i, i):
    """Tokens a decode of sequence i processes: 1; with speculative decoding the last token and k drafts, fewer
    near its end (no draft beyond its last output token: at most output - generated - 1 drafts)."""
    drafts = min(cfg_i[C_SPEC_K], req_i[i, R_OUTPUT] - req_i[i, R_GENERATED] - 1)
    return 1 + max(0, drafts)


@njit
def _grow(req_i, rep_i, cfg_i, r, i, tokens):
    """Blocks for `tokens` of K/V (taken from the free pool); False if there are not enough."""
    need = _own_blocks(req_i, cfg_i, i, tokens) - req_i[i, R_BLOCKS]
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
def _admit_ready(req_i, rep_i, sim_i, cfg_i, r):
    """Requests that arrive with their prompt's K/V and first token (a disaggregated decode pool) join the running
    list at the head of the queue, FCFS, while their K/V and one more token fit (reserve admission: their whole
    prompt + output, which they hold from then on, so they are never preempted); they decode from then on."""
    reserve = cfg_i[C_ADMISSION] == ADMIT_RESERVE
    while rep_i[r, P_WAIT_N] > 0 and rep_i[r, P_SWAP_N] == 0 and rep_i[r, P_RUN_N] < cfg_i[C_MAX_SEQS]:
        i = rep_i[r, P_WAIT_HEAD]
        if not _is_decode(req_i, i):
            return
        tokens = req_i[i, R_PROMPT] + req_i[i, R_OUTPUT] if reserve else req_i[i, R_COMPUTED]
        if _own_blocks(req_i, cfg_i, i, max(tokens, req_i[i, R_COMPUTED] + 1)) > rep_i[r, P_FREE_BLOCKS]:
            return
        _admit(req_i, rep_i, sim_i, r, i)
        _grow(req_i, rep_i, cfg_i, r, i, tokens)


@njit
def _free(req_i, rep_i, r, i):
    rep_i[r, P_FREE_BLOCKS] += req_i[i, R_BLOCKS]
    req_i[i, R_BLOCKS] = 0


@njit
def _preempt(req_i, rep_i, sim_i, cfg_i, r, v):
    """Evict running sequence v: swap its K/V to host memory if asked and it fits, else recompute (its own K/V
    dropped; a cached prefix stays in the prefix cache)."""
    _remove(req_i, rep_i, r, RUN, v)
    blocks = req_i[v, R_BLOCKS]
    if cfg_i[C_PREEMPTION] == PREEMPT_SWAP and blocks <= rep_i[r, P_HOST_FREE]:
        _free(req_i, rep_i, r, v)
        rep_i[r, P_HOST_FREE] -= blocks
        req_i[v, R_HOST_BLOCKS] = blocks
        _push_back(req_i, rep_i, r, SWAP, v)
        req_i[v, R_STATUS] = ST_SWAPPED
        rep_i[r, P_ITER_SWAP] += req_i[v, R_COMPUTED] - req_i[v, R_CACHED]
        req_i[v, R_SWAPS] += 1
        sim_i[S_SWAPS] += 1
        return
    _free(req_i, rep_i, r, v)
    rep_i[r, P_OUTSTANDING] += req_i[v, R_COMPUTED] - req_i[v, R_CACHED]
    req_i[v, R_COMPUTED] = req_i[v, R_CACHED]
    _push_front(req_i, rep_i, r, WAIT, v)
    req_i[v, R_STATUS] = ST_WAITING
    sim_i[S_WAITING] += 1
    req_i[v, R_RECOMPUTES] += 1
    sim_i[S_RECOMPUTES] += 1
