"""The wafer mapper's collective patterns as message traces, and the same
patterns as task graphs for the task-level engine (the cross-check).

Patterns on a `w` x `h` region at the mesh's origin (node = x + mesh_x * y),
every message `size_flits` long:

- `row_reduce` / `col_reduce`: in every row (column), partial sums flow in
  two pipelined chains from the ends into the middle core: each core sends
  to its inner neighbour once the partial from its outer neighbour has
  arrived (the unicast form of WaferLLM's add-and-forward chains).
- `row_broadcast` / `col_broadcast`: the middle core's vector relayed outward
  to both ends, neighbour to neighbour.
- `row_gather`: every core of a row sends its partial straight to the middle
  core (the mapper's `gather` strategy); `row_scatter` the reverse.
- `shift` / `shift2`: every core sends to the core 1 (2) hops east, wrapping
  around within its row (Cannon's shifts; WaferLLM's interleaved placement
  makes them 2 hops).

`to_task_graph` builds the engine's view of a trace: one `noc` resource per
directed mesh link (1 flit per cycle), each message a cut-through transfer
along its XY route, with hop and fixed latencies calibrated so that an
isolated message takes exactly the cycle model's zero-load time
(docs/noc.md, "Cross-check with the task-level engine").
"""
from __future__ import annotations

import numpy as np

from archsim.engine.noc.config import NocConfig
from archsim.engine.noc.messages import MessageTrace
from archsim.errors import ArchsimInputError

PATTERNS = ("row_reduce", "col_reduce", "row_broadcast", "col_broadcast", "row_gather", "row_scatter",
            "shift", "shift2")


def _chains(n):
    """Edges (src, dst, dep) of two chains from both ends of a line into its middle."""
    mid = n // 2
    edges = []
    for i in range(mid):  # left chain 0 -> 1 -> ... -> mid
        edges.append((i, i + 1, len(edges) - 1 if i > 0 else -1))
    for i in range(n - 1, mid, -1):  # right chain n-1 -> ... -> mid
        edges.append((i, i - 1, len(edges) - 1 if i < n - 1 else -1))
    return edges


def collective_trace(pattern: str, w: int, h: int, size_flits: int, mesh_x: int | None = None) -> MessageTrace:
    """The messages of `pattern` on every row (or column) of a w x h region."""
    if pattern not in PATTERNS:
        raise ArchsimInputError(f"collective pattern must be one of {', '.join(PATTERNS)}. Got {pattern!r}.")
    mx = mesh_x or w
    along_rows = not pattern.startswith("col")
    n, lines = (w, h) if along_rows else (h, w)
    mid = n // 2
    if pattern.endswith("reduce"):
        edges = _chains(n)
    elif pattern.endswith("broadcast"):
        rev = [(d, s) for s, d, _ in _chains(n)][::-1]
        edges = []
        for s, d in rev:  # outward: each relay waits for the message that reached its source
            prev = [i for i, (_, d2, _) in enumerate(edges) if d2 == s]
            edges.append((s, d, prev[0] if prev else -1))
    elif pattern == "row_gather":
        edges = [(i, mid, -1) for i in range(n) if i != mid]
    elif pattern == "row_scatter":
        edges = [(mid, i, -1) for i in range(n) if i != mid]
    else:
        step = 1 if pattern == "shift" else 2
        edges = [(i, (i + step) % n, -1) for i in range(n) if n > 1]
    e = np.array([(s, d, dep) for s, d, dep in edges], np.int64).reshape(-1, 3)
    line = np.arange(lines, dtype=np.int64)[:, None]
    if along_rows:
        src, dst = e[None, :, 0] + mx * line, e[None, :, 1] + mx * line
    else:
        src, dst = line + mx * e[None, :, 0], line + mx * e[None, :, 1]
    m = len(edges)
    deps = [[] if e[j, 2] < 0 else [int(li * m + e[j, 2])] for li in range(lines) for j in range(m)]
    return MessageTrace.from_arrays(src.ravel(), dst.ravel(), size_flits, 0, deps)


def _xy_links(cfg: NocConfig, s: int, d: int):
    """Directed links (node, port) of the XY route from s to d."""
    k = cfg.mesh_x
    x, y, dx, dy = s % k, s // k, d % k, d // k
    out = []
    while x != dx:
        port = 0 if x < dx else 1
        out.append((x + k * y, port))
        x += 1 if port == 0 else -1
    while y != dy:
        port = 2 if y < dy else 3
        out.append((x + k * y, port))
        y += 1 if port == 2 else -1
    return out


def to_task_graph(cfg: NocConfig, trace: MessageTrace):
    """The engine's task graph for `trace`: link resources of 1 flit/cycle."""
    from archsim.engine.builder import TaskGraphBuilder

    hop = cfg.router_cycles() + cfg.link_delay + 1
    fixed = cfg.zero_load_latency(0) - 1  # injection, first router, ejection; + size flits
    b = TaskGraphBuilder(clock_hz=1.0e9)
    links: dict[tuple[int, int], int] = {}
    for i in range(len(trace)):
        s, d = int(trace.src[i]), int(trace.dst[i])
        route = [links.setdefault(link, b.add_resource(name=f"link{link[0]}.{link[1]}", kind="noc",
                                                       rate=1.0, latency=hop))
                 for link in _xy_links(cfg, s, d)]
        if not route:
            raise ArchsimInputError("to_task_graph: a message to its own node has no link to model.")
        deps = [int(j) for j in trace.dep_idx[trace.dep_ptr[i]:trace.dep_ptr[i + 1]]]
        b.add_transfer(route=route, work=float(trace.size_flits[i]), deps=deps, latency=fixed)
    return b.build()
