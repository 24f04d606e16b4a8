"""The laboratory window: composes the views, panels and transport around one worker thread.

State lives in two places only: the worker's Trainer (torch) and `self.experiment` here (the frozen
settings the panels edit). Every snapshot carries the experiment its run uses, so after a refused
change the panels fall back to the truth.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..config.presets import LoadedPreset, bundled_presets, load_preset
from ..config.schema import Experiment, with_overrides
from ..core.errors import ConfigError, EbmlabError
from ..core.loop import Pause, Play, Reconfigure, Reset, Step
from . import gc_guard
from .app_settings import app_settings
from .panels import NotesPanel, SettingsPanel
from .screen_fit import fill_screen, keep_frame_on_screen, place_window, remember_rect
from .transport import TransportBar
from .views import LandscapeView, MetricsPlots, StateView
from .views.center_split import CenterSplit
from .worker import FLAT_OUT_HZ, RENDER_HZ, Load, Save, SetSpeed, WorkerThread

# s between metrics-plot updates while training: each update re-ticks the plots' axes in the GUI thread, which
# holds the GIL meanwhile (measured with the welcome lesson, window / headless steps/s: 1 s 0.73-0.77, 2 s 0.82)
PLOTS_PERIOD = 1.5
MAX_RECENT = 8
STATUS_PERIOD = 0.25  # s between status-bar text updates
PRESENTER_FONT = 1.5  # presenter mode: the window's own widgets (bar, tabs, status) at 1.5x the base font
SETTINGS_MIN_W, NOTES_MIN_W = 280, 200  # with the centre's minimum, the window fits a 1280x720 screen


def available_devices() -> list[str]:
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


class MainWindow(QMainWindow):
    def __init__(self, preset: str | Path | None = None):
        super().__init__()
        self.setWindowTitle("ebmlab")
        self.settings = app_settings()
        self._base_font = QFont(QApplication.font())
        self._normal_rect = None  # the geometry to come back to from full screen / presenter mode
        self._was_full = False
        self.experiment: Experiment | None = None
        self.preset_path: Path | None = None
        self.run_id = -1
        self._shown_snapshot = None
        self._shown_landscape = None
        self._frames = 0
        self._plots_t = 0.0
        self._status_snap, self._status_t = None, 0.0
        self._fps = 0.0
        self._fps_t0 = time.perf_counter()
        self._closing = False
        self._awaiting: Experiment | None = None  # a change sent to the worker, not yet live
        self._refused: list[str] | None = None  # problems of a change the worker refused, to mark in the panel

        self.worker_thread = WorkerThread()
        self.worker = self.worker_thread.worker
        self._build_ui()
        self._build_menus()
        self.worker.failed.connect(self._on_failed)
        self.worker.refused.connect(self._on_refused)
        self.worker.loaded.connect(self._on_loaded)
        self.worker.saved.connect(self._on_saved)  # a method, not a lambda: queued into the GUI thread
        self.worker_thread.start()

        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / RENDER_HZ))
        self.timer.timeout.connect(self.render)
        self.timer.start()
        from .painting import PaintController

        self.painter = PaintController(self)  # paint data on 2-D landscapes (transport group, Ctrl+Z / Ctrl+Y)
        place_window(self, self.settings)
        self.open_preset(preset or default_preset_path())

    def presenter_on(self) -> bool:
        from .views import theme

        return theme.presenter()

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.transport = TransportBar()
        self.settings_panel = SettingsPanel()
        self.settings_panel.set_devices(available_devices())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.settings_panel)
        scroll.setMinimumWidth(SETTINGS_MIN_W)
        self.settings_scroll = scroll

        self.landscape = LandscapeView()
        self.states = StateView()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.landscape)
        self.stack.addWidget(self.states)
        self.plots = MetricsPlots()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#7a1f1f;color:white;padding:6px;font-weight:bold;")
        self.banner.hide()
        self.banner.mousePressEvent = lambda e: self.banner.hide()

        self.center = CenterSplit(self.stack, self.plots)
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.banner)
        cl.addWidget(self.center, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(center, "Training")
        self.ais_tab = self._make_ais_tab()
        if self.ais_tab is not None:
            self.tabs.addTab(self.ais_tab, "AIS")

        self.notes = NotesPanel()
        self.notes.setMinimumWidth(NOTES_MIN_W)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(self.tabs)
        main.addWidget(self.notes)
        main.setChildrenCollapsible(False)
        main.setSizes([330, 900, 280])
        main.setStretchFactor(1, 1)
        self.main_splitter = main

        root = QWidget()
        lay = QVBoxLayout(root)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.transport)
        lay.addWidget(main, 1)
        self.setCentralWidget(root)

        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)

        self.transport.playToggled.connect(lambda on: self.worker.send(Play() if on else Pause()))
        self.transport.stepClicked.connect(lambda: self.worker.send(Step(1)))
        self.transport.resetClicked.connect(lambda: self.worker.send(Reset()))
        self.transport.speedChanged.connect(lambda v: self.worker.send(SetSpeed(v)))
        self.transport.viewChanged.connect(self._on_view_changed)
        self.settings_panel.changeRequested.connect(self.request_change)

    def _make_ais_tab(self) -> QWidget | None:
        try:
            from .views.ais_view import AISPanel
        except ImportError:
            return None
        return AISPanel(self)

    def _build_menus(self) -> None:
        from .menus import build_menus

        build_menus(self)

    # ------------------------------------------------------------------ presets
    def open_preset(self, path: str | Path) -> bool:
        """Load a preset; on any problem show it and keep the current experiment."""
        try:
            loaded: LoadedPreset = load_preset(path)
        except EbmlabError as e:
            self.show_error(f"could not open {Path(path).name}: {e}")
            return False
        self.preset_path = loaded.path
        self._awaiting = None
        if hasattr(self, "painter"):
            self.painter.forget()  # paint mode and its undo history belong to the experiment being left
        if self.ais_tab is not None and hasattr(self.ais_tab, "forget"):
            self.ais_tab.forget()  # an AIS result is of the model being left
        self.worker.send(Load(loaded.experiment, loaded.weights, loaded.resolve))
        self._remember_recent(loaded.path)
        return True

    def open_dialog(self) -> None:
        start = str(self.preset_path.parent) if self.preset_path else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self, "Open preset", start, "ebmlab presets (*.json)")
        if path:
            self.open_preset(path)

    def save(self) -> None:
        if self.preset_path is None or self.preset_path.parent.resolve() == bundled_dir():
            self.save_as()
            return
        self.save_to(self.preset_path)

    def save_as(self) -> None:
        start = str(Path.cwd() / "experiment.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save preset", start, "ebmlab presets (*.json)")
        if path:
            if not path.endswith(".json"):
                path += ".json"
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        if self.experiment is None:
            return
        self.worker.send(Save(str(path), self.experiment))  # the path is adopted once the save succeeded

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _remember_recent(self, path: Path) -> None:
        if path.parent.resolve() == bundled_dir():
            return
        items = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent", items[:MAX_RECENT])
        if hasattr(self, "recent_menu"):
            self.refresh_recent_menu()

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            act = QAction(p, self)
            act.triggered.connect(lambda _=False, p=p: self.open_preset(p))
            self.recent_menu.addAction(act)
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # ------------------------------------------------------------------ changes
    def request_change(self, overrides: list) -> None:
        """Validate a change from the panels; apply it live or mark the fields with the reason."""
        if self.experiment is None:
            return
        try:
            new = with_overrides(self.experiment, overrides)
        except ConfigError as e:
            self.settings_panel.show_problems(e.problems)
            return
        except EbmlabError as e:
            self.settings_panel.show_problems([str(e)])
            return
        self.settings_panel.clear_problems()
        if new.view.plots != self.experiment.view.plots:
            self.plots.set_plots(new.view.plots)  # a view choice shows at once (the run itself is unchanged)
        self.experiment = new
        self._awaiting = new
        self.worker.send(Reconfigure(new))

    def _on_view_changed(self, options: dict) -> None:
        changes = [(["view", k], v) for k, v in options.items()]
        self.request_change(changes)
        self.landscape.set_options(**options)

    def _on_loaded(self, run_id: int) -> None:
        self.run_id = run_id
        self.landscape.clear()
        self.plots.clear()
        self.banner.hide()

    def _on_saved(self, path: str) -> None:
        self.preset_path = Path(path)
        self._remember_recent(Path(path))
        self.statusBar().showMessage(f"saved {path}", 5000)

    def _on_failed(self, message: str) -> None:
        self._awaiting = None  # the worker kept its experiment: show it again now (a paused run sends no new snapshot)
        snap = self.worker.latest()[0] or self._shown_snapshot
        if snap is not None and snap.experiment is not None and snap.experiment is not self.experiment:
            self._adopt_experiment(snap.experiment)
        self.show_error(message)

    def _on_refused(self, problems: list) -> None:
        """A change the worker could not build (e.g. an energy that overflows): mark the fields that caused it.
        The panel shows the running experiment again first, so the marks sit on the values that were refused
        only until the next edit."""
        self._refused = list(problems)  # shown once the worker's experiment is back (see _adopt_experiment)
        self.settings_panel.show_problems(problems)

    def show_error(self, message: str) -> None:
        self.banner.setText(message + "   (click to dismiss)")
        self.banner.show()
        self.statusBar().showMessage(message, 15000)
        self.transport.set_playing(False)

    # ------------------------------------------------------------------ rendering
    def render(self) -> None:
        snap, land = self.worker.latest()
        if snap is not None and snap.run_id == self.run_id and snap is not self._shown_snapshot:
            if self._shown_snapshot is None and not gc_guard.gc.get_freeze_count():
                gc_guard.freeze_long_lived()  # the window and the first run are built: keep them out of GC scans
            self._shown_snapshot = snap
            if snap.experiment is not None and snap.experiment is not self.experiment:
                if self._awaiting is None:
                    self._adopt_experiment(snap.experiment)  # a load, a reset, or a refused change
            if snap.experiment is self._awaiting:
                self._awaiting = None
            binary = land is not None and land.kind == "states"
            if binary:
                self.states.set_snapshot(snap)
            else:
                self.landscape.set_snapshot(snap)
            now = time.perf_counter()
            if snap.status != "running" or now - self._plots_t >= PLOTS_PERIOD:
                self.plots.set_snapshot(snap)  # six linked plots re-tick every axis: a few Hz is plenty
                self.settings_panel.set_learned(snap.params)
                self._plots_t = now
            self.transport.set_playing(snap.status == "running")
            self._pace_frames(snap.status == "running")
            if snap.status == "error" and snap.message and not self.banner.isVisible():
                self.show_error(snap.message)
        if land is not None and land.run_id == self.run_id and land is not self._shown_landscape:
            self._shown_landscape = land
            if land.kind == "states":
                self.stack.setCurrentWidget(self.states)
                self.states.set_landscape(land)
            else:
                self.stack.setCurrentWidget(self.landscape)
                self.landscape.set_landscape(land)
        self._frames += 1
        now = time.perf_counter()
        if now - self._fps_t0 >= 1.0:
            self._fps = self._frames / (now - self._fps_t0)
            self._frames, self._fps_t0 = 0, now
        self._update_status(snap)

    def _pace_frames(self, running: bool) -> None:
        """Draw at FLAT_OUT_HZ while training at max speed (frames cost the worker steps), else RENDER_HZ."""
        flat_out = running and self.transport.steps_per_second() is None
        interval = int(1000 / (FLAT_OUT_HZ if flat_out else RENDER_HZ))
        if self.timer.interval() != interval:
            self.timer.setInterval(interval)

    def _adopt_experiment(self, exp: Experiment) -> None:
        changed_structure = self.experiment is None or exp.model != self.experiment.model
        self.experiment = exp
        if self._refused is not None:
            # the worker refused the edit and runs on: the panel keeps what the user typed, marked with why
            self.settings_panel.show_problems(self._refused)
            self._refused = None
        else:
            self.settings_panel.set_experiment(exp)
        if changed_structure or self.notes_experiment_name != exp.name:
            self.notes.set_experiment(exp)
            self.notes_experiment_name = exp.name
        v = exp.view
        self.plots.set_plots(v.plots)
        self.plots.set_binary(exp.model.kind in ("boltzmann", "rbm"))
        self.transport.set_view(v.show, v.contours, v.trails, v.arrows)
        self.landscape.set_options(show=v.show, contours=v.contours, trails=v.trails, arrows=v.arrows)
        name = exp.name or "untitled"
        self.setWindowTitle(f"ebmlab — {name}")

    notes_experiment_name = None

    def _update_status(self, snap) -> None:
        now = time.perf_counter()
        if snap is not None and snap is self._status_snap and now - self._status_t < STATUS_PERIOD:
            return  # a new text re-lays out the status bar: a few times a second is plenty
        self._status_snap, self._status_t = snap, now
        if snap is None:
            self.status_label.setText("loading…")
            return
        text = (
            f"step {snap.step}  ·  {self.worker.steps_per_second:,.0f} steps/s  ·  "
            f"{self._fps:.0f} frames/s  ·  {self.worker.device}  ·  {snap.status}"
        )
        self.status_label.setText(text)

    # ------------------------------------------------------------------ view
    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self._leave_full_screen()
        else:
            self._enter_full_screen()

    def _enter_full_screen(self) -> None:
        if not self.isFullScreen():
            self._normal_rect = self.geometry()
        fill_screen(self)

    def _leave_full_screen(self) -> None:
        self.showNormal()
        if self._normal_rect is not None:
            self.setGeometry(self._normal_rect)

    def toggle_settings(self) -> None:
        self.settings_scroll.setVisible(not self.settings_scroll.isVisible())

    def toggle_presenter(self) -> None:
        """Presenter mode: full screen, large fonts and markers, settings and menu bar hidden (their keys still
        work), notes visible. Leaving it restores the fonts, the panels and the window's geometry."""
        from .views import theme

        on = not theme.presenter()
        theme.set_presenter(on)
        for w in (self.landscape, self.states, self.plots, self.settings_panel, self.notes, self.ais_tab):
            if w is not None and hasattr(w, "set_presenter"):
                w.set_presenter(on)
        font = QFont(self._base_font)
        if self._base_font.pointSizeF() > 0:
            font.setPointSizeF(self._base_font.pointSizeF() * (PRESENTER_FONT if on else 1.0))
        self.transport.set_bar_font(font)
        for w in (self.menuBar(), self.statusBar(), self.tabs.tabBar(), self.banner, self.status_label):
            w.setFont(font)
        self.settings_scroll.setVisible(not on)
        self.menuBar().setVisible(not on)
        self.notes.setVisible(True)
        if on:
            self._was_full = self.isFullScreen()
            self._enter_full_screen()
        elif not self._was_full:
            self._leave_full_screen()
        self.center.rearrange()
        self.statusBar().showMessage("P leaves · H keys" if on else "", 8000)

    def show_help(self) -> None:
        from .help_overlay import HelpOverlay

        HelpOverlay.show_over(self)

    def export_menu_actions(self) -> list[QAction]:
        """File menu: pictures, animations and metrics (ebmlab/gui/export.py)."""
        from .export import Exporter

        self.exporter = Exporter(self)
        return self.exporter.actions()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if not self._placed_frame:
            self._placed_frame = True
            QTimer.singleShot(0, self, lambda: keep_frame_on_screen(self))  # the window is the timer's context

    _placed_frame = False

    # ------------------------------------------------------------------ shutdown
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._closing = True
        self.timer.stop()
        normal = self._normal_rect if (self.isFullScreen() and self._normal_rect is not None) else self.geometry()
        remember_rect(self.settings, normal)
        if getattr(self, "exporter", None) is not None:
            self.exporter.shutdown()  # finish the recording and join its encoder thread
        if self.ais_tab is not None and hasattr(self.ais_tab, "shutdown"):
            self.ais_tab.shutdown()
        self.worker_thread.shutdown()
        super().closeEvent(event)


def bundled_dir() -> Path:
    from ..config.presets import BUNDLED_DIR

    return BUNDLED_DIR.resolve()


def default_preset_path() -> Path:
    items = bundled_presets()
    for p, _, _ in items:
        if p.stem.startswith("00_") or p.stem == "welcome":
            return p
    if not items:
        raise EbmlabError("no bundled presets found")
    return items[0][0]
