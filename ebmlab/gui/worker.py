"""The training worker: a QObject living in a QThread that drives the experiment loop.

Only immutable snapshots cross threads. The GUI calls `send(command)` (thread-safe queue) and reads
`latest()` from a render timer; the worker never touches a widget and the GUI never touches a tensor.
Every published object carries the run id, so the window drops stale ones after a reset.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
import weakref
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.errors import ConfigError, EbmlabError
from ..core.loop import Pause, Play, Reconfigure, Reset, Session, Step
from ..core.partition.ais_session import AISControl, AISRunner, AISSpeed, AISUpdate, StartAIS
from ..core.snapshot import Landscape, Snapshot
from . import gc_guard

PLAYING_LANDSCAPE_PERIOD = 0.2  # s between heatmap refreshes while training (coarse grid): 5 Hz reads as live
LANDSCAPE_DUTY = 0.03  # while training, heatmaps take at most this share of the worker's time (welcome: 8.5 ms)
PAUSED_LANDSCAPE_GRID = 256
SLICE_SECONDS = 0.012  # training time between checks of the command queue
# Every frame's Python (point layers, trails, item paints) holds the GIL the worker needs between torch ops.
# Measured on 2 cores, interleaved: in-window / in-process bare steps/s 0.79-0.80 at 40 Hz, 0.85-0.88 at 33 Hz.
# Against a fresh process (`ebmlab bench --only gui`, what `ebmlab run` does) the window ran 0.67-0.85 per round,
# medians 0.73-0.80 (2026-12-04): about 6 ms of GUI-thread CPU per frame, spread over many items, is the cost.
RENDER_HZ = 33  # the window's render timer
# While training at max speed the window draws at FLAT_OUT_HZ: every frame holds the GIL for ~8 ms that the
# worker's Python then waits for. Measured on 2 cores (welcome): 33 Hz 80 steps/s, 20 Hz 90, 12 Hz 91.
FLAT_OUT_HZ = 20
PUBLISH_PERIOD = 1 / RENDER_HZ  # snapshots faster than the window renders only cost the worker


@dataclass(frozen=True)
class Load:
    """Replace the experiment: build a new Trainer (in the worker thread) or keep the old one on failure."""

    experiment: Any
    weights: dict | None = None
    resolve: Any = None


@dataclass(frozen=True)
class SetSpeed:
    """Steps per second; None = as fast as possible."""

    steps_per_second: float | None


@dataclass(frozen=True)
class Save:
    """Write the current experiment + weights to `path` (atomic); reports through `saved`/`failed`."""

    path: str
    experiment: Any


class TrainingWorker(QObject):
    failed = Signal(str)  # a command was refused or something raised; the run is unchanged and paused
    refused = Signal(list)  # the 'path: reason' lines of a refused change (ConfigError), for the settings panel
    loaded = Signal(int)  # a new run id is live (load/reset)
    saved = Signal(str)
    stopped = Signal()

    def __init__(self, make_trainer=None):
        super().__init__()
        from ..core.trainer import Trainer

        self._make = make_trainer or (lambda exp, weights, resolve, run_id: Trainer(exp, weights, resolve, run_id))
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._session: Session | None = None
        self._snapshot: Snapshot | None = None
        self._landscape: Landscape | None = None
        self._speed: float | None = None
        self._ais = None  # AISRunner while an AIS run is active
        self._ais_update = None
        self._ais_speed: float | None = 30.0
        self._ais_next = 0.0
        self._ais_token = 0
        self._next_step_at = 0.0
        self._next_run_id = 0
        self.steps_per_second = 0.0
        self.device = "cpu"
        self.native_thread_id: int | None = None  # the OS id of the thread running `run` (for the soak's meters)

    # ---------------------------------------------------------------- GUI thread API
    def send(self, cmd: Any) -> None:
        self._queue.put(cmd)

    def latest(self) -> tuple[Snapshot | None, Landscape | None]:
        with self._lock:
            return self._snapshot, self._landscape

    def latest_ais(self):
        with self._lock:
            return self._ais_update

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)

    # ---------------------------------------------------------------- worker thread
    @Slot()
    def run(self) -> None:
        from ..core.compute_thread import configure_compute_thread

        configure_compute_thread(1)
        self.native_thread_id = threading.get_native_id()
        last_pub = last_land = 0.0
        land_step: tuple = ()
        land_cost = 0.0  # seconds the last heatmap took
        rate_t0, rate_steps = time.perf_counter(), 0
        while not self._stop.is_set():
            s = self._session
            now = time.perf_counter()
            if self._ais is not None:
                wait = self._ais_wait(now)
            elif s is not None and s.wants_step:
                wait = max(0.0, self._next_step_at - now) if self._speed else 0.0
            else:
                wait = 0.03
            try:
                cmd = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                cmd = None
            if cmd is not None:
                self._handle(cmd)
                continue  # drain all pending commands before stepping
            if self._ais is not None:
                self._step_ais()
                continue
            s = self._session
            if s is None:
                continue
            stepped = 0
            try:
                t_end = time.perf_counter() + SLICE_SECONDS
                if self._speed:
                    if s.wants_step and time.perf_counter() >= self._next_step_at:
                        s.advance()
                        stepped = 1
                        self._next_step_at = time.perf_counter() + 1.0 / self._speed
                else:
                    while s.wants_step and time.perf_counter() < t_end and self._queue.empty():
                        s.advance()
                        stepped += 1
            except Exception as e:  # the trainer catches step failures; this is a last line of defence
                s.apply(Pause())
                self.failed.emit(f"step {s.trainer.step_count + 1}: unexpected {type(e).__name__}: {e}")
                traceback.print_exc()
            now = time.perf_counter()
            rate_steps += stepped
            if now - rate_t0 > 0.5:
                self.steps_per_second = rate_steps / (now - rate_t0)
                rate_t0, rate_steps = now, 0
            shown = self._snapshot
            behind = shown is None or (shown.step, shown.run_id, shown.status, shown.message) != (
                s.trainer.step_count,
                s.run_id,
                s.status(),
                s.trainer.message,
            )
            period = PUBLISH_PERIOD if self._speed else 1.0 / FLAT_OUT_HZ
            if (stepped and now - last_pub >= period) or (not stepped and behind):
                # idle: publish only what the window has not seen (a paused window then draws nothing new)
                snap = s.snapshot()
                with self._lock:
                    self._snapshot = snap
                last_pub = now
            step = (s.run_id, s.trainer.step_count, id(s.trainer.exp))  # a load, reset or live change redraws
            playing = s.wants_step
            stale = step != land_step
            period = max(PLAYING_LANDSCAPE_PERIOD, land_cost / LANDSCAPE_DUTY)  # a 256² MLP grid is ~50 ms
            if stale and ((playing and now - last_land > period) or not playing):
                grid = s.trainer.exp.view.grid if playing else PAUSED_LANDSCAPE_GRID
                try:
                    land = s.trainer.landscape(grid)
                    land_cost = time.perf_counter() - now if playing else 0.0
                    with self._lock:
                        self._landscape = land
                except EbmlabError as e:
                    self.failed.emit(str(e))
                except Exception as e:
                    self.failed.emit(f"drawing the landscape failed: {type(e).__name__}: {e}")
                land_step = step if not playing else ()  # full resolution again once paused
                last_land = now
        self.stopped.emit()

    # ---------------------------------------------------------------- AIS mode
    def _ais_wait(self, now: float) -> float:
        a = self._ais
        if not (a.playing or a.pending_steps):
            return 0.03
        return max(0.0, self._ais_next - now) if (self._ais_speed and a.playing) else 0.0

    def _step_ais(self) -> None:
        a = self._ais
        now = time.perf_counter()
        if not (a.playing or a.pending_steps) or (a.playing and self._ais_speed and now < self._ais_next):
            return
        try:
            upd = a.advance()
        except Exception as e:  # a failed AIS run never takes the window down
            last = a.last
            a.close()
            self._ais = None
            msg = str(e) if isinstance(e, EbmlabError) else f"AIS failed: {type(e).__name__}: {e}"
            if last is not None:
                with self._lock:
                    self._ais_update = AISUpdate(
                        last.token, "error", last.frame, last.background, last.history, message=msg
                    )
            self.failed.emit(msg)
            return
        if a.pending_steps:
            a.pending_steps -= 1
        self._ais_next = now + (1.0 / self._ais_speed if self._ais_speed else 0.0)
        if upd is not None:
            if not a.playing and upd.status == "running":
                from dataclasses import replace

                upd = replace(upd, status="paused")
            with self._lock:
                self._ais_update = upd
        if a.finished:
            self._ais = None

    def _handle_ais(self, cmd: Any) -> None:
        from dataclasses import replace

        if isinstance(cmd, StartAIS):
            if self._ais is not None:
                self._ais.close()
                self._ais = None
            s = self._session
            if s is None:
                return
            s.apply(Pause())
            self._ais_token += 1
            self._ais = AISRunner(s.trainer.energy, cmd, self._ais_token, s.trainer.exp.view.grid)
            self._ais_next = 0.0
        elif isinstance(cmd, AISSpeed):
            self._ais_speed = cmd.frames_per_second
        elif isinstance(cmd, AISControl) and self._ais is not None:
            a = self._ais
            if cmd.action == "play":
                a.playing = True
            elif cmd.action == "pause":
                a.playing = False
            elif cmd.action == "step":
                a.playing = False
                a.pending_steps += 1
            elif cmd.action == "stop":
                a.close()
                self._ais = None
                with self._lock:
                    if self._ais_update is not None:
                        self._ais_update = replace(self._ais_update, status="stopped")
            if self._ais is not None and self._ais_update is not None and cmd.action == "pause":
                with self._lock:
                    self._ais_update = replace(self._ais_update, status="paused")

    def _new_run_id(self) -> int:
        self._next_run_id += 1
        return self._next_run_id

    def _handle(self, cmd: Any) -> None:
        s = self._session
        try:
            if isinstance(cmd, Load):
                trainer = self._make(cmd.experiment, cmd.weights, cmd.resolve, self._new_run_id())
                resolve = cmd.resolve

                def make(exp, weights, run_id, _resolve=resolve):
                    return self._make(exp, weights, _resolve, self._new_run_id())

                self._session = Session(trainer, make)
                self._session.weights = cmd.weights
                self.device = str(trainer.device)
                self._publish_now()
                self.loaded.emit(trainer.run_id)
            elif isinstance(cmd, (StartAIS, AISControl, AISSpeed)):
                self._handle_ais(cmd)
            elif s is None:
                return
            elif isinstance(cmd, SetSpeed):
                self._speed = cmd.steps_per_second
            elif isinstance(cmd, Save):
                from ..config.presets import save_preset

                save_preset(cmd.experiment, cmd.path, weights=s.trainer.weights())
                self.saved.emit(cmd.path)
            elif isinstance(cmd, (Play, Pause, Step, Reset, Reconfigure)):
                old_id = s.run_id
                s.apply(cmd)
                self._publish_now()
                if s.run_id != old_id:
                    self.device = str(s.trainer.device)
                    self.loaded.emit(s.run_id)
        except EbmlabError as e:
            if s is not None:
                s.apply(Pause())
            if isinstance(e, ConfigError):
                self.refused.emit(list(e.problems))
            self.failed.emit(str(e).replace("\n", "; "))
        except Exception as e:
            if s is not None:
                s.apply(Pause())
            self.failed.emit(f"unexpected {type(e).__name__}: {e}")
            traceback.print_exc()

    def _publish_now(self) -> None:
        s = self._session
        if s is None:
            return
        snap = s.snapshot()
        with self._lock:
            self._snapshot = snap
            if self._landscape is not None and self._landscape.run_id != snap.run_id:
                self._landscape = None


_THREADS: weakref.WeakSet = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Every QThread started by ebmlab that is still running (tests assert this is empty)."""
    out = []
    for t in list(_THREADS):
        try:
            if t.isRunning():
                out.append(t)
        except RuntimeError:  # the C++ object is gone
            pass
    return out


class WorkerThread:
    """Owns a QThread and a TrainingWorker moved into it; `shutdown()` stops and joins cleanly."""

    def __init__(self, make_trainer=None):
        self.thread = QThread()
        _THREADS.add(self.thread)
        self.thread.setObjectName("ebmlab-worker")
        self.worker = TrainingWorker(make_trainer)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.stopped.connect(self.thread.quit)
        self._gc_held = False

    def start(self) -> None:
        if not self._gc_held:
            gc_guard.acquire()  # cyclic GC only in the GUI thread while the worker lives (see gc_guard)
            self._gc_held = True
        self.thread.start()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop and join the worker; True once it has stopped (automatic GC is then handed back)."""
        if self.thread.isRunning():
            self.worker.stop()
            self.thread.quit()
            if not self.thread.wait(timeout_ms):
                return False
        if self._gc_held:
            self._gc_held = False
            gc_guard.release()
        return True
