"""Settings for a thread that runs ebmlab's torch work (the window's worker, the command line, the bench)."""

from __future__ import annotations

import torch


def configure_compute_thread(threads: int = 1) -> bool:
    """`threads` intra-op threads (process-wide) and subnormal floats flushed to zero (this thread only).

    Subnormals (0 < |x| < 1.2e-38 in float32, 2.2e-308 in float64) cost x86 CPUs up to ~100x per operation.
    They turn up in intermediate values as a model trains (sigmoid, silu and exp of large negative arguments;
    the parameters themselves had none): the default lesson slowed from 168 to ~152 steps/s after 25k steps
    without flushing and kept 168 with it (measured headless, one thread). Nothing shown changes: a density
    below 1e-38 is zero on any plot, and exact log Z is a float64 logsumexp. FTZ/DAZ lives in the CPU's
    per-thread control register, so each thread that runs torch calls this itself. Returns whether the CPU
    supports it.
    """
    torch.set_num_threads(max(1, int(threads)))
    return bool(torch.set_flush_denormal(True))
