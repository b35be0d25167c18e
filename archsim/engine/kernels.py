"""Kernels of the task-level engine: small, pure, arrays and scalars only.

Each kernel writes into preallocated outputs and every integer array is int64,
so each kernel has one compiled signature (cached on disk). They are plain
functions marked `@kernel`; archsim.engine.jit.kernel_set runs them compiled
by numba (large graphs) or as Python (small ones), see jit.py. The
public entry point is `archsim.engine.simulate`; docs/engine.md states the
semantics these kernels implement, and tests/engine_reference.py is the slow,
obvious version they are checked against.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.engine.jit import kernel

# Why each critical-path task started when it did.
REASON_START = 0       # first task of the chain: no predecessor, started at its ready time
REASON_DEPENDENCY = 1  # waited for the previous entry (a predecessor) to finish
REASON_RESOURCE = 2    # ready earlier, waited for the previous entry to release a resource

_SMALL_SORT = 24


@kernel
def topological_order(dep_ptr, dep_idx, order):
    """Kahn's algorithm; writes a topological order, returns how many tasks it
    reached (fewer than n_tasks means the graph has a cycle)."""
    n = dep_ptr.shape[0] - 1
    succ_ptr = np.zeros(n + 1, dtype=np.int64)
    succ_idx = np.empty(dep_idx.shape[0], dtype=np.int64)
    remaining = np.empty(n, dtype=np.int64)
    successors(dep_ptr, dep_idx, succ_ptr, succ_idx, remaining)
    head = 0
    tail = 0
    for k in range(n):
        if remaining[k] == 0:
            order[tail] = k
            tail += 1
    while head < tail:
        k = order[head]
        head += 1
        for i in range(succ_ptr[k], succ_ptr[k + 1]):
            s = succ_idx[i]
            remaining[s] -= 1
            if remaining[s] == 0:
                order[tail] = s
                tail += 1
    return tail


@kernel
def successors(dep_ptr, dep_idx, succ_ptr, succ_idx, indegree):
    """Transpose the predecessor CSR into a successor CSR (counting sort, so
    each task's successors come in increasing index order) and count each
    task's predecessors."""
    n = dep_ptr.shape[0] - 1
    succ_ptr[:] = 0
    for e in range(dep_idx.shape[0]):
        succ_ptr[dep_idx[e] + 1] += 1
    for k in range(n):
        succ_ptr[k + 1] += succ_ptr[k]
        indegree[k] = dep_ptr[k + 1] - dep_ptr[k]
    for k in range(n):  # succ_ptr[p] walks p's segment: it ends at the next segment's start
        for e in range(dep_ptr[k], dep_ptr[k + 1]):
            p = dep_idx[e]
            succ_idx[succ_ptr[p]] = k
            succ_ptr[p] += 1
    for k in range(n, 0, -1):
        succ_ptr[k] = succ_ptr[k - 1]
    succ_ptr[0] = 0


@kernel
def task_times(route_ptr, route_res, work, task_latency, res_rate, res_latency, hold_cycles):
    """Per route entry, the cycles from the task's start until it releases that
    link (the last entry's is the task's duration; a delay lasts its task
    latency). Returns -1, or the first task whose duration would not fit in
    2**62 cycles.

    duration = task latency + sum of hop latencies + ceil(work / slowest rate);
    link i is released when the tail leaves it: task latency + latencies of
    hops 0..i + ceil(work / slowest rate).
    """
    limit = 2 ** 62
    for k in range(work.shape[0]):
        a = route_ptr[k]
        b = route_ptr[k + 1]
        if a == b:
            continue
        slowest = res_rate[route_res[a]]
        for e in range(a + 1, b):
            slowest = min(slowest, res_rate[route_res[e]])
        q = work[k] / slowest
        if q > limit:
            return k
        serialization = np.int64(math.ceil(q))
        acc = task_latency[k]
        for e in range(a, b):
            acc += res_latency[route_res[e]]
            hold_cycles[e] = acc + serialization
        if acc + serialization > limit:
            return k
    return -1


@kernel
def _heap_push(h_time, h_task, h_hop, size, time, task, hop):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if h_time[parent] <= time:
            break
        h_time[i] = h_time[parent]
        h_task[i] = h_task[parent]
        h_hop[i] = h_hop[parent]
        i = parent
    h_time[i] = time
    h_task[i] = task
    h_hop[i] = hop
    return size + 1


@kernel
def _heap_pop(h_time, h_task, h_hop, size):
    """Remove the root: walk the hole down to a leaf along the smaller child
    (one comparison per level), then sift the last entry up from there."""
    size -= 1
    i = 0
    c = 1
    while c < size:
        c += np.int64(c + 1 < size and h_time[c + 1] < h_time[c])
        h_time[i] = h_time[c]
        h_task[i] = h_task[c]
        h_hop[i] = h_hop[c]
        i = c
        c = 2 * i + 1
    time = h_time[size]
    task = h_task[size]
    hop = h_hop[size]
    while i > 0:
        parent = (i - 1) >> 1
        if h_time[parent] <= time:
            break
        h_time[i] = h_time[parent]
        h_task[i] = h_task[parent]
        h_hop[i] = h_hop[parent]
        i = parent
    h_time[i] = time
    h_task[i] = task
    h_hop[i] = hop
    return size


@kernel
def _sort_small(buf, n):
    if n > _SMALL_SORT:
        buf[:n] = np.sort(buf[:n])
        return
    for i in range(1, n):
        v = buf[i]
        j = i - 1
        while j >= 0 and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v


@kernel
def _startable(route_ptr, route_res, queue, q_head, free, k):
    """A task starts only at the head of the FIFO of every link on its route,
    with a free server on each."""
    for e in range(route_ptr[k], route_ptr[k + 1]):
        r = route_res[e]
        if free[r] <= 0 or queue[q_head[r]] != k:
            return False
    return True


@kernel
def run(route_ptr, route_res, hold_cycles, task_latency, succ_ptr, succ_idx, res_capacity,
        ready, start, end, blocker, busy):
    """The discrete-event loop (semantics: docs/engine.md). `ready` comes in
    holding each task's number of predecessors and leaves holding its ready
    cycle (one array for both saves memory traffic on large graphs). Fills
    start, end, blocker (per task) and busy (per resource). Returns the number
    of tasks that finished."""
    n = task_latency.shape[0]
    nr = res_capacity.shape[0]
    # One FIFO per resource, as segments of one buffer: every task enters the
    # queue of each link on its route exactly once, so nothing wraps around.
    q_head = np.zeros(nr + 1, dtype=np.int64)
    for e in range(route_res.shape[0]):
        q_head[route_res[e] + 1] += 1
    for r in range(nr):
        q_head[r + 1] += q_head[r]
    q_tail = q_head[:nr].copy()
    queue = np.empty(route_res.shape[0], dtype=np.int64)
    free = res_capacity.copy()
    # Last release (or blocked start) on each resource: who let a waiting task go.
    cause_time = np.full(nr, -1, dtype=np.int64)
    cause_task = np.full(nr, -1, dtype=np.int64)
    dirty = np.empty(nr, dtype=np.int64)
    is_dirty = np.zeros(nr, dtype=np.bool_)
    n_dirty = 0
    newly = np.empty(n, dtype=np.int64)
    n_new = 0
    for k in range(n):
        if ready[k] == 0:
            newly[n_new] = k
            n_new += 1
    h_time = np.empty(max(n, 1), dtype=np.int64)
    h_task = np.empty(max(n, 1), dtype=np.int64)
    h_hop = np.empty(max(n, 1), dtype=np.int64)
    size = 0
    busy[:] = 0
    t = 0
    finished = 0
    while True:
        # 1. Tasks that became ready at t join their queues in index order.
        if n_new > 1:
            _sort_small(newly, n_new)
        for i in range(n_new):
            k = newly[i]
            ready[k] = t
            if route_ptr[k] == route_ptr[k + 1]:  # delay: no resource, no queue
                start[k] = t
                blocker[k] = -1
                size = _heap_push(h_time, h_task, h_hop, size, t + task_latency[k], k, -1)
                continue
            a = route_ptr[k]
            b = route_ptr[k + 1]
            idle = True
            for e in range(a, b):
                r = route_res[e]
                if free[r] <= 0 or q_head[r] != q_tail[r]:
                    idle = False
                    break
            if idle:  # nothing queued and a free server on every link: start now
                for e in range(a, b):
                    free[route_res[e]] -= 1
                start[k] = t
                blocker[k] = -1
                size = _heap_push(h_time, h_task, h_hop, size, t + hold_cycles[a], k, 0)
                continue
            for e in range(a, b):
                r = route_res[e]
                pos = q_tail[r]
                q_tail[r] += 1
                while pos > q_head[r] and ready[queue[pos - 1]] == t and queue[pos - 1] > k:
                    queue[pos] = queue[pos - 1]
                    pos -= 1
                queue[pos] = k
                if not is_dirty[r]:
                    is_dirty[r] = True
                    dirty[n_dirty] = r
                    n_dirty += 1
        n_new = 0
        # 2. Dispatch: start queue heads until none can start (order-free, see docs).
        while n_dirty > 0:
            n_dirty -= 1
            r = dirty[n_dirty]
            is_dirty[r] = False
            while free[r] > 0 and q_head[r] < q_tail[r]:
                k = queue[q_head[r]]
                a = route_ptr[k]
                if a + 1 == route_ptr[k + 1]:  # one resource: it is r, and it has a free server
                    q_head[r] += 1
                    free[r] -= 1
                    blk = -1
                    if t > ready[k] and cause_time[r] == t:
                        blk = cause_task[r]
                    start[k] = t
                    blocker[k] = blk
                    size = _heap_push(h_time, h_task, h_hop, size, t + hold_cycles[a], k, 0)
                    continue
                if not _startable(route_ptr, route_res, queue, q_head, free, k):
                    break
                blk = -1
                if t > ready[k]:
                    for e in range(a, route_ptr[k + 1]):
                        if cause_time[route_res[e]] == t:
                            blk = cause_task[route_res[e]]
                            break
                for e in range(a, route_ptr[k + 1]):
                    link = route_res[e]
                    q_head[link] += 1
                    free[link] -= 1
                    if blk >= 0 and cause_time[link] != t:
                        cause_time[link] = t
                        cause_task[link] = blk
                    if link != r and not is_dirty[link]:
                        is_dirty[link] = True
                        dirty[n_dirty] = link
                        n_dirty += 1
                start[k] = t
                blocker[k] = blk
                size = _heap_push(h_time, h_task, h_hop, size, t + hold_cycles[a], k, 0)
        # 3. Advance to the next event time; apply every release and finish at it.
        if size == 0:
            break
        t = h_time[0]
        while size > 0 and h_time[0] == t:
            k = h_task[0]
            hop = h_hop[0]
            size = _heap_pop(h_time, h_task, h_hop, size)
            if hop >= 0:
                e = route_ptr[k] + hop
                r = route_res[e]
                free[r] += 1
                busy[r] += hold_cycles[e]
                if q_head[r] != q_tail[r]:  # someone waits for r
                    cause_time[r] = t
                    cause_task[r] = k
                    if not is_dirty[r]:
                        is_dirty[r] = True
                        dirty[n_dirty] = r
                        n_dirty += 1
                if e + 1 < route_ptr[k + 1]:
                    size = _heap_push(h_time, h_task, h_hop, size,
                                      start[k] + hold_cycles[e + 1], k, hop + 1)
                    continue
            end[k] = t
            finished += 1
            for i in range(succ_ptr[k], succ_ptr[k + 1]):
                s = succ_idx[i]
                ready[s] -= 1
                if ready[s] == 0:
                    newly[n_new] = s
                    n_new += 1
    return finished


@kernel
def critical_path(start, end, ready, blocker, dep_ptr, dep_idx, path, reason):
    """Walk back from the task that ends last (lowest index on ties): to the
    resource holder that let it go if it waited past its ready time, else to
    its predecessor that finished last (lowest index on ties). Writes the chain
    in time order into path/reason; returns its length."""
    n = start.shape[0]
    if n == 0:
        return 0
    k = 0
    for i in range(1, n):
        if end[i] > end[k]:
            k = i
    length = 0
    while length < n:
        path[length] = k
        nxt = -1
        if start[k] > ready[k]:
            reason[length] = REASON_RESOURCE
            nxt = blocker[k]
        elif dep_ptr[k + 1] > dep_ptr[k]:
            reason[length] = REASON_DEPENDENCY
            for e in range(dep_ptr[k], dep_ptr[k + 1]):
                d = dep_idx[e]
                if end[d] == ready[k] and (nxt < 0 or d < nxt):
                    nxt = d
        else:
            reason[length] = REASON_START
        length += 1
        if nxt < 0:
            break
        k = nxt
    path[:length] = path[:length][::-1].copy()
    reason[:length] = reason[:length][::-1].copy()
    return length
