"""The Training tab's split between the landscape and the metrics plots, arranged by the area's shape.

Wide areas (presenter mode on a 16:9 projector) put the plots beside the square landscape; tall or square
areas put them underneath. The orientation flips with some hysteresis, and each flip gives the landscape a
square-ish share; a user's drag of the handle is kept until the next flip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

WIDE = 1.55  # width / height above which the plots go beside the landscape
TALL = 1.35  # ... and below which they go back underneath
BELOW_SHARE = 0.6  # landscape's share of the height when the plots are underneath


class CenterSplit(QSplitter):
    def __init__(self, landscape: QWidget, plots: QWidget, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.addWidget(landscape)
        self.addWidget(plots)
        self.setChildrenCollapsible(False)
        self._arranged = False

    @property
    def beside(self) -> bool:
        return self.orientation() == Qt.Orientation.Horizontal

    def arrange(self) -> None:
        """Pick the orientation for the current size and share the space (also called after a font change)."""
        w, h = self.width(), self.height()
        if w <= 0 or h <= 0:
            return
        ratio = w / h
        beside = ratio > WIDE or (self.beside and ratio > TALL)
        if self._arranged and beside == self.beside:
            return
        self._arranged = True
        self.setOrientation(Qt.Orientation.Horizontal if beside else Qt.Orientation.Vertical)
        if beside:
            side = min(h, int(0.58 * w))
            self.setSizes([side, w - side])
        else:
            top = int(BELOW_SHARE * h)
            self.setSizes([top, h - top])

    def rearrange(self) -> None:
        """Forget the user's handle position and share the space again (presenter mode on/off)."""
        self._arranged = False
        self.arrange()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.arrange()
