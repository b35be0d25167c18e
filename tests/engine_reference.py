"""Slow, obvious pure-Python version of the task engine (after stumpy's
tests/naive.py): the semantics of docs/engine.md written as plainly as we can,
for the tests to compare the numba kernels against.
"""
from __future__ import annotations

import heapq
import math


def reference_durations(graph):
    """Per task: (duration, [cycles from start until each route link is released])."""
    out = []
    for k in range(graph.n_tasks):
        route = [int(r) for r in graph.task_route(k)]
        latency = int(graph.task_latency[k])
        if not route:
            out.append((latency, []))
            continue
        slowest = min(float(graph.resource_rate[r]) for r in route)
        serialization = math.ceil(float(graph.task_work[k]) / slowest)
        holds = []
        head = latency
        for r in route:
            head += int(graph.resource_latency[r])  # the head reaches the end of this link
            holds.append(head + serialization)      # ... and the tail leaves it this much later
        out.append((holds[-1], holds))
    return out


def reference_simulate(graph):
    """Returns dict(ready, start, end, busy, makespan) as plain lists and an int."""
    n, nr = graph.n_tasks, graph.n_resources
    times = reference_durations(graph)
    routes = [[int(r) for r in graph.task_route(k)] for k in range(n)]
    successors = [[] for _ in range(n)]
    unfinished_deps = [0] * n
    for k in range(n):
        for d in graph.task_deps(k):
            successors[int(d)].append(k)
            unfinished_deps[k] += 1
    free = [int(c) for c in graph.resource_capacity]
    busy = [0] * nr
    ready, start, end = [None] * n, [None] * n, [None] * n
    events = []  # heap of (time, seq, what, task, link)
    seq = 0
    waiting = []  # ready, holding a place in the FIFO of every link of their route
    newly_ready = [k for k in range(n) if unfinished_deps[k] == 0]
    t = 0
    while True:
        for k in newly_ready:
            ready[k] = t
            if routes[k]:
                waiting.append(k)
            else:  # a delay starts the moment it is ready
                start[k] = t
                heapq.heappush(events, (t + times[k][0], seq, "finish", k, None))
                seq += 1
        newly_ready = []
        # Dispatch, one pass in FIFO order (ready cycle, then task index): a task
        # starts if no earlier waiting task is queued on any of its links (so it
        # is at the head of each FIFO) and each link has a free server.
        ahead = set()
        still_waiting = []
        for k in sorted(waiting, key=lambda k: (ready[k], k)):
            links = routes[k]
            if ahead.isdisjoint(links) and all(free[r] > 0 for r in links):
                start[k] = t
                for r, hold in zip(links, times[k][1]):
                    free[r] -= 1
                    heapq.heappush(events, (t + hold, seq, "release", k, r))
                    seq += 1
                heapq.heappush(events, (t + times[k][0], seq, "finish", k, None))
                seq += 1
            else:
                still_waiting.append(k)
                ahead.update(links)
        waiting = still_waiting
        if not events:
            break
        # Apply every release and finish at the next event time, then dispatch again.
        t = events[0][0]
        while events and events[0][0] == t:
            _, _, what, k, r = heapq.heappop(events)
            if what == "release":
                free[r] += 1
                busy[r] += t - start[k]
            else:
                end[k] = t
                for s in successors[k]:
                    unfinished_deps[s] -= 1
                    if unfinished_deps[s] == 0:
                        newly_ready.append(s)
    assert all(e is not None for e in end), "reference engine left tasks unfinished"
    return dict(ready=ready, start=start, end=end, busy=busy, makespan=max(end, default=0))


def longest_chain(graph):
    """Length in cycles of the longest dependency chain (durations only, no contention)."""
    times = reference_durations(graph)
    order, seen = [], [False] * graph.n_tasks

    def visit(k):  # iterative DFS post-order: a topological order
        stack = [(k, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if seen[node]:
                continue
            seen[node] = True
            stack.append((node, True))
            stack.extend((int(d), False) for d in graph.task_deps(node) if not seen[int(d)])

    for k in range(graph.n_tasks):
        visit(k)
    finish = [0] * graph.n_tasks
    for k in order:
        ready = max((finish[int(d)] for d in graph.task_deps(k)), default=0)
        finish[k] = ready + times[k][0]
    return max(finish, default=0)
