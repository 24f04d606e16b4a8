"""Guard against the PySide6 6.12.0 / CPython 3.11 bug that drops a reference to None on every void call.

After a few thousand calls the interpreter aborts with 'deallocating None'. 6.11.3 is clean.
"""

import sys

from PySide6.QtCore import QObject, QTimer, Signal


class Emitter(QObject):
    ping = Signal(bool)


def test_event_loop_slot_calls_keep_none_true_false_refcounts(qapp):
    counts = {"n": 0}
    em = Emitter()

    def slot(flag):
        counts["n"] += 1
        return None

    em.ping.connect(slot)

    def tick():
        em.ping.emit(counts["n"] % 2 == 0)

    before = {k: sys.getrefcount(v) for k, v in (("None", None), ("True", True), ("False", False))}
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(tick)
    timer.start()
    while counts["n"] < 12_000:
        qapp.processEvents()
    timer.stop()
    after = {k: sys.getrefcount(v) for k, v in (("None", None), ("True", True), ("False", False))}
    # Immortal objects (3.12+) report a huge constant; on 3.11 a leak drops the count by ~12,000.
    for k in before:
        assert after[k] >= before[k] - 100, f"refcount of {k} fell from {before[k]} to {after[k]}"
