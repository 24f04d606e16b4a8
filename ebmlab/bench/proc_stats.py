"""Where a thread's time went, from Linux /proc: what the soak prints beside each sample to tell a slower
window from a slower machine. Elsewhere every figure is NaN.

- `thread_times(tid)`: (seconds on a CPU, seconds waiting in the run queue) of one thread of this process,
  from /proc/self/task/TID/schedstat. Waiting for the GIL is neither: the thread sleeps.
- `steal_seconds()`: CPU time the hypervisor gave to other guests, summed over this machine's vCPUs
  (/proc/stat, the `steal` column, in clock ticks).
"""

from __future__ import annotations

import os
import time

NAN = float("nan")


def thread_times(tid: int | None) -> tuple[float, float]:
    if tid is None:
        return NAN, NAN
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
        return run_ns / 1e9, wait_ns / 1e9
    except (OSError, ValueError):
        return NAN, NAN


def steal_seconds() -> float:
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return NAN


class Meter:
    """Per-interval rates of the worker thread, the GUI thread and the machine's steal time.
    `read()` returns (worker CPU, worker run-queue wait, GUI CPU, steal), each in seconds per second of the
    interval since the last `read()` or `reset()` (1.0 = one vCPU busy the whole time)."""

    def __init__(self, worker_tid: int | None, gui_tid: int | None):
        self.worker_tid, self.gui_tid = worker_tid, gui_tid
        self.reset()

    def _now(self) -> tuple[float, ...]:
        return (time.perf_counter(), *thread_times(self.worker_tid), thread_times(self.gui_tid)[0], steal_seconds())

    def reset(self) -> None:
        self._last = self._now()

    def read(self) -> tuple[float, float, float, float]:
        now = self._now()
        dt = now[0] - self._last[0]
        rates = tuple((a - b) / dt if dt > 0 else NAN for a, b in zip(now[1:], self._last[1:]))
        self._last = now
        return rates  # type: ignore[return-value]
