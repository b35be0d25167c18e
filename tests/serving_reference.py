"""Slow, obvious pure-Python version of the serving loop (after stumpy's tests/naive.py): the
semantics of archsim/serving/kernel.py and docs/serving.md written with plain objects and lists,
for the tests to compare the numba kernel against, request by request and bit for bit.

It prices iterations from a fully filled IterationTable with its own interpolation (same
formula, same order of operations), so equal results also check the kernel's lazy filling.
"""
from __future__ import annotations

import bisect
import math


class Seq:
    def __init__(self, index, arrival, prompt, output, cached=0, prefilled=False):
        self.index, self.arrival, self.prompt, self.output = index, arrival, prompt, output
        self.replica, self.status, self.reject = -1, "new", 0
        self.computed = self.generated = self.blocks = self.host_blocks = self.chunk = 0
        self.cached = self.computed = cached  # a prefix in the prefix cache: computed from the start, shared
        if prefilled:  # a decode pool: its prompt's K/V and first token come with it (its time is not known here)
            self.computed, self.generated = prompt, 1
        self.recomputes = self.swaps = 0
        self.scheduled = self.first_token = self.finish = -1.0
        self.tokens = [-1.0] * self.generated

    def remaining(self):
        return self.prompt + self.generated - self.computed

    def is_decode(self):
        return self.generated >= 1 and self.remaining() == 1


class Replica:
    def __init__(self, blocks, host_blocks):
        self.waiting, self.running, self.swapped = [], [], []
        self.free, self.host_free = blocks, host_blocks
        self.state = "idle"
        self.start = self.end = 0.0
        self.busy_s = self.joules = 0.0
        self.outstanding = 0
        self.p = self.d = self.c = self.seqs = self.swap_tokens = 0


def _locate(axis, x):
    if x < axis[0] or x > axis[-1]:
        raise AssertionError("outside the table")
    if x == axis[-1]:
        return len(axis) - 1, 0.0
    i = bisect.bisect_right(list(axis), x) - 1
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])


def _interp(values, i, j, fd, k, fc):
    def along_c(b):
        v = float(values[i, b, k])
        return v if fc == 0.0 else v + (float(values[i, b, k + 1]) - v) * fc

    v = along_c(j)
    return v if fd == 0.0 else v + (along_c(j + 1) - v) * fd


def _locate_up(axis, x):
    if x < axis[0] or x > axis[-1]:
        raise AssertionError("outside the table")
    return bisect.bisect_left(list(axis), x)


def table_cost(table, p, d, c):
    """The decode-only plane for p = 0, else the token point at or above T = p + q d; linear in D and C."""
    i = 0 if p == 0 else _locate_up(table.t_axis, p + table.decode_tokens * d)
    j, fd = _locate(table.d_axis, d)
    k, fc = _locate(table.c_axis, c)
    return _interp(table.seconds, i, j, fd, k, fc), _interp(table.joules, i, j, fd, k, fc)


class ReferenceLoop:
    def __init__(self, arrival, prompt, output, config, table, time_cap, cached=None, accepted=None,
                 prefilled=False):
        self.cfg, self.table, self.time_cap = config, table, time_cap
        self.block = config.block_tokens
        cached = [0] * len(prompt) if cached is None else cached
        self.accepted = accepted
        self.seqs = [Seq(i, float(a), int(p), int(o), int(x), prefilled)
                     for i, (a, p, o, x) in enumerate(zip(arrival, prompt, output, cached))]
        offset = 0
        for s in self.seqs:
            s.offset, offset = offset, offset + s.output
        self.replicas = [Replica(config.blocks, config.host_capacity_tokens // config.block_tokens)
                         for _ in range(config.replicas)]
        self.now, self.rr, self.next = 0.0, 0, 0
        self.finished = self.rejected = self.recomputes = self.swap_outs = 0
        self.verify_steps = self.verify_tokens = 0
        self.log = []
        self.status = "active"
        self.issued = len(self.seqs)
        if config.clients:  # a closed loop: the first `clients` requests now, the rest as earlier ones end
            self.issued = min(len(self.seqs), config.clients)
            for s in self.seqs[self.issued:]:
                s.arrival = float("inf")

    def nblocks(self, tokens):
        return -(-tokens // self.block)

    def own(self, s, tokens):
        """Blocks s owns holding `tokens` of K/V: its cached prefix is shared."""
        return self.nblocks(tokens - s.cached)

    def q(self, s):
        """Tokens a decode of s processes: 1 + its drafts (none beyond its last output)."""
        return 1 + max(0, min(self.cfg.spec_k, s.output - s.generated - 1))
    def waiting_total(self):
        return sum(len(r.waiting) for r in self.replicas)

    # ---- run
    def run(self):
        while True:
            for ri, rep in enumerate(self.replicas):
                if rep.state == "pending":
                    self.price(ri, rep)
            events = [s.arrival for s in self.seqs[self.next:self.next + 1] if s.arrival != float("inf")]
            events += [rep.end for rep in self.replicas if rep.state == "busy"]
            if not events:
                assert self.finished + self.rejected == len(self.seqs), "stuck"
                self.status = "done"
                return self
            t = min(events)
            if t > self.time_cap:
                self.status = "time_cap"
                return self
            self.now = t
            for ri, rep in enumerate(self.replicas):
                if rep.state == "busy" and rep.end == t:
                    self.complete(ri, rep)
            while True:  # arrivals; in a closed loop each request that has ended issues the next one now
                while self.next < len(self.seqs) and self.seqs[self.next].arrival <= t:
                    self.arrive(self.seqs[self.next])
                    self.next += 1
                issue = min(len(self.seqs), self.cfg.clients + self.finished + self.rejected)
                if not self.cfg.clients or self.issued >= issue:
                    break
                for s in self.seqs[self.issued:issue]:
                    s.arrival = t
                self.issued = issue
            if self.waiting_total() > self.cfg.max_queue:
                self.status = "queue_cap"
                return self
            for ri, rep in enumerate(self.replicas):
                if rep.state == "idle":
                    self.schedule(rep)

    def price(self, ri, rep):
        seconds, joules = table_cost(self.table, rep.p, rep.d, rep.c)
        seconds += rep.swap_tokens * self.cfg.swap_s_per_token + self.cfg.iteration_overhead_s
        rep.start, rep.end = self.now, self.now + seconds
        rep.busy_s += seconds
        rep.joules += joules
        rep.state = "busy"
        self.log.append((ri, rep.p, rep.d, rep.c, rep.seqs, self.cfg.blocks - rep.free, len(rep.waiting),
                         rep.swap_tokens, self.now, seconds, joules))

    # ---- arrivals
    def arrive(self, s):
        cfg = self.cfg
        on_demand_recompute = cfg.policy != "static" and cfg.admission != "reserve"
        longest_prefill = (s.prompt + s.output - 1 if on_demand_recompute else s.prompt) - s.cached
        if s.prompt + s.output > cfg.max_context:
            s.reject = 1
        elif self.own(s, s.prompt + s.output) > cfg.blocks:
            s.reject = 2
        elif cfg.policy != "chunked" and longest_prefill > cfg.max_batched_tokens:
            s.reject = 3
        if s.reject:
            s.status = "rejected"
            self.rejected += 1
            return
        if cfg.router == "round_robin":
            r = self.rr
            self.rr = (self.rr + 1) % len(self.replicas)
        else:
            loads = [rep.outstanding for rep in self.replicas]
            r = loads.index(min(loads))
        s.replica, s.status = r, "waiting"
        rep = self.replicas[r]
        rep.waiting.append(s)
        rep.outstanding += s.prompt + s.output - 1 - s.computed

    # ---- helpers
    def grow(self, rep, s, tokens):
        need = self.own(s, tokens) - s.blocks
        if need <= 0:
            return True
        if need > rep.free:
            return False
        rep.free -= need
        s.blocks += need
        return True

    def add(self, rep, s, chunk, decode):
        s.chunk = chunk
        if decode:
            rep.d += 1
        else:
            rep.p += chunk
        rep.c += s.computed
        rep.seqs += 1
        if s.scheduled < 0:
            s.scheduled = self.now

    def admit(self, rep, s):
        rep.waiting.remove(s)
        rep.running.append(s)
        s.status = "running"

    def preempt(self, rep, v):
        rep.running.remove(v)
        if self.cfg.preemption == "swap" and v.blocks <= rep.host_free:
            rep.free += v.blocks
            rep.host_free -= v.blocks
            v.host_blocks, v.blocks = v.blocks, 0
            rep.swapped.append(v)
            v.status = "swapped"
            rep.swap_tokens += v.computed - v.cached
            v.swaps += 1
            self.swap_outs += 1
            return
        rep.free += v.blocks
        v.blocks = 0
        rep.outstanding += v.computed - v.cached
        v.computed = v.cached
        rep.waiting.insert(0, v)
        v.status = "waiting"
        v.recomputes += 1
        self.recomputes += 1

    # ---- schedulers
    def schedule(self, rep):
        rep.p = rep.d = rep.c = rep.seqs = rep.swap_tokens = 0
        {"static": self.schedule_static, "continuous": self.schedule_continuous,
         "chunked": self.schedule_chunked, "inflight": self.schedule_inflight}[self.cfg.policy](rep)
        if rep.seqs > 0:
            rep.state = "pending"

    def admit_ready(self, rep):
        """Arrivals with their K/V (a decode pool) join the running list while they and one more token fit (reserve
        admission: their whole prompt + output, held from then on)."""
        reserve = self.cfg.admission == "reserve"
        while rep.waiting and not rep.swapped and len(rep.running) < self.cfg.max_seqs:
            s = rep.waiting[0]
            tokens = s.prompt + s.output if reserve else s.computed
            if not s.is_decode() or self.own(s, max(tokens, s.computed + 1)) > rep.free:
                return
            self.admit(rep, s)
            self.grow(rep, s, tokens)

    def schedule_static(self, rep):
        if rep.running:
            for s in rep.running:
                self.add(rep, s, self.q(s), True)
            return
        tokens = 0
        while rep.waiting and len(rep.running) < self.cfg.max_seqs:
            s = rep.waiting[0]
            need = self.own(s, s.prompt + s.output)
            chunk = s.remaining()
            if tokens + chunk > self.cfg.max_batched_tokens or need > rep.free:
                break
            self.admit(rep, s)
            rep.free -= need
            s.blocks = need
            tokens += chunk
            self.add(rep, s, chunk, False)

    def decode_pass(self, rep, budget):
        used, preempted = 0, False
        k = 0
        while k < len(rep.running):
            s = rep.running[k]
            if not s.is_decode():
                k += 1
                continue
            q = self.q(s)
            if used + q > budget:
                break
            while not self.grow(rep, s, s.computed + q):
                victim = rep.running[-1]
                self.preempt(rep, victim)
                preempted = True
                if victim is s:
                    break
            if s.status != "running":
                break
            self.add(rep, s, q, True)
            used += q
            k += 1
        return used, preempted

    def swap_in_pass(self, rep, budget, chunked):
        used = 0
        while rep.swapped and len(rep.running) < self.cfg.max_seqs and used < budget:
            s = rep.swapped[0]
            decode = s.is_decode()
            chunk = self.q(s) if decode else s.remaining()
            if chunked and not decode:
                chunk = min(chunk, budget - used)
            if used + chunk > budget or self.own(s, s.computed + chunk) > rep.free:
                break
            rep.swapped.pop(0)
            rep.host_free += s.host_blocks
            s.host_blocks = 0
            self.grow(rep, s, s.computed + chunk)
            rep.running.append(s)
            s.status = "running"
            rep.swap_tokens += s.computed - s.cached
            self.add(rep, s, chunk, decode)
            used += chunk
        return used

    def schedule_continuous(self, rep):
        cfg = self.cfg
        self.admit_ready(rep)
        if not rep.swapped:
            self.admit_prompts(rep, 0, cfg.max_batched_tokens)
            if rep.seqs > 0:
                return
        used, preempted = self.decode_pass(rep, cfg.max_batched_tokens)
        if not preempted:
            self.swap_in_pass(rep, cfg.max_batched_tokens - used, False)

    def schedule_inflight(self, rep):
        """TensorRT-LLM without chunked context: decodes, swapped sequences, then whole waiting prompts, all in one
        iteration within max_batched_tokens."""
        cfg = self.cfg
        self.admit_ready(rep)
        used, preempted = self.decode_pass(rep, cfg.max_batched_tokens)
        if not preempted:
            used += self.swap_in_pass(rep, cfg.max_batched_tokens - used, False)
        if not rep.swapped:
            self.admit_prompts(rep, used, cfg.max_batched_tokens)

    def admit_prompts(self, rep, used, budget):
        """Whole waiting prompts, FCFS, while they fit beside `used` tokens within `budget`, max_seqs and the cache."""
        cfg = self.cfg
        while rep.waiting and len(rep.running) < cfg.max_seqs:
            s = rep.waiting[0]
            if s.is_decode():
                break
            chunk = s.remaining()
            if used + chunk > budget:
                break
            tokens = s.prompt + s.output if cfg.admission == "reserve" else s.computed + chunk
            if self.own(s, tokens) > rep.free:
                break
            self.admit(rep, s)
            self.grow(rep, s, tokens)
            self.add(rep, s, chunk, False)
            used += chunk
        return used

    def schedule_chunked(self, rep):
        cfg, budget = self.cfg, self.cfg.chunk_tokens
        self.admit_ready(rep)
        while True:
            used, preempted = self.decode_pass(rep, budget)
            for s in list(rep.running):
                if used >= budget:
                    break
                if s.chunk == 0 and not s.is_decode():
                    room = (s.blocks + rep.free) * self.block - (s.computed - s.cached)
                    chunk = min(s.remaining(), budget - used, room)
                    if chunk > 0:
                        self.grow(rep, s, s.computed + chunk)
                        self.add(rep, s, chunk, False)
                        used += chunk
            if not preempted:
                used += self.swap_in_pass(rep, budget - used, True)
            if not rep.swapped:
                while rep.waiting and used < budget and len(rep.running) < cfg.max_seqs:
                    s = rep.waiting[0]
                    if s.is_decode():
                        break
                    chunk = min(s.remaining(), budget - used)
                    if cfg.admission == "reserve":
                        tokens = s.prompt + s.output
                    else:
                        chunk = min(chunk, rep.free * self.block)
                        tokens = s.computed + chunk
                    if chunk <= 0 or self.own(s, tokens) > rep.free:
                        break
                    self.admit(rep, s)
                    self.grow(rep, s, tokens)
                    self.add(rep, s, chunk, False)
                    used += chunk
            if rep.seqs > 0 or not rep.running:
                return
            self.preempt(rep, rep.running[-1])

    # ---- iteration end
    def complete(self, ri, rep):
        static = self.cfg.policy == "static"
        for s in list(rep.running):
            if s.chunk == 0:
                continue
            chunk, s.chunk = s.chunk, 0
            if s.status != "running":
                s.computed += chunk
                continue
            if self.cfg.spec_k > 0 and s.is_decode():  # a verify step of `chunk` tokens
                emit = 1 + (min(int(self.accepted[s.offset + s.generated]), chunk - 1) if chunk > 1 else 0)
                s.computed += emit
                rep.outstanding -= emit
                self.verify_steps += 1
                self.verify_tokens += emit
            else:
                s.computed += chunk
                rep.outstanding -= chunk
                emit = 1 if s.computed == s.prompt + s.generated else 0
            if emit:
                first = s.generated == 0
                s.tokens += [self.now] * emit
                s.generated += emit
                if first:
                    s.first_token = self.now
                if s.generated == s.output:
                    s.finish = self.now
                    s.status = "finished"
                    self.finished += 1
                    if not static:
                        rep.running.remove(s)
                        rep.free += s.blocks
                        s.blocks = 0
        if static and all(s.status == "finished" for s in rep.running):
            for s in rep.running:
                rep.free += s.blocks
                s.blocks = 0
            rep.running = []
        rep.state = "idle"


def reference_run(arrival, prompt, output, config, table, cached=None, accepted=None, prefilled=False):
    """Run the reference loop; `table` must be filled at every grid point."""
    assert table.filled.all()
    last = float(arrival[-1])
    cap = config.max_sim_time_s if config.max_sim_time_s is not None else last + max(last, 3600.0)
    if config.clients and config.max_sim_time_s is None:
        cap = float("inf")  # a closed loop ends by itself
    loop = ReferenceLoop(arrival, prompt, output, config, table, cap, cached, accepted, prefilled).run()
    assert math.isfinite(loop.now)
    return loop
