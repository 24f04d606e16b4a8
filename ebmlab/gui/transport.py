"""Transport bar: play/pause, step, reset, speed, and the landscape display toggles.

The controls sit in groups in a `FlowLayout`: every control keeps its full size (nothing truncated) and the
bar wraps to a second row on a narrow screen or in presenter fonts. Other parts of the window add their own
group with `add_group` (painting does). Play/Pause use the style's media icons: text glyphs such as ⏸ are
missing from many bundled fonts and render as empty boxes.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QWidget,
)

from .flow_layout import FlowLayout

SPEEDS: list[tuple[str, float | None]] = [
    ("1 step/s", 1.0),
    ("5 steps/s", 5.0),
    ("20 steps/s", 20.0),
    ("100 steps/s", 100.0),
    ("max speed", None),
]


def group(*widgets: QWidget, spacing: int = 6) -> QWidget:
    """Widgets that stay together on one row of the bar."""
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(spacing)
    for w in widgets:
        lay.addWidget(w)
    return box


def fitted_combo(items: list[str]) -> QComboBox:
    """A combo box that is always as wide as its longest item (in the current font)."""
    combo = QComboBox()
    combo.addItems(items)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return combo


class TransportBar(QWidget):
    playToggled = Signal(bool)
    stepClicked = Signal()
    resetClicked = Signal()
    speedChanged = Signal(object)  # steps/s or None
    viewChanged = Signal(dict)  # {"show": ..., "contours": bool, "trails": bool, "arrows": bool}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.flow = FlowLayout(self)
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play / pause training (Space)")
        self.step = QPushButton("Step")
        self.step.setToolTip("Take exactly one training step (S or Right)")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Back to step 0 with the same seed (R)")
        style = self.style()
        self._icons = {False: style.standardIcon(QStyle.SP_MediaPlay), True: style.standardIcon(QStyle.SP_MediaPause)}
        self.step.setIcon(self.style().standardIcon(QStyle.SP_MediaSkipForward))
        self.speed = fitted_combo([label for label, _ in SPEEDS])
        self.speed.setCurrentIndex(len(SPEEDS) - 1)
        self.speed.setToolTip("Training speed (+ / -)")
        self.show_mode = fitted_combo(["density", "energy"])
        self.show_mode.setToolTip("Heatmap of the model density or of its energy")
        self.contours = QCheckBox("contours")
        self.trails = QCheckBox("trails")
        self.trails.setChecked(True)
        self.arrows = QCheckBox("score arrows")
        self.flow.addWidget(group(self.play, self.step, self.reset))
        self.flow.addWidget(group(QLabel("speed"), self.speed))
        self.flow.addWidget(group(QLabel("show"), self.show_mode, self.contours, self.trails, self.arrows, spacing=10))
        self._show_play_state(False)
        self.play.toggled.connect(self._on_play)
        self.step.clicked.connect(self.stepClicked)
        self.reset.clicked.connect(self.resetClicked)
        self.speed.currentIndexChanged.connect(lambda i: self.speedChanged.emit(SPEEDS[i][1]))
        self.show_mode.currentIndexChanged.connect(self._emit_view)
        for cb in (self.contours, self.trails, self.arrows):
            cb.toggled.connect(self._emit_view)

    def add_group(self, widget: QWidget) -> None:
        """Another group of controls at the end of the bar (it wraps with the rest)."""
        self.flow.addWidget(widget)

    def set_bar_font(self, font: QFont) -> None:
        """The font of every control (presenter mode); icons follow the text height."""
        self.setFont(font)
        for w in self.findChildren(QWidget):
            w.setFont(font)
        side = int(self.fontMetrics().height() * 0.9)
        for b in (self.play, self.step):
            b.setIconSize(QSize(side, side))
        self.flow.invalidate()
        self.updateGeometry()

    def _show_play_state(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        self.play.setIcon(self._icons[on])

    def _on_play(self, on: bool) -> None:
        self._show_play_state(on)
        self.playToggled.emit(on)

    def set_playing(self, on: bool) -> None:
        """Reflect the worker's state without emitting."""
        if self.play.isChecked() != on:
            self.play.blockSignals(True)
            self.play.setChecked(on)
            self._show_play_state(on)
            self.play.blockSignals(False)

    def steps_per_second(self) -> float | None:
        """The chosen speed (None: max speed)."""
        return SPEEDS[self.speed.currentIndex()][1]

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
