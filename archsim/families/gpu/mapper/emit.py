"""Kernels and collectives -> engine tasks, for one representative GPU.

Resources of the graph:
- `sm`   compute, capacity = SM count, work in SM cycles (rate 1): per
         active SM and kernel, the compute of the CTAs the block scheduler
         gives that SM (gpu_chip.sm_parts); the slowest SM is the wave tail;
- `sm_ld` memory, capacity = SM count, work in cycles: the same SM's load
         issue, limited by its bytes in flight (Little's law) or its L2 port;
         both follow that SM's pipeline fill (a memory-latency delay);
- `hbm`  memory, the achievable HBM rate; each task (a kernel's DRAM stream)
         pays the stream startup first (STREAM_KERNEL_OVERHEAD_S less the
         launch gap: ramp-up to the bytes in flight, first-byte latency, drain);
- `l2`   memory, the L2 rate;
- `nvlink` interconnect, one port of the GPU at the link rate times NCCL's
         protocol efficiency (the payload share of the line rate);
- `nic`  interconnect, the GPU's own port to other nodes (multi-node systems).

A kernel's tasks all start after its launch (a `KERNEL_LAUNCH_S` gap after the
previous kernel, and after its host dispatch) and run side by side; the next
kernel starts when all of them are done. The host dispatches one op after
another (eager: a chain of `HOST_DISPATCH_S` delays that runs ahead of the
GPU; CUDA graphs: one such delay for the whole step). Launch gaps and host
dispatch are delays (fixed latencies, no resource) labelled with the op they
launch; `launch_gap_s` and `host_dispatch_s` in the result total them.

A collective is a kernel too: after its launch, the fixed latency of the
algorithm the stack picks (collectives.choose: NCCL's ring/NVLS with its
protocols, or one-shot/two-shot all-reduce), then the bytes that algorithm
moves through the GPU's link port (and its NIC across nodes).
"""
from __future__ import annotations

import numpy as np

from archsim.engine import TaskGraphBuilder
from archsim.engine.ir import CATEGORIES
from archsim.calibration import HOST_DISPATCH_S, KERNEL_LAUNCH_S
from archsim.families.gpu.mapper.chip import GpuChip, Kernel, sm_parts
from archsim.families.gpu.mapper.collectives import Cost, Net


COMPUTE, MEMORY = CATEGORIES.index("compute"), CATEGORIES.index("memory")


class GpuEmitter:
    """Builds one segment's task graph, kernel after kernel."""

    def __init__(self, chip: GpuChip, net: Net | None, cuda_graphs: bool, host_overhead: bool,
                 replay: bool = True):
        """`replay`: with CUDA graphs, this segment starts the step and pays the graph launch."""
        self.chip = chip
        self.cuda_graphs = cuda_graphs
        self.host_overhead = host_overhead
        self.replay = replay
        b = self.b = TaskGraphBuilder(clock_hz=chip.clock_hz)
        self.sm = b.add_resource("sm", "compute", rate=1.0, capacity=chip.sms)
        self.sm_mem = b.add_resource("sm_ld", "memory", rate=1.0, capacity=chip.sms)
        self.hbm = b.add_resource("hbm", "memory", rate=chip.hbm_per_cycle, latency=chip.hbm_startup_cycles)
        self.l2 = b.add_resource("l2", "memory", rate=chip.l2_per_cycle)
        self.link = self.nic = None
        if net is not None:
            self.link = b.add_resource("nvlink", "interconnect", rate=net.link_bps / chip.clock_hz)
            if net.nic_bps:
                self.nic = b.add_resource("nic", "interconnect", rate=net.nic_bps / chip.clock_hz)
        self.collectives: list[str] = []
        self.last: list[int] = []
        self.host_last: list[int] = []
        self.kernels = 0
        self.dispatches = 0

    def _launch(self, label: str, layer: int) -> int:
        deps = list(self.last)
        graph_replay = self.replay and self.kernels == 0
        if self.host_overhead and (not self.cuda_graphs or graph_replay):  # eager: every op
            self.dispatches += 1
            h = self.b.add_delay(self.chip.cycles(HOST_DISPATCH_S), deps=self.host_last, op=label, layer=layer)
            self.host_last = [h]
            deps.append(h)
        self.kernels += 1
        return self.b.add_delay(self.chip.cycles(KERNEL_LAUNCH_S), deps=deps, op=label, layer=layer)

    def kernel(self, k: Kernel) -> None:
        """The kernel's tasks after its launch, added as one batch (the same tasks, in the same order, as one
        call per kind: a serving run builds thousands of kernels): per active SM its pipeline fill (a
        latency), then its compute and its load issue side by side; the kernel's HBM and L2 streams; and a
        zero delay that joins them all."""
        launch = self._launch(k.label, k.layer)
        cyc, issue, fills = sm_parts(k, self.chip)
        n = cyc.shape[0]
        on_sm, on_ld = np.flatnonzero(cyc > 0), np.flatnonzero(issue > 0)
        idle = np.flatnonzero((cyc <= 0) & (issue <= 0))  # a fill with nothing after it ends the kernel itself
        first = self.b.n_tasks
        streams = [(r, w) for r, w in ((self.hbm, k.hbm_bytes), (self.l2, k.l2_bytes)) if w > 0]
        m = on_sm.size + on_ld.size
        total = n + m + len(streams) + 1
        resource = np.concatenate([np.full(n, -1), np.full(on_sm.size, self.sm), np.full(on_ld.size, self.sm_mem),
                                   [r for r, _ in streams], [-1]]).astype(np.int64)
        work = np.concatenate([np.zeros(n), np.ceil(cyc[on_sm]), np.ceil(issue[on_ld]), [w for _, w in streams],
                               [0.0]])
        latency = np.concatenate([np.ceil(fills).astype(np.int64), np.zeros(total - n, dtype=np.int64)])
        category = np.concatenate([np.full(n, MEMORY), np.full(on_sm.size, COMPUTE), np.full(on_ld.size, MEMORY),
                                   np.full(len(streams), MEMORY), [COMPUTE]]).astype(np.int64)
        joined = np.concatenate([first + n + np.arange(m), first + idle, first + n + m + np.arange(len(streams))])
        deps = np.concatenate([np.full(n, launch), first + on_sm, first + on_ld, np.full(len(streams), launch),
                               joined]).astype(np.int64)
        ptr = np.concatenate([np.arange(n + m + len(streams) + 1), [deps.size]]).astype(np.int64)
        self.b.add_tasks(resource, work, dep_ptr=ptr, dep_idx=deps, op=self.b.op_id(k.label), layer=k.layer,
                         category=category, latency=latency)
        self.last = [first + total - 1]

    def collective(self, label: str, layer: int, cost: Cost) -> None:
        """One collective as `cost` says: its launch, its fixed latency, then its bytes on the link and NIC."""
        if self.link is None:
            return
        launch = self._launch(label, layer)
        prev = self.b.add_delay(self.chip.cycles(cost.latency_s), deps=[launch], op=label, layer=layer,
                                category="communication")
        streams = [prev]
        for resource, work in ((self.link, cost.link_bytes), (self.nic, cost.nic_bytes)):
            if work > 0 and resource is not None:  # pipelined phases: link and NIC stream side by side
                streams.append(self.b.add_task(resource, work=work, deps=[prev], op=label, layer=layer,
                                               category="communication"))
        self.collectives.append(cost.algorithm)
        self.last = streams[1:] or streams

    def overhead_s(self) -> tuple[float, float]:
        """(launch gaps, host dispatch) of this segment in seconds, summed (not all on the critical path)."""
        return self.kernels * KERNEL_LAUNCH_S, self.dispatches * HOST_DISPATCH_S

    def build(self):
        return self.b.build()
