"""The serving loop's state as structure-of-arrays: column numbers and codes.

The numba kernel (kernel.py), the slow reference (tests/serving_reference.py)
and the Python driver (simulate.py) all read these names; nothing else
depends on the layout. All state lives in a few int64 and float64 arrays, so
the kernel can stop at any point (to ask Python for a cost-table cell or a
larger log) and resume exactly where it stopped.
"""
from __future__ import annotations

# ---- per request, int64 columns of `req_i` (one row per request, rows in arrival order)
R_PROMPT = 0  # prompt tokens
R_OUTPUT = 1  # output tokens to generate
R_REPLICA = 2  # replica the router sent it to (-1 before arrival or when rejected)
R_STATUS = 3  # ST_* below
R_COMPUTED = 4  # tokens whose K/V are in the cache (prefill progress, then one per decode)
R_GENERATED = 5  # output tokens emitted so far
R_BLOCKS = 6  # KV blocks held on the device
R_HOST_BLOCKS = 7  # KV blocks held in host memory while swapped out
R_NEXT = 8  # next request in the list it is in (waiting, running or swapped), -1 at the end
R_PREV = 9  # previous request in that list, -1 at the head
R_CHUNK = 10  # tokens scheduled for it in the replica's current iteration (0: not in it)
R_RECOMPUTES = 11  # times it was preempted by recompute
R_SWAPS = 12  # times it was swapped out
R_TOKEN_OFFSET = 13  # where its token times start in `token_s`
R_REJECT = 14  # REJECT_* reason, 0 if admitted
R_CACHED = 15  # tokens of its prompt found in the prefix cache (block-aligned): shared K/V it does not own
R_COLUMNS = 16

# ---- per request, float64 columns of `req_f`
F_ARRIVAL = 0
F_SCHEDULED = 1  # first time it was scheduled (end of queueing); -1 until then
F_FIRST_TOKEN = 2  # -1 until its first token
F_FINISH = 3  # -1 until its last token
F_COLUMNS = 4

ST_NOT_ARRIVED, ST_WAITING, ST_RUNNING, ST_SWAPPED, ST_FINISHED, ST_REJECTED = 0, 1, 2, 3, 4, 5
REJECT_NONE, REJECT_CONTEXT, REJECT_KV, REJECT_BATCH = 0, 1, 2, 3
REJECT_NAMES = {REJECT_CONTEXT: "longer than the model's max context",
                REJECT_KV: "longer than a replica's KV-cache capacity",
                REJECT_BATCH: "longer than max_batched_tokens (a prefill that can never be scheduled)"}

# ---- per replica, int64 columns of `rep_i`
P_STATE = 0  # RS_* below
P_WAIT_HEAD, P_WAIT_TAIL, P_WAIT_N = 1, 2, 3
P_RUN_HEAD, P_RUN_TAIL, P_RUN_N = 4, 5, 6
P_SWAP_HEAD, P_SWAP_TAIL, P_SWAP_N = 7, 8, 9
P_FREE_BLOCKS = 10
P_HOST_FREE = 11
P_ITER_P = 12  # prefill tokens in the current iteration
P_ITER_D = 13  # decode sequences in it
P_ITER_C = 14  # cached context tokens its sequences attend to
P_ITER_SEQS = 15  # sequences in it
P_ITER_SWAP = 16  # tokens of K/V swapped out or in by it
P_OUTSTANDING = 17  # tokens its unfinished requests still have to compute (least-outstanding routing)
P_STATIC_LEFT = 18  # static batching: iterations left in the current batch
P_COLUMNS = 19
RS_IDLE, RS_PENDING, RS_BUSY = 0, 1, 2  # pending: an iteration is scheduled but not yet priced

# ---- per replica, float64 columns of `rep_f`
Q_END = 0  # end of the current iteration
Q_START = 1  # its start
Q_BUSY_S = 2  # time spent in iterations
Q_JOULES = 3  # dynamic energy of its iterations
Q_COLUMNS = 4

# ---- scalars of the run, int64 `sim_i`
S_STATUS = 0  # RUN_* below
S_NEXT_ARRIVAL = 1  # the next request to arrive (rows are in arrival order)
S_ITERATIONS = 2
S_LOOKUPS = 3  # cost-table lookups that succeeded
S_MISSES = 4  # lookups that stopped the kernel for a cell to be filled
S_ROUND_ROBIN = 5
S_FINISHED = 6
S_REJECTED = 7
S_RECOMPUTES = 8
S_SWAPS = 9
S_WAITING = 10  # requests waiting to be scheduled, all replicas together
S_LOG_N = 11  # rows of the iteration log written
S_NEED_N = 12  # corners the kernel needs filled (up to 8, in S_NEED ...)
S_NEED = 13  # 13..20: flat cell indices
S_DIRECT_READY = 21  # direct mode: a cost for the pending iteration is in sim_f
S_DIRECT_P, S_DIRECT_D, S_DIRECT_C = 22, 23, 24
S_MAX_QUEUE_SEEN = 25
S_VERIFY_STEPS = 26  # speculative decoding: decode (verify) steps completed
S_VERIFY_TOKENS = 27  # tokens they emitted
S_ISSUED = 28  # closed loop: requests issued so far (rows below it have their arrival time)
S_COLUMNS = 29

# ---- scalars of the run, float64 `sim_f`
T_NOW = 0
T_DIRECT_S = 1
T_DIRECT_J = 2
T_COLUMNS = 3

# ---- configuration, int64 `cfg_i`
C_POLICY = 0  # POLICY_* below
C_ADMISSION = 1  # ADMIT_* below
C_PREEMPTION = 2  # PREEMPT_* below
C_MAX_SEQS = 3
C_MAX_BATCHED = 4  # max tokens in one iteration (static, continuous)
C_CHUNK = 5  # token budget of one iteration (chunked prefill)
C_BLOCK_TOKENS = 6
C_BLOCKS = 7  # KV blocks per replica
C_HOST_BLOCKS = 8  # host blocks per replica for swapping
C_ROUTER = 9  # ROUTER_* below
C_REPLICAS = 10
C_MAX_CONTEXT = 11
C_MAX_QUEUE = 12
C_DIRECT = 13  # 1: ask Python for every iteration's cost (no table)
C_SPEC_K = 14  # speculative decoding: tokens drafted per verify step (0: off)
C_CLIENTS = 15  # closed loop: clients, each issuing its next request when its last one ends (0: open loop)
C_COLUMNS = 16

# ---- configuration, float64 `cfg_f`
G_TIME_CAP = 0  # simulated seconds after which the run stops
G_SWAP_S_PER_TOKEN = 1  # seconds to move one token's K/V between device and host
G_ITER_OVERHEAD = 2  # host seconds added to every iteration (the serving runtime's own work, not overlapped)
G_COLUMNS = 3

POLICY_STATIC, POLICY_CONTINUOUS, POLICY_CHUNKED, POLICY_INFLIGHT = 0, 1, 2, 3
POLICIES = {"static": POLICY_STATIC, "continuous": POLICY_CONTINUOUS, "chunked": POLICY_CHUNKED,
            "inflight": POLICY_INFLIGHT}
ADMIT_RESERVE, ADMIT_ON_DEMAND = 0, 1
ADMISSIONS = {"reserve": ADMIT_RESERVE, "on_demand": ADMIT_ON_DEMAND}
PREEMPT_RECOMPUTE, PREEMPT_SWAP = 0, 1
PREEMPTIONS = {"recompute": PREEMPT_RECOMPUTE, "swap": PREEMPT_SWAP}
ROUTER_ROUND_ROBIN, ROUTER_LEAST_TOKENS = 0, 1
ROUTERS = {"round_robin": ROUTER_ROUND_ROBIN, "least_tokens": ROUTER_LEAST_TOKENS}

# ---- run status (sim_i[S_STATUS]) and kernel return codes
RUN_ACTIVE, RUN_DONE, RUN_TIME_CAP, RUN_QUEUE_CAP, RUN_STUCK = 0, 1, 2, 3, 4
RET_DONE, RET_NEED_CELL, RET_NEED_DIRECT, RET_LOG_FULL, RET_OUT_OF_RANGE = 0, 1, 2, 3, 4

# ---- iteration log: int64 `log_i` and float64 `log_f` columns, one row per iteration
L_REPLICA, L_P, L_D, L_C, L_SEQS, L_KV_BLOCKS, L_WAITING, L_SWAP = 0, 1, 2, 3, 4, 5, 6, 7
L_COLUMNS = 8
LF_START, LF_SECONDS, LF_JOULES = 0, 1, 2
LF_COLUMNS = 3
