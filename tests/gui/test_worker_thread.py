"""The window's worker thread: its own torch thread state, and cyclic GC kept out of it while it runs."""

import gc

from ebmlab.config.presets import load_preset
from ebmlab.core.trainer import Trainer
from ebmlab.gui import gc_guard
from ebmlab.gui.main_window import default_preset_path
from ebmlab.gui.worker import Load, WorkerThread


def test_the_worker_thread_flushes_subnormals_and_holds_the_gc_guard(qtbot):
    import torch

    seen = {}

    def make(exp, weights, resolve, run_id):
        x = torch.tensor([1e-39], dtype=torch.float32)
        seen["flushed"] = (x * 1.0).item() == 0.0
        return Trainer(exp, weights, resolve, run_id)

    lp = load_preset(default_preset_path())
    wt = WorkerThread(make)
    wt.start()
    assert gc_guard.holders() == 1 and not gc.isenabled()
    try:
        with qtbot.waitSignal(wt.worker.loaded, timeout=20_000):
            wt.worker.send(Load(lp.experiment, lp.weights, lp.resolve))
    finally:
        assert wt.shutdown()
    assert gc_guard.holders() == 0 and gc.isenabled()
    assert wt.shutdown() and gc_guard.holders() == 0  # a second shutdown releases nothing twice
    assert seen["flushed"]  # x86 with SSE3 and AArch64: every machine torch ships CPU wheels for
