"""GUI rows: the window, offscreen, in this process, while its worker trains flat out.

- frames/s of the window drawing a 256x256 heatmap, 10,000 display chains with trails and the plots;
- the jitter of a 10 ms GUI timer (p99 of its interval's deviation) in the same run;
- training steps/s inside the window against a plain `trainer.step()` loop on the same preset (the ratio).
"""

from __future__ import annotations

import os
import time

import numpy as np

from .table import Row, group

GRID, CHAINS = 256, 10_000


def make_app():
    """The QApplication (offscreen unless a platform was chosen), styled like `ebmlab`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ..gui.app import make_app as _make

    return _make()


def spin(seconds: float) -> None:
    """Run the Qt event loop for `seconds` (timers fire, the window renders)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()


def wait_until(cond, timeout: float = 60.0) -> None:
    from ..core.errors import EbmlabError

    t_end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > t_end:
            raise EbmlabError("the window did not become ready in time")
        spin(0.02)


class Window:
    """An offscreen MainWindow on a preset with overrides, loaded and ready; a context manager that closes it."""

    def __init__(self, preset=None, overrides: list | None = None):
        from ..gui.app_settings import use_private_settings
        from ..gui.main_window import MainWindow

        self.app = make_app()
        use_private_settings()  # a benchmark never moves the user's window or edits their recent files
        self.win = MainWindow(preset)
        self.win.resize(1500, 950)
        self.win.show()
        w = self.win
        wait_until(lambda: w._shown_snapshot is not None and w.experiment is not None and w.run_id >= 1)
        if overrides:
            w.request_change(overrides)
            want = w.experiment
            wait_until(lambda: w._shown_snapshot is not None and w._shown_snapshot.experiment is want)
        self.frames = 0
        w.timer.timeout.connect(self._count)

    def _count(self) -> None:
        self.frames += 1

    def play(self) -> None:
        from ..core.loop import Play

        self.win.worker.send(Play())
        wait_until(lambda: self.win._shown_snapshot.status == "running")

    def pause(self) -> None:
        """Pause the run and wait until the worker idles (after its full-resolution paused heatmap)."""
        from ..core.loop import Pause

        self.win.worker.send(Pause())
        wait_until(lambda: self.win._shown_snapshot.status != "running")
        spin(0.3)

    def step_count(self) -> int:
        s = self.win.worker._session  # an int read: safe from the GUI thread
        return s.trainer.step_count if s is not None else 0

    def close(self) -> None:
        self.win.close()
        self.win.deleteLater()
        spin(0.05)

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Jitter:
    """A 10 ms precise QTimer recording its intervals."""

    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.t: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.t.append(time.perf_counter()))

    def start(self) -> None:
        self.t.clear()
        self.timer.start()

    def stop(self) -> np.ndarray:
        """Deviations of the intervals from the nominal one, seconds."""
        self.timer.stop()
        return np.abs(np.diff(np.asarray(self.t)) - self.interval)


class BareLoop:
    """A plain loop of trainer.step() on the same experiment, one torch thread, in this (the GUI) thread."""

    def __init__(self, exp):
        from ..core.trainer import Trainer

        self.trainer = Trainer(exp)

    def run(self, seconds: float) -> float:
        """Steps per second over `seconds`, paying for cyclic GC as a plain script would. (The window's worker
        holds the GC guard, so automatic collection is off; without `collect_due` this loop would run
        collection-free and flatter itself against the window, whose collections the GUI thread pays.)"""
        import torch

        from ..gui.gc_guard import collect_due
        from .machine_probe import steps_per_second

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return steps_per_second(lambda: (self.trainer.step(), collect_due()), seconds)
        finally:
            torch.set_num_threads(threads)


def jitter_note(dev: np.ndarray) -> str:
    if not len(dev):
        return "no intervals recorded"
    ms = dev * 1000
    return f"{len(dev)} intervals; median {np.median(ms):.2f} ms, max {ms.max():.1f} ms"


@group("gui")
def gui_rows(quick: bool) -> list[Row]:
    from ..gui.main_window import RENDER_HZ

    secs = 4.0 if quick else 10.0
    rows: list[Row] = []

    # 1 + 2: the heavy view while training as fast as it can; a 10 ms timer beside the render timer. The speed
    # is set to 100 steps/s (more than this view trains at), where the window draws at RENDER_HZ; at 'max speed'
    # it draws at FLAT_OUT_HZ by design (row 3).
    overrides = [(["view", "grid"], GRID), (["chains", "n"], CHAINS), (["view", "trails"], True)]
    with Window(overrides=overrides) as w:
        from ..gui.transport import SPEEDS

        w.win.transport.speed.setCurrentIndex([v for _, v in SPEEDS].index(100.0))
        w.play()
        spin(1.5)  # warm-up: first landscapes, plots filled
        jit = Jitter()
        s0, f0, t0 = w.step_count(), w.frames, time.perf_counter()
        jit.start()
        spin(secs)
        dev = jit.stop()
        dt = time.perf_counter() - t0
        fps, sps = (w.frames - f0) / dt, (w.step_count() - s0) / dt
        snap = w.win._shown_snapshot
        n_chains = 0 if snap.chains is None else len(snap.chains)
        land = w.win._shown_landscape
        land_shape = "x".join(str(len(a)) for a in land.axes) if land is not None else "-"
    rows.append(
        Row(
            "gui",
            f"window frames/s: {GRID}² heatmap, {CHAINS // 1000}k chains + trails, plots, training",
            fps,
            "frames/s",
            ">= 30",
            fps >= 30,
            float(RENDER_HZ),
            fps / RENDER_HZ,
            note=f"reference: the render timer's rate; {n_chains} chains drawn, heatmap {land_shape}, "
            f"worker at {sps:.0f} steps/s meanwhile (speed set to 100 steps/s)",
        )
    )
    p99 = float(np.percentile(dev, 99)) * 1000 if len(dev) else float("inf")
    rows.append(
        Row(
            "gui",
            "GUI 10 ms timer jitter p99 while training the heavy view",
            p99,
            "ms",
            "< 25",
            p99 < 25,
            note=jitter_note(dev),
        )
    )

    # 3: steps/s in the window (default preset, default view) against what `ebmlab run` does with it: a plain
    # trainer.step() loop in a fresh process, one torch thread. Interleaved in rounds (window playing, then the
    # fresh process, then the same loop inside this process, with the window paused) so that other load hits
    # all alike. The in-process loop shares the window's heap and collector: the gap between it and the fresh
    # process is the price of living in the GUI process, the rest is the price of drawing.
    from ..gui.main_window import default_preset_path
    from .machine_probe import MachineProbe

    rounds, chunk = (3, 2.0) if quick else (5, 3.0)
    ratios, win_rates, fresh_rates, bare_rates, fps_seen = [], [], [], [], []
    with Window() as w, MachineProbe(default_preset_path()) as fresh:
        exp = w.win.experiment
        bare = BareLoop(exp)
        for _ in range(rounds):
            w.play()
            spin(0.5)
            s0, f0, t0 = w.step_count(), w.frames, time.perf_counter()
            spin(chunk)
            dt = time.perf_counter() - t0
            win_rates.append((w.step_count() - s0) / dt)
            fps_seen.append((w.frames - f0) / dt)
            w.pause()
            fresh_rates.append(fresh.run(chunk))
            bare_rates.append(bare.run(chunk))
            ratios.append(win_rates[-1] / fresh_rates[-1])
    ratio = float(np.median(ratios))
    in_process = float(np.median([a / b for a, b in zip(win_rates, bare_rates)]))
    rows.append(
        Row(
            "gui",
            f"training steps/s in the window / `ebmlab run` ({exp.name.split(':')[0]})",
            ratio,
            "x",
            ">= 0.8",
            ratio >= 0.8,
            float(np.median(fresh_rates)),
            note=f"median of {rounds} interleaved rounds of {chunk:g} s: {np.median(win_rates):.0f} steps/s in the "
            f"window (drawing at {np.median(fps_seen):.0f} frames/s) vs {np.median(fresh_rates):.0f} steps/s of a "
            f"plain trainer.step() loop in a fresh process, one torch thread; round ratios "
            f"{', '.join(f'{r:.2f}' for r in ratios)}. The same loop inside the window's process: "
            f"{np.median(bare_rates):.0f} steps/s (window / in-process {in_process:.2f})",
        )
    )
    return rows
