"""The public entry to the serving loop: check and convert inputs, run the kernel, fill the cost table.

    run = simulate_requests(arrival_s, prompt_tokens, output_tokens, cost_fn, LoopConfig(...))

Hardware-independent: capacities are in tokens, costs come from `cost_fn(P, D, C) -> (seconds,
joules)`. archsim.serving.serve() builds both from a system and a model.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.serving import state as S
from archsim.serving.iteration_table import DEFAULT_POINTS_PER_OCTAVE, IterationTable

DEFAULT_MAX_QUEUE = 100_000  # waiting requests (all replicas) at which a run is stopped as unstable


@dataclass(frozen=True)
class LoopConfig:
    """Everything the loop needs, in tokens and seconds (docs/serving.md explains each)."""

    kv_capacity_tokens: int  # per replica
    max_context: int  # the model's: longer requests are rejected
    policy: str = "continuous"  # static | continuous | chunked | inflight
    admission: str = "on_demand"  # reserve | on_demand
    preemption: str = "recompute"  # recompute | swap
    max_seqs: int = 256
    max_batched_tokens: int = 8192  # static and continuous: tokens in one iteration
    chunk_tokens: int = 512  # chunked: the token budget of one iteration
    block_tokens: int = 16
    host_capacity_tokens: int = 0  # per replica, for swapping
    swap_s_per_token: float = 0.0  # seconds to move one token's K/V between device and host
    replicas: int = 1
    router: str = "round_robin"  # round_robin | least_tokens
    max_sim_time_s: float | None = None  # default: last arrival + max(last arrival, 1 h)
    max_queue: int = DEFAULT_MAX_QUEUE
    points_per_octave: int = DEFAULT_POINTS_PER_OCTAVE
    spec_k: int = 0  # speculative decoding: tokens drafted per verify step (0: off)
    reserved_tokens: int = 0  # KV tokens per replica held by the prefix cache's shared prefixes
    clients: int = 0  # closed loop: this many clients, each sending its next request when its last ends (0: off)
    iteration_overhead_s: float = 0.0  # host time added to every iteration (runtime work the GPU waits for)

    def check(self) -> "LoopConfig":
        def bad(message):
            raise ArchsimInputError(f"serving: {message}")

        for name, table in (("policy", S.POLICIES), ("admission", S.ADMISSIONS), ("preemption", S.PREEMPTIONS),
                            ("router", S.ROUTERS)):
            if getattr(self, name) not in table:
                bad(f"{name} must be one of {', '.join(table)}, got {getattr(self, name)!r}")
        for name in ("kv_capacity_tokens", "max_context", "max_seqs", "max_batched_tokens", "chunk_tokens",
                     "block_tokens", "replicas", "max_queue", "points_per_octave"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                bad(f"{name} must be a positive integer, got {value!r}")
        if self.kv_capacity_tokens < self.block_tokens:
            bad(f"the KV cache ({self.kv_capacity_tokens} tokens) holds less than one block of "
                f"{self.block_tokens} tokens")
        if self.policy != "chunked" and self.max_batched_tokens < self.max_seqs:
            bad(f"max_batched_tokens ({self.max_batched_tokens}) must be at least max_seqs ({self.max_seqs}): "
                "every running sequence decodes one token per iteration")
        for name in ("spec_k", "reserved_tokens", "clients"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                bad(f"{name} must be a non-negative integer, got {value!r}")
        if self.kv_capacity_tokens - self.reserved_tokens < self.block_tokens:
            bad(f"the prefix cache's {self.reserved_tokens} tokens leave less than one block of the "
                f"{self.kv_capacity_tokens}-token KV cache")
        if (self.spec_k and self.policy in ("continuous", "inflight")
                and self.max_batched_tokens < self.max_seqs * (self.spec_k + 1)):
            bad(f"max_batched_tokens ({self.max_batched_tokens}) must be at least max_seqs x (k + 1) = "
                f"{self.max_seqs * (self.spec_k + 1)}: every running sequence verifies k + 1 tokens per iteration")
        if not np.isfinite(self.iteration_overhead_s) or self.iteration_overhead_s < 0:
            bad(f"iteration_overhead must be a non-negative time, got {self.iteration_overhead_s!r}")
        if self.host_capacity_tokens < 0 or not np.isfinite(self.swap_s_per_token) or self.swap_s_per_token < 0:
            bad("host capacity and swap time per token must be non-negative")
        if self.preemption == "swap" and self.host_capacity_tokens < self.block_tokens:
            bad("preemption by swap needs host memory for the KV cache (kv_cache.swap_space)")
        if self.max_sim_time_s is not None and not self.max_sim_time_s > 0:
            bad(f"max_sim_time_s must be positive, got {self.max_sim_time_s}")
        return self

    @property
    def blocks(self) -> int:
        """Blocks the sequences share (the prefix cache's reserved tokens excepted)."""
        return (self.kv_capacity_tokens - self.reserved_tokens) // self.block_tokens

    @property
    def token_budget(self) -> int:
        """The most tokens the scheduler puts in one iteration's prefills (continuous, static) or in all of it
        (chunked: decodes first, then chunks up to the budget)."""
        return self.chunk_tokens if self.policy == "chunked" else self.max_batched_tokens

    def table_limits(self, prompt: np.ndarray, output: np.ndarray) -> tuple[int, int, int]:
        """Largest T (tokens through the linear layers: P + (k + 1) D), D and C an iteration can have, so the
        table's axes cover them. The schedulers keep T within the budget; the axis allows P and D both at their
        largest (a bound, not a count of points: only the cells that iterations use are filled)."""
        max_p = self.token_budget
        max_c = self.kv_capacity_tokens  # a cached prefix is attended to by every sequence that shares it
        if self.reserved_tokens:
            max_c = self.max_seqs * int((prompt + output).max()) if prompt.size else max_c
            max_c = min(max_c, self.blocks * self.block_tokens + self.max_seqs * self.reserved_tokens)
        else:
            max_c = self.blocks * self.block_tokens
        if self.policy == "static" and prompt.size:  # finished members keep decoding as padding: a member's
            # context grows to its prompt + the batch's longest output, not its own p + o
            max_c = max(max_c, self.max_seqs * (int(prompt.max()) + int(output.max())))
        return max_p + (self.spec_k + 1) * self.max_seqs, self.max_seqs, max_c

    def new_table(self, prompt: np.ndarray, output: np.ndarray, token_steps=()) -> IterationTable:
        """An empty cost table for these requests: axes up to table_limits, T counted with k + 1 tokens per
        decode. Exact points: the token budget on the token axis (chunked prefill fills it in nearly every
        iteration), and at each of `token_steps` (token counts after which the cost function steps up, from
        its family) a token point and, for decode-only iterations (T = (k + 1) D), decode points on both sides."""
        return IterationTable.for_limits(*self.table_limits(prompt, output), points_per_octave=self.points_per_octave,
                                         decode_tokens=self.spec_k + 1, **self._exact(token_steps))

    def table_fits(self, table: IterationTable, prompt: np.ndarray, output: np.ndarray, token_steps=()) -> bool:
        return table.covers(*self.table_limits(prompt, output), decode_tokens=self.spec_k + 1,
                            **self._exact(token_steps))

    def _exact(self, token_steps) -> dict:
        q = self.spec_k + 1
        decodes = [d for t in token_steps for d in (int(t) // q, int(t) // q + 1)]
        return dict(exact_tokens=(self.token_budget, *(int(t) for t in token_steps)), exact_decodes=decodes)


@dataclass
class LoopRun:
    """What the loop produced: per-request arrays (rows in arrival order), the iteration log, counters."""

    config: LoopConfig
    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    replica: np.ndarray
    status: np.ndarray  # state.ST_* per request
    reject_reason: np.ndarray  # state.REJECT_* per request
    scheduled_s: np.ndarray  # first scheduled (-1: never)
    first_token_s: np.ndarray
    finish_s: np.ndarray
    generated: np.ndarray
    recomputes: np.ndarray
    swaps: np.ndarray
    token_s: np.ndarray  # emission time of every output token, request by request
    token_offset: np.ndarray  # where each request's tokens start in token_s
    iterations: dict  # iteration log: replica, p, d, c, seqs, kv_blocks, waiting, swap_tokens, start_s, seconds, joules
    replica_busy_s: np.ndarray
    replica_joules: np.ndarray
    end_s: float  # simulated time when the run ended
    run_status: str  # done | time_cap | queue_cap
    counters: dict = field(default_factory=dict)
    cached_tokens: np.ndarray | None = None  # per request, its prompt's tokens found in the prefix cache

    def token_times(self, i: int) -> np.ndarray:
        start = self.token_offset[i]
        return self.token_s[start:start + self.generated[i]]


RUN_STATUS = {S.RUN_DONE: "done", S.RUN_TIME_CAP: "time_cap", S.RUN_QUEUE_CAP: "queue_cap"}


def _requests(arrival_s, prompt_tokens, output_tokens):
    arrival = np.ascontiguousarray(arrival_s, dtype=np.float64)
    prompt = np.ascontiguousarray(prompt_tokens, dtype=np.int64)
    output = np.ascontiguousarray(output_tokens, dtype=np.int64)
    if not (arrival.ndim == prompt.ndim == output.ndim == 1 and arrival.size == prompt.size == output.size):
        raise ArchsimInputError("serving: arrival times, prompt and output lengths must be 1-D arrays of one length")
    if arrival.size == 0:
        raise ArchsimInputError("serving: no requests to simulate")
    if not np.all(np.isfinite(arrival)) or arrival.min() < 0 or np.any(np.diff(arrival) < 0):
        raise ArchsimInputError("serving: arrival times must be finite, non-negative and in order")
    if prompt.min() < 1 or output.min() < 1:
        raise ArchsimInputError("serving: every request needs at least one prompt and one output token")
    return arrival, prompt, output


def _state(config: LoopConfig, arrival, prompt, output, cached=None, prefilled: bool = False):
    n, replicas = arrival.size, config.replicas
    req_i = np.zeros((n, S.R_COLUMNS), dtype=np.int64)
    req_i[:, S.R_PROMPT], req_i[:, S.R_OUTPUT] = prompt, output
    if cached is not None:  # a cached prefix is in the KV cache from the start
        req_i[:, S.R_CACHED] = req_i[:, S.R_COMPUTED] = cached
    if prefilled:  # a decode pool: the prompt's K/V arrives with the request, its first token already out
        req_i[:, S.R_COMPUTED], req_i[:, S.R_GENERATED] = prompt, 1
    req_i[:, [S.R_REPLICA, S.R_NEXT, S.R_PREV]] = -1
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(output[:-1], out=offsets[1:])
    req_i[:, S.R_TOKEN_OFFSET] = offsets
    req_f = np.full((n, S.F_COLUMNS), -1.0)
    req_f[:, S.F_ARRIVAL] = arrival
    rep_i = np.zeros((replicas, S.P_COLUMNS), dtype=np.int64)
    for h in (S.P_WAIT_HEAD, S.P_RUN_HEAD, S.P_SWAP_HEAD):
        rep_i[:, h] = rep_i[:, h + 1] = -1
    rep_i[:, S.P_FREE_BLOCKS] = config.blocks
    rep_i[:, S.P_HOST_FREE] = config.host_capacity_tokens // config.block_tokens
    rep_f = np.zeros((replicas, S.Q_COLUMNS))
    sim_i = np.zeros(S.S_COLUMNS, dtype=np.int64)
    sim_f = np.zeros(S.T_COLUMNS)
    cfg_i = np.zeros(S.C_COLUMNS, dtype=np.int64)
    cfg_i[S.C_POLICY] = S.POLICIES[config.policy]
    cfg_i[S.C_ADMISSION] = S.ADMISSIONS[config.admission]
    cfg_i[S.C_PREEMPTION] = S.PREEMPTIONS[config.preemption]
    cfg_i[S.C_MAX_SEQS], cfg_i[S.C_MAX_BATCHED], cfg_i[S.C_CHUNK] = (config.max_seqs, config.max_batched_tokens,
                                                                      config.chunk_tokens)
    cfg_i[S.C_BLOCK_TOKENS], cfg_i[S.C_BLOCKS] = config.block_tokens, config.blocks
    cfg_i[S.C_HOST_BLOCKS] = config.host_capacity_tokens // config.block_tokens
    cfg_i[S.C_ROUTER], cfg_i[S.C_REPLICAS] = S.ROUTERS[config.router], replicas
    cfg_i[S.C_MAX_CONTEXT], cfg_i[S.C_MAX_QUEUE] = config.max_context, config.max_queue
    cfg_i[S.C_SPEC_K] = config.spec_k
    cfg_i[S.C_CLIENTS] = config.clients
    cfg_f = np.zeros(S.G_COLUMNS)
    last = float(arrival[-1])
    cap = last + max(last, 3600.0)
    if config.clients:  # issue times are the run's own: the first `clients` now, the rest as requests retire
        req_f[config.clients:, S.F_ARRIVAL] = np.inf
        sim_i[S.S_ISSUED] = min(n, config.clients)
        cap = np.inf  # every request is issued once one retires: the run ends by itself
    cfg_f[S.G_TIME_CAP] = config.max_sim_time_s if config.max_sim_time_s is not None else cap
    cfg_f[S.G_SWAP_S_PER_TOKEN] = config.swap_s_per_token
    cfg_f[S.G_ITER_OVERHEAD] = config.iteration_overhead_s
    token_s = np.full(int(output.sum()), -1.0)
    return req_i, req_f, token_s, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f


def simulate_requests(arrival_s, prompt_tokens, output_tokens, cost_fn, config: LoopConfig, *,
                      table: IterationTable | None = None, direct: bool = False, cached_tokens=None,
                      accepted=None, prefilled: bool = False) -> LoopRun:
    """Serve the requests on `config.replicas` replicas; iterations priced by `cost_fn(P, D, C)`.

    table: an IterationTable to use and fill (shared across runs, e.g. a rate search); by default a
    new one covering the limits of `config`. direct: call cost_fn for every iteration (no grid).
    cached_tokens: per request, tokens of its prompt in the prefix cache (multiples of block_tokens, less
    than the prompt). accepted: with config.spec_k > 0, per output token of each request (laid out as the
    token times), the drafts accepted by a verify step made after that many outputs (0..k).
    prefilled: every request arrives with its prompt's K/V and its first token (a decode pool)."""
    from archsim.serving.kernel import _run

    config = config.check()
    arrival, prompt, output = _requests(arrival_s, prompt_tokens, output_tokens)
    cached = _cached(cached_tokens, prompt, config)
    accept = _accepted(accepted, output, config)
    if prefilled and config.policy == "static":
        raise ArchsimInputError("serving: a decode pool (requests arriving with their K/V) needs continuous or "
                                "chunked batching, not static")
    if prefilled and output.min() < 2:
        raise ArchsimInputError("serving: a request that arrives with its first token (a decode pool) must want "
                                "at least one more (output tokens >= 2)")
    if table is None:
        table = config.new_table(prompt, output)
    elif not config.table_fits(table, prompt, output):
        raise ArchsimInputError(f"serving: the iteration table covers T, D, C up to {table.limits} with "
                                f"{table.decode_tokens} tokens per decode; this configuration needs "
                                f"{config.table_limits(prompt, output)} with {config.spec_k + 1}, and its token "
                                f"budget {config.token_budget} on the token axis")
    req_i, req_f, token_s, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f = _state(config, arrival, prompt, output,
                                                                             cached, prefilled)
    cfg_i[S.C_DIRECT] = 1 if direct else 0
    log_i = np.zeros((max(1024, 4 * arrival.size), S.L_COLUMNS), dtype=np.int64)
    log_f = np.zeros((log_i.shape[0], S.LF_COLUMNS))
    direct_memo: dict = {}
    fills_before = table.fills
    entries, started = 0, time.perf_counter()
    fill_s = 0.0
    while True:
        entries += 1
        code = _run(req_i, req_f, token_s, accept, rep_i, rep_f, sim_i, sim_f, cfg_i, cfg_f, table.t_axis,
                    table.d_axis, table.c_axis, table.seconds, table.joules, table.filled, log_i, log_f)
        if code == S.RET_DONE:
            break
        t0 = time.perf_counter()
        if code == S.RET_NEED_CELL:
            table.fill(sim_i[S.S_NEED:S.S_NEED + sim_i[S.S_NEED_N]], cost_fn)
        elif code == S.RET_NEED_DIRECT:
            key = (int(sim_i[S.S_DIRECT_P]), int(sim_i[S.S_DIRECT_D]), int(sim_i[S.S_DIRECT_C]))
            if key not in direct_memo:
                direct_memo[key] = (0.0, 0.0) if key[0] == key[1] == 0 else _checked_cost(cost_fn, *key)
            sim_f[S.T_DIRECT_S], sim_f[S.T_DIRECT_J] = direct_memo[key]
            sim_i[S.S_DIRECT_READY] = 1
        elif code == S.RET_LOG_FULL:
            log_i = np.concatenate([log_i, np.zeros_like(log_i)])
            log_f = np.concatenate([log_f, np.zeros_like(log_f)])
        else:  # RET_OUT_OF_RANGE: table_limits is wrong
            raise AssertionError(f"iteration {tuple(sim_i[S.S_DIRECT_P:S.S_DIRECT_C + 1])} outside the table "
                                 f"{table.limits}")
        fill_s += time.perf_counter() - t0
    wall_s = time.perf_counter() - started
    if sim_i[S.S_STATUS] == S.RUN_STUCK:
        raise AssertionError("serving loop stopped with requests it could never schedule (a bug)")
    run = _collect(config, arrival, prompt, output, req_i, req_f, token_s, rep_f, sim_i, sim_f, log_i, log_f,
                   dict(kernel_entries=entries, wall_s=wall_s, fill_s=fill_s, direct=direct,
                        cost_fn_calls=(len(direct_memo) if direct else table.fills - fills_before),
                        table_points=int(table.seconds.size), table_filled=int(table.filled.sum())))
    run.cached_tokens = cached
    return run


def _cached(cached_tokens, prompt, config: LoopConfig):
    if cached_tokens is None:
        return None
    cached = np.ascontiguousarray(cached_tokens, dtype=np.int64)
    if cached.shape != prompt.shape or cached.min() < 0 or np.any(cached >= prompt) \
            or np.any(cached % config.block_tokens):
        raise ArchsimInputError("serving: cached prefix tokens must be one per request, whole blocks, and less "
                                "than the request's prompt")
    if cached.max() > config.reserved_tokens:
        raise ArchsimInputError(f"serving: a cached prefix of {int(cached.max())} tokens is more than the prefix "
                                f"cache holds ({config.reserved_tokens} tokens reserved)")
    return cached


def _accepted(accepted, output, config: LoopConfig):
    if not config.spec_k:
        return np.zeros(1, dtype=np.int64)
    accept = np.ascontiguousarray(accepted if accepted is not None else [], dtype=np.int64)
    if accept.shape != (int(output.sum()),) or accept.min() < 0 or accept.max() > config.spec_k:
        raise ArchsimInputError(f"serving: speculative decoding needs one accepted-draft count (0..{config.spec_k}) "
                                "per output token of every request")
    return accept


def _checked_cost(cost_fn, p, d, c):
    from archsim.serving.iteration_table import _checked

    return _checked(cost_fn(p, d, c), p, d, c)


def _collect(config, arrival, prompt, output, req_i, req_f, token_s, rep_f, sim_i, sim_f, log_i, log_f,
             counters) -> LoopRun:
    n_log = int(sim_i[S.S_LOG_N])
    names_i = {"replica": S.L_REPLICA, "p": S.L_P, "d": S.L_D, "c": S.L_C, "seqs": S.L_SEQS,
               "kv_blocks": S.L_KV_BLOCKS, "waiting": S.L_WAITING, "swap_tokens": S.L_SWAP}
    names_f = {"start_s": S.LF_START, "seconds": S.LF_SECONDS, "joules": S.LF_JOULES}
    iterations = {k: log_i[:n_log, c].copy() for k, c in names_i.items()}
    iterations.update({k: log_f[:n_log, c].copy() for k, c in names_f.items()})
    lookups, misses = int(sim_i[S.S_LOOKUPS]), int(sim_i[S.S_MISSES])
    counters.update(iterations=int(sim_i[S.S_ITERATIONS]), lookups=lookups, misses=misses,
                    hit_rate=(lookups - misses) / lookups if lookups else 1.0,
                    finished=int(sim_i[S.S_FINISHED]), rejected=int(sim_i[S.S_REJECTED]),
                    preempt_recompute=int(sim_i[S.S_RECOMPUTES]), preempt_swap=int(sim_i[S.S_SWAPS]),
                    max_waiting=int(sim_i[S.S_MAX_QUEUE_SEEN]), arrived=int(sim_i[S.S_NEXT_ARRIVAL]),
                    verify_steps=int(sim_i[S.S_VERIFY_STEPS]), verify_tokens=int(sim_i[S.S_VERIFY_TOKENS]),
                    cached_tokens=int(req_i[:, S.R_CACHED].sum()))
    if config.clients:  # a closed loop's arrival times are the issue times it produced; a request a cap left
        arrival = np.minimum(req_f[:, S.F_ARRIVAL], sim_f[S.T_NOW])  # unissued is counted issued at the end
    return LoopRun(config=config, arrival_s=arrival, prompt_tokens=prompt, output_tokens=output,
                   replica=req_i[:, S.R_REPLICA].copy(), status=req_i[:, S.R_STATUS].copy(),
                   reject_reason=req_i[:, S.R_REJECT].copy(), scheduled_s=req_f[:, S.F_SCHEDULED].copy(),
                   first_token_s=req_f[:, S.F_FIRST_TOKEN].copy(), finish_s=req_f[:, S.F_FINISH].copy(),
                   generated=req_i[:, S.R_GENERATED].copy(), recomputes=req_i[:, S.R_RECOMPUTES].copy(),
                   swaps=req_i[:, S.R_SWAPS].copy(), token_s=token_s, token_offset=req_i[:, S.R_TOKEN_OFFSET].copy(),
                   iterations=iterations, replica_busy_s=rep_f[:, S.Q_BUSY_S].copy(),
                   replica_joules=rep_f[:, S.Q_JOULES].copy(), end_s=float(sim_f[S.T_NOW]),
                   run_status=RUN_STATUS[int(sim_i[S.S_STATUS])], counters=counters)


def config_dict(config: LoopConfig) -> dict:
    return asdict(config)
