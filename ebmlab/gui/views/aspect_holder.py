"""Holds a PlotWidget at the size that gives its ViewBox a chosen aspect ratio, centred in the space it has.

The landscape's axes then span exactly the model's box (the heatmap fills them, no empty margins of a
locked aspect) while a ring still looks like a ring: instead of widening the *range* to fill a wide pane,
the *widget* is made narrower. The axes, title, colour bar and legend around the ViewBox are measured from
the last layout, so the ratio settles within a pixel or two after one pass.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QWidget

DEFAULT_EXTRA = (120, 70)  # px around the ViewBox before the first layout (axes, colour bar, title)


class AspectHolder(QWidget):
    def __init__(self, plot_widget: pg.PlotWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.child = plot_widget
        plot_widget.setParent(self)
        self._ratio: float | None = None  # ViewBox width / height; None: fill the holder
        self._extra = DEFAULT_EXTRA
        self._passes = 0
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(0)
        self._settle_timer.timeout.connect(self._settle)

    def set_ratio(self, ratio: float | None) -> None:
        if ratio != self._ratio:
            self._ratio = ratio
            self._place()

    def view_rect(self) -> QRect:
        """The ViewBox's rectangle in this holder's coordinates."""
        vb = self.child.getPlotItem().vb
        r = self.child.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        return r.translated(self.child.pos())

    def _measure(self) -> None:
        vb = self.child.getPlotItem().vb
        w, h = vb.width(), vb.height()
        if w > 10 and h > 10:
            self._extra = (max(0, int(round(self.child.width() - w))), max(0, int(round(self.child.height() - h))))

    def _place(self) -> None:
        W, H = self.width(), self.height()
        if self._ratio is None or W <= 0 or H <= 0:
            self.child.setGeometry(0, 0, W, H)
            return
        self._measure()
        ew, eh = self._extra
        vw, vh = max(W - ew, 1), max(H - eh, 1)
        if vw / vh > self._ratio:
            vw = vh * self._ratio
        else:
            vh = vw / self._ratio
        w, h = min(W, int(round(vw + ew))), min(H, int(round(vh + eh)))
        self.child.setGeometry((W - w) // 2, (H - h) // 2, w, h)
        if self._passes < 3:  # the axes re-lay out inside the new size: check the margins once it has
            self._passes += 1
            self._settle_timer.start()

    def _settle(self) -> None:
        before = self._extra
        self._measure()
        if max(abs(a - b) for a, b in zip(before, self._extra)) > 1:
            self._place()
        else:
            self._passes = 0

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._passes = 0
        self._place()

    def refit(self) -> None:
        """Measure again and re-place (after the axes or the legend changed size)."""
        self._passes = 0
        self._place()
