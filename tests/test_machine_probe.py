"""The soak's reference process and its /proc meters."""

import sys
import threading
import time

import pytest

from ebmlab.bench.machine_probe import MachineProbe
from ebmlab.bench.proc_stats import Meter
from ebmlab.config.presets import BUNDLED_DIR
from ebmlab.core.errors import EbmlabError


def test_the_reference_process_trains_the_preset_and_ends_cleanly():
    with MachineProbe(BUNDLED_DIR / "00_welcome.json") as probe:
        rates = [probe.run(0.3) for _ in range(2)]
        proc = probe.proc
    assert all(r > 5 for r in rates), rates  # steps/s of a 2-D MLP under PCD: ~100-170 on 2 vCPUs
    assert proc.returncode == 0


def test_a_reference_process_that_cannot_load_says_so(tmp_path):
    with pytest.raises(EbmlabError, match="could not start: .*missing.json"):
        MachineProbe(tmp_path / "missing.json")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc meters are Linux only")
def test_meter_splits_cpu_between_threads():
    """A thread spinning for 0.4 s reads ~1 CPU-second per second; this (sleeping) thread ~0."""
    started, tid = threading.Event(), []

    def spin():
        tid.append(threading.get_native_id())
        started.set()
        t_end = time.perf_counter() + 0.4
        while time.perf_counter() < t_end:
            pass

    worker = threading.Thread(target=spin)
    worker.start()
    started.wait()
    meter = Meter(tid[0], threading.get_native_id())
    time.sleep(0.3)
    worker_cpu, worker_wait, gui_cpu, steal = meter.read()
    worker.join()
    assert worker_cpu + worker_wait > 0.8  # running or runnable the whole interval
    assert gui_cpu < 0.2
    assert steal >= 0
