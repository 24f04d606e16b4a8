"""Paint training data on the landscape (2-D continuous models only).

Click and drag on the heatmap: every mouse event of a stroke scatters `density` points uniformly in a disc of
`radius` (data units) around the cursor; with Shift held the stroke erases the points within the radius
instead. One stroke (press ... release) is one undo step. After every stroke, undo, redo or clear the painted
set is applied live as data kind 'points' (`window.request_change`): training goes on from the current model,
nothing is reset, and saving the preset stores the points inside it.

Where painting starts: from the experiment's own points when the data kind is already 'points'; otherwise
from the data drawn on screen (the snapshot's training subset: holdout excluded, at most 2000 points; a status
message says so), else empty. The first stroke then replaces the training data by that set plus the stroke.
When a new run starts (a preset is loaded, Reset) or someone else changes the data (the settings panel picks
other data), painting starts again from the run's data and the undo history is dropped (after Reset that is
the painted set itself).

The painted set is numpy only (no torch); coordinates are rounded to 6 decimals so that what is drawn, what
the experiment holds and what a saved preset holds are the same numbers.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QToolButton, QWidget

from .views import theme
from .views.items import PointsItem

MAX_POINTS = 20_000  # the painted set is capped: it travels in every Reconfigure and in the preset
MIN_POINTS = 2  # fewer cannot be trained on: the previous data stays until the set is large enough
MAX_UNDO = 100
DECIMALS = 6
DISABLED_WHY = {
    None: "Painting needs the model's landscape: wait for it to load",
    "curve": "Painting works on 2-D models only: this model is 1-D",
    "slice": "Painting works on 2-D models only: this model is 3-D (the view is a slice)",
    "states": "Painting works on continuous 2-D models only: this model is binary (its data are patterns)",
}
PAINT_TIP = (
    "Paint data on the landscape (2-D models): click and drag to add points, Shift+drag to erase.\n"
    "Each stroke is applied live as data kind 'points' (no reset) and saved with the preset."
)


def _why(kind: str | None) -> str | None:
    """Why painting is off for a landscape kind ('image' is 2-D: no reason)."""
    return None if kind == "image" else DISABLED_WHY.get(kind, DISABLED_WHY[None])


def _empty() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.float64)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


class PaintController(QObject):
    """The painted point set, brush, undo/redo history and mouse handling of one window.

    Stroke API (data coordinates, used by the mouse and by tests): `press(x, y, erase)`, `drag(x, y, erase)`,
    `release()`; `hover(x, y)` moves the brush outline. `undo()`, `redo()`, `clear()` edit the set as a whole.
    All of them act only while paint mode is on (`set_active(True)`).
    `points` is the current set (n, 2), read-only.
    """

    changed = Signal()  # the painted set changed (drawn already)

    def __init__(self, window, seed: int = 0):
        super().__init__(window)
        self.window = window
        self.view = window.landscape
        self.rng = np.random.default_rng(seed)
        self._radius = 0.25
        self._density = 8
        self.points: np.ndarray = _frozen(_empty())
        self.active = False  # paint mode on
        self._started = False  # the set was initialised from the current data
        self._undo: deque[np.ndarray] = deque(maxlen=MAX_UNDO)
        self._redo: list[np.ndarray] = []
        self._before: np.ndarray | None = None  # the set when the open stroke began
        self._capped = False  # the open stroke hit MAX_POINTS
        self._sent = None  # the data section this controller last applied (or started from)
        self._seen_exp = None
        self._why: str | None = DISABLED_WHY[None]
        self._data_layer = True
        self._build_items()
        self._build_widgets()
        self._build_actions()
        self._new_run: int | None = None  # a run loaded or reset: painting restarts from its data
        self._set_supported(None)
        window.worker.loaded.connect(self._on_new_run)
        window.timer.timeout.connect(self.sync)  # follow the shown landscape (enable, disable, new data)

    # ------------------------------------------------------------------ construction
    def _build_items(self) -> None:
        self.overlay = PointsItem([theme.color("data", 235)], theme.marker(3.0))
        self.overlay.setZValue(20)
        self.brush = pg.PlotCurveItem(pen=pg.mkPen(theme.color("exact", 230), width=1.5 * theme.scale()))
        self.brush.setZValue(30)
        for it in (self.overlay, self.brush):
            it.setVisible(False)
            self.view.map.addItem(it)

    def _build_widgets(self) -> None:
        self.bar = QWidget()
        lay = QHBoxLayout(self.bar)
        lay.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton("✎ Paint")
        self.button.setCheckable(True)
        self.radius_box = QDoubleSpinBox()
        self.radius_box.setRange(0.01, 10.0)
        self.radius_box.setSingleStep(0.05)
        self.radius_box.setDecimals(2)
        self.radius_box.setValue(self._radius)
        self.radius_box.setToolTip("Brush radius (data units)")
        self.density_box = QSpinBox()
        self.density_box.setRange(1, 500)
        self.density_box.setValue(self._density)
        self.density_box.setToolTip("Points added per mouse event of a stroke")
        self.undo_button, self.redo_button, self.clear_button = QToolButton(), QToolButton(), QToolButton()
        self.tools = QWidget()  # the brush and the history: shown only while painting (the bar stays short)
        tools = QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("radius"), self.radius_box, QLabel("density"), self.density_box):
            tools.addWidget(w)
        for w in (self.undo_button, self.redo_button, self.clear_button):
            tools.addWidget(w)
        self.tools.hide()
        lay.addWidget(self.button)
        lay.addWidget(self.tools)
        self.button.toggled.connect(self.set_active)
        self.radius_box.valueChanged.connect(lambda v: setattr(self, "radius", v))
        self.density_box.valueChanged.connect(lambda v: setattr(self, "density", v))
        self.window.transport.add_group(self.bar)

    def _build_actions(self) -> None:
        def action(text: str, slot, keys: tuple[str, ...], tip: str) -> QAction:
            act = QAction(text, self.window)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setToolTip(f"{tip} ({' / '.join(keys)})" if keys else tip)
            act.triggered.connect(slot)
            self.window.addAction(act)  # shortcuts work anywhere in the window
            return act

        self.undo_action = action("Undo", self.undo, ("Ctrl+Z",), "Undo the last paint stroke")
        self.redo_action = action("Redo", self.redo, ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the undone paint stroke")
        self.clear_action = action("Clear", self.clear, (), "Remove every painted point (undoable)")
        self.undo_button.setDefaultAction(self.undo_action)
        self.redo_button.setDefaultAction(self.redo_action)
        self.clear_button.setDefaultAction(self.clear_action)
        self._refresh_actions()

    # ------------------------------------------------------------------ mode
    @property
    def supported(self) -> bool:
        return self._why is None

    def why_disabled(self) -> str | None:
        """None when painting is possible, else the reason (also the paint button's tooltip)."""
        return self._why

    def sync(self) -> None:
        """Follow the window: enable painting for 2-D landscapes only; restart from new data when it changed."""
        land = self.window._shown_landscape
        kind = None if land is None else land.kind
        if _why(kind) != self._why:
            self._set_supported(kind)
        exp, snap = self.window.experiment, self.window._shown_snapshot
        restart = False
        if self._new_run is not None and snap is not None and snap.run_id == self._new_run:
            self._new_run, restart = None, True
        if exp is not self._seen_exp and snap is not None and snap.experiment is exp:
            # someone else changed the data: restart once the screen shows it, not from the old run's points
            self._seen_exp = exp
            restart = restart or not self._is_ours(exp)
        if restart and self._started and self._before is None:
            self._started = False
            self._undo.clear()
            self._redo.clear()
            if self.active:
                self._start()
            else:
                self._refresh_actions()

    def _on_new_run(self, run_id: int) -> None:
        self._new_run = run_id

    def forget(self) -> None:
        """A lesson or file is being opened: paint mode ends and the undo history is dropped (it belongs to the
        data of the experiment being left, and Ctrl+Z must never bring those points into another lesson)."""
        self.set_active(False)
        self._undo.clear()
        self._redo.clear()
        self._before = None
        self._started = False
        self._sent = None
        self.points = _frozen(_empty())
        self._draw()
        self._refresh_actions()

    def _set_supported(self, kind: str | None) -> None:
        self._why = _why(kind)
        self.button.setEnabled(self._why is None)
        self.button.setToolTip(PAINT_TIP if self._why is None else self._why)
        for w in (self.radius_box, self.density_box):
            w.setEnabled(self._why is None)
        if self._why is not None and self.active:
            self.set_active(False)
        self._refresh_actions()

    def set_active(self, on: bool) -> None:
        """Paint mode on/off. On: the left mouse button paints (pan with it is off; the wheel still zooms)."""
        on = bool(on) and self.supported
        if self.button.isChecked() != on:
            self.button.blockSignals(True)
            self.button.setChecked(on)
            self.button.blockSignals(False)
        if on == self.active:
            return
        self.active = on
        if on:
            if not self._started or not self._is_ours(self.window.experiment):
                self._start()
            self._data_layer = bool(getattr(self.view, "_layers", {}).get("data", True))
            self.view.set_options(layers={"data": False})  # the painted set stands in for the data
            self.view.set_mouse_handler(self._on_mouse)
            self._draw()
        else:
            self._before = None
            self.view.set_mouse_handler(None)
            self.view.set_options(layers={"data": self._data_layer})
        self.overlay.setVisible(on)
        self.brush.setVisible(False)
        self.tools.setVisible(on)
        self._refresh_actions()

    @property
    def radius(self) -> float:
        """Brush radius in data units (the spin box follows)."""
        return self._radius

    @radius.setter
    def radius(self, v: float) -> None:
        self._radius = float(v)
        if abs(self.radius_box.value() - self._radius) > 1e-12:
            self.radius_box.blockSignals(True)
            self.radius_box.setValue(self._radius)
            self.radius_box.blockSignals(False)
        x = self.brush.xData
        if self.brush.isVisible() and x is not None and len(x):
            self.hover(float(np.mean(x[:-1])), float(np.mean(self.brush.yData[:-1])))

    @property
    def density(self) -> int:
        """Points scattered per mouse event of a stroke (the spin box follows)."""
        return self._density

    @density.setter
    def density(self, v: int) -> None:
        self._density = int(v)
        if self.density_box.value() != self._density:
            self.density_box.blockSignals(True)
            self.density_box.setValue(self._density)
            self.density_box.blockSignals(False)

    # ------------------------------------------------------------------ start
    def _is_ours(self, exp) -> bool:
        return exp is not None and self._sent is not None and (exp.data is self._sent or exp.data == self._sent)

    def _start(self) -> None:
        """The painted set from the current data (see the module docstring); clears the history."""
        exp, snap = self.window.experiment, self.window._shown_snapshot
        pts, note = _empty(), "painting starts empty"
        if exp is not None and exp.data.kind == "points" and exp.data.settings.points:
            arr = np.asarray(exp.data.settings.points, dtype=np.float64)
            if arr.ndim == 2 and arr.shape[1] == 2:
                pts, note = arr, f"painting starts from the {len(arr):,} points of the data"
        elif snap is not None and snap.data is not None and snap.data.ndim == 2 and snap.data.shape[1] == 2:
            pts = np.asarray(snap.data, dtype=np.float64)
            note = (
                f"painting starts from the {len(pts):,} data points on screen (a subset of the training data: "
                "holdout excluded, at most 2,000); the first stroke replaces the training data with them"
            )
        pts = pts[np.isfinite(pts).all(axis=1)][:MAX_POINTS]
        self.points = _frozen(np.round(pts, DECIMALS))
        self._undo.clear()
        self._redo.clear()
        self._before = None
        self._sent = None if exp is None else exp.data
        self._started = True
        self._message(note)
        self._draw()

    # ------------------------------------------------------------------ strokes
    def press(self, x: float, y: float, erase: bool = False) -> None:
        """Begin a stroke (one undo step) with a first dab at (x, y)."""
        if not self.active:
            return
        self._before = self.points
        self._capped = False
        self._dab(x, y, erase)

    def drag(self, x: float, y: float, erase: bool = False) -> None:
        """One more dab of the open stroke."""
        self.hover(x, y)
        if self.active and self._before is not None:
            self._dab(x, y, erase)

    def release(self) -> None:
        """Close the stroke: record it for undo and apply the set live (when it changed)."""
        before, self._before = self._before, None
        if before is None or np.array_equal(before, self.points):
            return
        self._undo.append(before)
        self._redo.clear()
        self._refresh_actions()
        self.apply()

    def hover(self, x: float, y: float) -> None:
        """Move the brush outline to (x, y)."""
        t = np.linspace(0.0, 2 * np.pi, 65)
        self.brush.setData(x + self.radius * np.cos(t), y + self.radius * np.sin(t))
        self.brush.setVisible(self.active)

    def _dab(self, x: float, y: float, erase: bool) -> None:
        self.hover(x, y)
        if erase:
            d2 = (self.points[:, 0] - x) ** 2 + (self.points[:, 1] - y) ** 2
            keep = d2 > self.radius**2
            if keep.all():
                return
            self._set(self.points[keep])
            return
        room = MAX_POINTS - len(self.points)
        n = min(self.density, room)
        if n < self.density:
            self._capped = True
            self._message(f"the painted set is capped at {MAX_POINTS:,} points: erase some to paint more", error=True)
        if n <= 0:
            return
        r = self.radius * np.sqrt(self.rng.random(n))
        a = 2 * np.pi * self.rng.random(n)
        new = np.column_stack([x + r * np.cos(a), y + r * np.sin(a)])
        self._set(np.concatenate([self.points, np.round(new, DECIMALS)]))

    def _set(self, pts: np.ndarray) -> None:
        self.points = _frozen(pts)
        self._draw()
        self.changed.emit()

    # ------------------------------------------------------------------ history
    def undo(self) -> None:
        if not self.active or self._before is not None or not self._undo:
            return
        self._redo.append(self.points)
        self._set(self._undo.pop())
        self._refresh_actions()
        self.apply()

    def redo(self) -> None:
        if not self.active or self._before is not None or not self._redo:
            return
        self._undo.append(self.points)
        self._set(self._redo.pop())
        self._refresh_actions()
        self.apply()

    def clear(self) -> None:
        if not self.active or self._before is not None or not self._started or not len(self.points):
            return
        self._undo.append(self.points)
        self._redo.clear()
        self._set(_frozen(_empty()))
        self._refresh_actions()
        self.apply()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def _refresh_actions(self) -> None:
        on = self.supported and self._started and self.active  # Ctrl+Z edits data only while painting
        self.undo_action.setEnabled(on and bool(self._undo))
        self.redo_action.setEnabled(on and bool(self._redo))
        self.clear_action.setEnabled(on and bool(len(self.points)))

    # ------------------------------------------------------------------ apply
    def apply(self) -> bool:
        """Send the painted set to the run as data kind 'points' (live, no reset). False when not sent."""
        win = self.window
        n = len(self.points)
        if n < MIN_POINTS:
            self._message(
                f"{n} painted points: paint at least {MIN_POINTS} to train on them "
                "(training continues on the previous data meanwhile)"
            )
            return False
        if win.experiment is None:
            return False
        old = win.experiment
        # kind first: switching the kind resets the section to its defaults, then the points fill it
        win.request_change([(["data", "kind"], "points"), (["data", "points"], self.points.tolist())])
        new = win.experiment
        if new is old or new.data.kind != "points":
            return False
        self._sent = new.data
        self._seen_exp = new
        panel = getattr(win, "settings_panel", None)
        if panel is not None and hasattr(panel, "set_experiment"):
            panel.set_experiment(new)  # the panel shows data kind 'points' (it did not make this change)
        capped = f" (capped at {MAX_POINTS:,}: erase some to paint more)" if self._capped else ""
        self._capped = False
        self._message(f"training on {n:,} painted points{capped}", error=bool(capped))
        return True

    # ------------------------------------------------------------------ drawing, mouse, messages
    def _draw(self) -> None:
        self.overlay.set_points(self.points if len(self.points) else None)

    def _on_mouse(self, kind: str, x: float, y: float, modifiers) -> None:
        erase = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if kind == "press":
            self.press(x, y, erase)
        elif kind == "move":
            self.drag(x, y, erase)
        elif kind == "release":
            self.release()
        elif kind == "hover":
            self.hover(x, y)
        elif kind == "leave":
            self.brush.setVisible(False)

    def _message(self, text: str, error: bool = False) -> None:
        self.window.statusBar().showMessage(text, 10000 if error else 6000)
