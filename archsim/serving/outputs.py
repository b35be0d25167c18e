"""Files of a serving run: per-request CSV and a Chrome/Perfetto timeline of requests and iterations.

Timeline (JSON object form of the Trace Event Format, as archsim/report/trace.py writes; times in
microseconds; open in ui.perfetto.dev): process 1 has one track per replica with every iteration
as a slice (P, D, C and sequences in args) and counters of batch size, KV blocks in use and
requests waiting; process 2 has the requests, each a 'queued' slice (arrival to first scheduled)
and a 'running' slice (to its last token), on lanes. Size is bounded by `max_events`: later
iterations and requests are left out and `otherData` says how many.
"""
from __future__ import annotations

import csv
import heapq
import json
from pathlib import Path

import numpy as np

from archsim.errors import ArchsimInputError
from archsim.serving.state import REJECT_NAMES

MAX_EVENTS = 200_000
MAX_REQUEST_LANES = 128
_US = 1e6
CSV_COLUMNS = ("request", "arrival_s", "replica", "prompt_tokens", "output_tokens", "finished", "queue_s",
               "ttft_s", "tpot_s", "e2e_s", "finish_s", "preempt_recompute", "preempt_swap", "rejected")


def write_csv(result, path: str) -> int:
    req = result.per_request
    try:
        with open(path, "w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(CSV_COLUMNS)
            for i in range(req["arrival_s"].size):
                reason = int(req["reject_reason"][i])
                out.writerow([i, _f(req["arrival_s"][i]), int(req["replica"][i]), int(req["prompt_tokens"][i]),
                              int(req["output_tokens"][i]), int(bool(req["finished"][i])), _f(req["queue_s"][i]),
                              _f(req["ttft_s"][i]), _f(req["tpot_s"][i]), _f(req["e2e_s"][i]),
                              _f(req["finish_s"][i]), int(req["preempt_recompute"][i]), int(req["preempt_swap"][i]),
                              REJECT_NAMES.get(reason, "")])
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {path}: {exc.strerror}") from None
    return int(req["arrival_s"].size)


def _f(x) -> str:
    return "" if not np.isfinite(x) else repr(float(x))


def write_timeline(result, path: str, max_events: int = MAX_EVENTS) -> dict:
    run = result.run
    it = run.iterations
    events: list[dict] = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "replicas"}},
                          {"name": "process_name", "ph": "M", "pid": 2, "args": {"name": "requests"}}]
    replicas = run.config.replicas
    for r in range(replicas):
        events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": r + 1, "args": {"name": f"replica {r}"}})
    budget = max_events // 2
    n_iter = min(it["p"].size, budget // 2)  # two events each: the slice and the counters
    for k in range(n_iter):
        p, d = int(it["p"][k]), int(it["d"][k])
        name = "prefill+decode" if p and d else ("prefill" if p else "decode")
        ts, r = float(it["start_s"][k]), int(it["replica"][k])
        events.append({"name": name, "cat": "iteration", "ph": "X", "ts": round(ts * _US, 3),
                       "dur": round(float(it["seconds"][k]) * _US, 3), "pid": 1, "tid": r + 1,
                       "args": {"prefill_tokens": p, "decode_seqs": d, "context_tokens": int(it["c"][k]),
                                "sequences": int(it["seqs"][k]), "swap_tokens": int(it["swap_tokens"][k])}})
        events.append({"name": f"replica {r}", "ph": "C", "pid": 1, "ts": round(ts * _US, 3),
                       "args": {"batch": int(it["seqs"][k]), "kv_blocks": int(it["kv_blocks"][k]),
                                "waiting": int(it["waiting"][k])}})
    req = result.per_request
    done = np.nonzero(req["finished"])[0]
    n_req = min(done.size, (max_events - len(events)) // 2)
    lanes: list[tuple[float, int]] = []  # (free from, lane) heap
    lane_count = dropped_lanes = 0
    for i in done[:n_req]:
        arrival, finish = float(req["arrival_s"][i]), float(req["finish_s"][i])
        if lanes and lanes[0][0] <= arrival:
            _, lane = heapq.heappop(lanes)
        elif lane_count < MAX_REQUEST_LANES:
            lane, lane_count = lane_count, lane_count + 1
        else:
            dropped_lanes += 1
            continue
        heapq.heappush(lanes, (finish, lane))
        scheduled = arrival + float(req["queue_s"][i])
        args = {"request": int(i), "replica": int(req["replica"][i]), "prompt_tokens": int(req["prompt_tokens"][i]),
                "output_tokens": int(req["output_tokens"][i]), "ttft_ms": float(req["ttft_s"][i]) * 1e3}
        if scheduled > arrival:
            events.append({"name": "queued", "cat": "request", "ph": "X", "ts": round(arrival * _US, 3),
                           "dur": round((scheduled - arrival) * _US, 3), "pid": 2, "tid": lane + 1, "args": args})
        events.append({"name": f"request {i}", "cat": "request", "ph": "X", "ts": round(scheduled * _US, 3),
                       "dur": round((finish - scheduled) * _US, 3), "pid": 2, "tid": lane + 1, "args": args})
    for lane in range(lane_count):
        events.append({"name": "thread_name", "ph": "M", "pid": 2, "tid": lane + 1, "args": {"name": f"lane {lane}"}})
    left_out = {"iterations": int(it["p"].size - n_iter), "requests": int(done.size - n_req + dropped_lanes)}
    doc = {"traceEvents": events, "displayTimeUnit": "ms",
           "otherData": {"archsim": result.provenance["archsim_version"], "chip": result.chip,
                         "workload": result.workload, "left_out": left_out,
                         "note": "requests beyond the lanes or the event budget are left out; the CSV has all"}}
    try:
        Path(path).write_text(json.dumps(doc))
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {path}: {exc.strerror}") from None
    return {"events": len(events), "left_out": left_out, "lanes": lane_count, "replicas": replicas}
