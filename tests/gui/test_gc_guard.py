"""Cyclic garbage collection happens only in the GUI thread while a window's worker runs (see gc_guard)."""

import gc
import threading

from ebmlab.gui import gc_guard
from ebmlab.gui.main_window import MainWindow


class _Cycle:
    def __init__(self):
        self.me = self


def test_collect_due_follows_the_thresholds():
    old = gc.get_threshold()
    was = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        gc.set_threshold(100, 10, 10)
        assert gc_guard.collect_due() == 0  # nothing allocated since the full collection
        for _ in range(300):
            _Cycle()
        assert gc.get_count()[0] > 100
        assert gc_guard.collect_due() >= 300  # the cycles are found and freed
        assert gc.get_count()[0] < 100
    finally:
        gc.set_threshold(*old)
        if was:
            gc.enable()


def test_collections_run_only_in_the_gui_thread_while_the_window_trains(qtbot):
    main = threading.get_ident()
    threads: list[int] = []

    def record(phase, info):
        if phase == "start":
            threads.append(threading.get_ident())

    assert gc.isenabled()
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    assert not gc.isenabled() and gc_guard.holders() == 1
    gc.callbacks.append(record)
    try:
        qtbot.waitUntil(lambda: w._shown_snapshot is not None, timeout=20_000)
        w.transport.play.click()
        qtbot.waitUntil(lambda: w._shown_snapshot.step >= 100, timeout=30_000)
        n = len(threads)
        junk = [_Cycle() for _ in range(2 * gc.get_threshold()[0])]  # over the gen-0 threshold
        del junk
        qtbot.waitUntil(lambda: len(threads) > n, timeout=5_000)  # the GUI-thread timer collects them
    finally:
        gc.callbacks.remove(record)
    w.close()
    assert set(threads) == {main}
    assert gc.isenabled() and gc_guard.holders() == 0
    w.close()  # a second close releases nothing twice
    assert gc_guard.holders() == 0


def test_a_full_collection_waits_for_the_oldest_generation_to_grow(monkeypatch):
    old = gc.get_threshold()
    was = gc.isenabled()
    gc.disable()
    try:
        gc.set_threshold(1, 0, 0)  # every generation is always over its threshold
        monkeypatch.setattr(gc_guard, "_next_full_check", 0.0)
        monkeypatch.setattr(gc_guard, "_long_lived", 0)
        full = []
        cb = lambda phase, info: full.append(info["generation"]) if phase == "start" else None  # noqa: E731
        gc.callbacks.append(cb)
        try:
            keep = [[i] for i in range(10)]
            gc_guard.collect_due()
            assert full == [2] and gc_guard._long_lived > 0
            keep.append([0])
            monkeypatch.setattr(gc_guard, "_next_full_check", 0.0)
            gc_guard.collect_due()  # the oldest generation barely grew: a gen-1 collection instead
            assert len(full) == 2 and full[1] < 2
        finally:
            gc.callbacks.remove(cb)
    finally:
        gc.set_threshold(*old)
        if was:
            gc.enable()
