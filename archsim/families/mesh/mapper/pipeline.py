"""A step in pieces through the layer pipeline: chunked prefill and micro-batched decode.

Layer regions work like the stages of a pipeline: a region runs one piece (a
prefill chunk, a decode micro-batch) through its layers, hands its hidden state
on to the next region and starts the next piece. A piece enters a region when
the region before has handed it over and the region has finished the piece
before it; chunk j's attention reads the K/V that chunks before it wrote in the
same region, which that order already guarantees (TeraPipe's token-level
pipelining, Li et al., ICML 2021, arXiv:2102.07988). Hand-offs are delays on the
links between regions; they do not hold a region.

- Prefill (`fill_and_drain`): the time to first token is the last chunk leaving
  the last layer region (then the LM head, which needs only the last position):
  C[r][j] = max(C[r-1][j] + handoff, C[r][j-1]) + layers_r x t_j, an exact
  dynamic programme over regions r and chunks j whose critical path becomes the
  run's segments.
- Decode (`steady_period`): micro-batches circulate, each token's next step
  starting when its sampled token is back at the embedding; in steady state a
  step takes max(one micro-batch's round trip, the busiest region's work per
  step), the cycle time of this closed pipeline.

`choose_split` lists the pieces to try: an explicit size (checked), or for
`auto` the largest piece that fits (the whole step when it does) and a few
smaller candidates, of which the mapper keeps the fastest (mesh_pieces.step_in).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsim.errors import InfeasibleError
from archsim.families.mesh.mapper.chunk import largest, parse_count, representative, scaled_graph
from archsim.families.mesh.mapper.lowering import pass_tokens
from archsim.families.mesh.mapper.place import Placement, footprint, place


@dataclass(frozen=True)
class Split:
    """How a step is cut: `size` tokens per chunk (prefill) or sequences per micro-batch (decode)."""

    option: str  # prefill_chunk or microbatch
    size: int
    total: int  # prompt tokens or batch sequences

    @property
    def pieces(self) -> list[tuple[int, int]]:
        """(size, tokens before it in the sequence) of each piece in order."""
        out = []
        for start in range(0, self.total, self.size):
            out.append((min(self.size, self.total - start), start if self.option == "prefill_chunk" else 0))
        return out

    @property
    def count(self) -> int:
        return len(self.pieces)


def _geometry(graph) -> dict:
    return next(op.attrs for op in graph.ops if op.kind == "attn_score")


def piece_graph(graph, split: Split, size: int, prefix: int):
    """The operator graph of one piece (the whole graph when the piece is the whole step; else only the
    embedding, decoder layer 0 and the head, all the mapper simulates)."""
    if size == split.total:
        return graph
    a = _geometry(graph)
    rep = representative(graph)
    if split.option == "prefill_chunk":
        return scaled_graph(rep, a["batch"], size, prefix)
    return scaled_graph(rep, size, a["q_len"], a["kv_len"] - a["q_len"])


def piece_footprint(graph, scenario, option: str, total: int, size: int):
    """What each core must hold when the step runs in pieces of `size`: the worst piece's activations (a chunk
    of `size` tokens at the end of the prompt; a micro-batch of `size`) and the KV cache of the whole step."""
    whole = footprint(graph, scenario)
    if size == total:
        return whole
    a = _geometry(graph)
    rep = representative(graph)
    if option == "prefill_chunk":  # the last chunk's cache is the whole prompt's
        return footprint(scaled_graph(rep, a["batch"], size, total - size), scenario)
    part = footprint(scaled_graph(rep, size, a["q_len"], a["kv_len"] - a["q_len"]), scenario)
    return replace(part, layer_kv=whole.layer_kv)


def choose_split(graph, scenario, costs, count, region, layers_only, options, workload, chip):
    """([(placement, Split)] to try, the largest piece first; `shrink`) for the step. An explicit size alone, or
    for `auto` the largest piece that fits (the whole step when it does) and the smaller candidates of
    `_smaller`, of which the mapper keeps the fastest; `shrink(size)`: the next smaller candidate to try while
    the smallest so far is the fastest (None: none). InfeasibleError if no piece fits, naming the option."""
    a = _geometry(graph)
    if graph.phase == "prefill":
        option, unit, pieces, total = "prefill_chunk", "token", "chunks", a["q_len"]
        limit = f"the prompt's {total} tokens"
    else:
        option, unit, pieces, total = "microbatch", "sequence", "micro-batches", a["batch"]
        limit = f"the batch of {total}"
    explicit = parse_count(options[option], option, unit + "s", total, limit)
    placed: dict[int, Placement] = {}

    def attempt(size) -> Placement:
        if size not in placed:
            fp = piece_footprint(graph, scenario, option, total, size)
            placed[size] = place(fp, costs, count, region, layers_only, workload, chip)
        return placed[size]

    def fits(size) -> bool:
        try:
            attempt(size)
        except InfeasibleError:
            return False
        return True

    size = total if explicit is None else explicit
    try:
        attempt(size)
    except InfeasibleError as err:
        best = largest(1, size - 1, fits)  # what fits shrinks as the piece grows (activations, scores)
        if explicit is not None:
            hint = (f"the largest that fits is {option}={best} (or {option}=auto)" if best is not None
                    else f"no {pieces} fit, not even of 1 {unit}")
            raise InfeasibleError(f"mapper 'mesh-dataflow' option {option!r}={explicit} does not fit: "
                                  f"{err.reason}; {hint}", dict(err.details, **{option: explicit})) from None
        if best is None:
            raise InfeasibleError(f"{err.reason}; {option}=auto tried {pieces} down to 1 {unit} and none fits",
                                  err.details) from None
        size = best
    if explicit is not None:
        return [(attempt(size), Split(option, size, total))], None
    passes = options.get("prefill_layout", "auto") != "blocks"
    sizes = [size] + (_smaller(graph, costs, option, size, total, attempt, fits) if passes or option == "microbatch"
                      else [])

    def shrink(smallest: int):
        half = smallest // 2
        return (attempt(half), Split(option, half, total)) if option == "prefill_chunk" and half >= 1 else None

    return [(attempt(s), Split(option, s, total)) for s in sizes], shrink


def _smaller(graph, costs, option: str, size: int, total: int, attempt, fits) -> list[int]:
    """auto's candidates below the largest piece that fits (`size`). Decode: every power of two below it (a
    micro-batch's round trip shrinks with it, and more micro-batches fill more of the pipeline). Prefill: the
    largest chunk that runs whole as MeshGEMV (mesh_lowering.py): a larger chunk in several MeshGEMV passes is
    never faster than chunks of one pass each, which the regions pipeline. Below it the mapper halves the chunk
    while that helps (`shrink` in choose_split): with t = a + b c per chunk of c tokens (a pass's fixed
    communication, then per token), P tokens over R regions take about P a / c + (R - 1) b c, one minimum.
    MeshGEMM chunks between the two are not tried."""
    if option == "microbatch":
        return [2 ** k for k in range(size.bit_length() - 1, -1, -1) if 2 ** k < size]
    whole = largest(1, size, lambda c: fits(c) and pass_tokens(graph, attempt(c), costs, c, total) >= c)
    return [whole] if whole and whole < size else []


@dataclass(frozen=True)
class PipelinePath:
    """The critical path through regions x pieces of `fill_and_drain`."""

    cycles: int
    entry: int  # the piece whose entry (the embedding's hop) lies on the path
    columns: tuple[tuple[int, int, int], ...]  # (piece, first region, last region) in path order
    crossed: tuple[int, ...]  # per boundary between regions r-1 and r (r = 1 ..), the piece that crosses it


def fill_and_drain(region_layers: list[int], layer_cycles: list[int], entry_cycles: list[int],
                   boundary_cycles, boundary_row=None) -> PipelinePath:
    """Pieces j through layer regions r in order (module docstring); boundary_cycles(r, j): the hand-off of
    piece j into region r (r >= 1), or `boundary_row(r)`: those of every piece at once (faster). Ties prefer
    the piece's own predecessor region (the path turns late).

    A region's row in closed form (integers, exact): with a_j its work on piece j and S_j = a_0 + .. + a_j,
    done_j = max(arrive_j, done_(j-1)) + a_j = S_j + max over i <= j of (arrive_i - S_(i-1))."""
    regions, pieces = len(region_layers), len(layer_cycles)
    t = np.asarray(layer_cycles, dtype=np.int64)
    done = np.zeros((regions, pieces), dtype=np.int64)
    from_left = np.zeros((regions, pieces), dtype=bool)
    for r in range(regions):
        if r == 0:
            arrive = np.asarray(entry_cycles, dtype=np.int64)
        else:
            hops = boundary_row(r) if boundary_row is not None else [boundary_cycles(r, j) for j in range(pieces)]
            arrive = done[r - 1] + np.asarray(hops, dtype=np.int64)
        work = int(region_layers[r]) * t
        total = np.cumsum(work)
        done[r] = total + np.maximum.accumulate(arrive - (total - work))
        from_left[r, 1:] = done[r, :-1] > arrive[1:]
    r, j = regions - 1, pieces - 1
    cells, crossed = [], [0] * regions
    while True:
        cells.append((r, j))
        if from_left[r][j]:
            j -= 1
        elif r > 0:
            crossed[r] = j
            r -= 1
        else:
            break
    cells.reverse()
    columns: list[list[int]] = []
    for r, j in cells:
        if columns and columns[-1][0] == j:
            columns[-1][2] = r
        else:
            columns.append([j, r, r])
    return PipelinePath(int(done[-1][-1]), cells[0][1], tuple(tuple(c) for c in columns), tuple(crossed[1:]))


def steady_period(round_trip_cycles: list[int], busy_cycles: dict[str, int]) -> tuple[int, str]:
    """Cycles per decode step with micro-batches circulating, and what sets it: 'round trip' (a token's way
    around the pipeline) or the unit in `busy_cycles` (its work for every micro-batch of one step)."""
    period, why = max(round_trip_cycles), "round trip"
    for unit, cycles in busy_cycles.items():
        if cycles > period:
            period, why = cycles, unit
    return period, why
