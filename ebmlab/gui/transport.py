"""Transport bar: play/pause, step, reset, speed, and the landscape display toggles."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

SPEEDS: list[tuple[str, float | None]] = [
    ("1 step/s", 1.0),
    ("5 steps/s", 5.0),
    ("20 steps/s", 20.0),
    ("100 steps/s", 100.0),
    ("max speed", None),
]


class TransportBar(QWidget):
    playToggled = Signal(bool)
    stepClicked = Signal()
    resetClicked = Signal()
    speedChanged = Signal(object)  # steps/s or None
    viewChanged = Signal(dict)  # {"show": ..., "contours": bool, "trails": bool, "arrows": bool}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        self.play = QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play / pause training (Space)")
        self.step = QPushButton("Step")
        self.step.setToolTip("Take exactly one training step (S or Right)")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Back to step 0 with the same seed (R)")
        self.speed = QComboBox()
        for label, _ in SPEEDS:
            self.speed.addItem(label)
        self.speed.setCurrentIndex(len(SPEEDS) - 1)
        self.speed.setToolTip("Training speed (+ / -)")
        self.show_mode = QComboBox()
        self.show_mode.addItems(["density", "energy"])
        self.show_mode.setToolTip("Heatmap of the model density or of its energy")
        self.contours = QCheckBox("contours")
        self.trails = QCheckBox("trails")
        self.trails.setChecked(True)
        self.arrows = QCheckBox("score arrows")
        for w in (self.play, self.step, self.reset, QLabel("speed"), self.speed, QLabel("  show"), self.show_mode):
            lay.addWidget(w)
        for w in (self.contours, self.trails, self.arrows):
            lay.addWidget(w)
        lay.addStretch(1)
        self.play.toggled.connect(self._on_play)
        self.step.clicked.connect(self.stepClicked)
        self.reset.clicked.connect(self.resetClicked)
        self.speed.currentIndexChanged.connect(lambda i: self.speedChanged.emit(SPEEDS[i][1]))
        self.show_mode.currentIndexChanged.connect(self._emit_view)
        for cb in (self.contours, self.trails, self.arrows):
            cb.toggled.connect(self._emit_view)

    def _on_play(self, on: bool) -> None:
        self.play.setText("⏸ Pause" if on else "▶ Play")
        self.playToggled.emit(on)

    def set_playing(self, on: bool) -> None:
        """Reflect the worker's state without emitting."""
        if self.play.isChecked() != on:
            self.play.blockSignals(True)
            self.play.setChecked(on)
            self.play.setText("⏸ Pause" if on else "▶ Play")
            self.play.blockSignals(False)

    def change_speed(self, delta: int) -> None:
        self.speed.setCurrentIndex(max(0, min(len(SPEEDS) - 1, self.speed.currentIndex() + delta)))

    def set_view(self, show: str, contours: bool, trails: bool, arrows: bool) -> None:
        for w in (self.show_mode, self.contours, self.trails, self.arrows):
            w.blockSignals(True)
        self.show_mode.setCurrentText(show)
        self.contours.setChecked(contours)
        self.trails.setChecked(trails)
        self.arrows.setChecked(arrows)
        for w in (self.show_mode, self.contours, self.trails, self.arrows):
            w.blockSignals(False)

    def view_options(self) -> dict:
        return {
            "show": self.show_mode.currentText(),
            "contours": self.contours.isChecked(),
            "trails": self.trails.isChecked(),
            "arrows": self.arrows.isChecked(),
        }

    def _emit_view(self, *_: object) -> None:
        self.viewChanged.emit(self.view_options())
