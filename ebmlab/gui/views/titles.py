"""Plot titles that change often (a step counter, the latest value) without re-laying out the plot.

pyqtgraph's `PlotItem.setTitle` re-fixes the title row and `LabelItem.setText` re-announces the label's size on
every call; either makes the plot's layout run again, and every axis regenerates its ticks: about 1 ms of GUI
time per plot per change, paid while the worker waits for the GIL. Here a title's text is replaced in place,
and the layout hears of it only when the label's size really changed.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from . import theme


def steady_label(label: pg.LabelItem, shrinkable: bool = False) -> None:
    """Patch `label` so a new text re-lays out only when its size changes. shrinkable: the label may be
    narrower than its text (clipped at the right) instead of widening the plot past its cell."""
    state = {"size": None}

    def update_min() -> None:
        bounds = label.itemRect()
        w, h = (0.0 if shrinkable else bounds.width()), bounds.height()
        size = (round(w), round(h))
        if size == state["size"]:
            return
        state["size"] = size
        label.setMinimumWidth(w)
        label.setMinimumHeight(h)
        label._sizeHint = {
            Qt.SizeHint.MinimumSize: (w, h),
            Qt.SizeHint.PreferredSize: (min(bounds.width(), 120.0) if shrinkable else bounds.width(), h),
            Qt.SizeHint.MaximumSize: (-1, -1),
            Qt.SizeHint.MinimumDescent: (0, 0),
        }
        label.updateGeometry()

    label.updateMin = update_min
    if shrinkable:
        label.opts["justify"] = "left"  # a clipped title keeps its quantity's name; the value is on the right
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
    update_min()


def set_title(plot: pg.PlotItem, text: str, pt: float = 12.0) -> None:
    """Show `text` as the plot's title; a visible title is changed in place (no layout pass)."""
    label = plot.titleLabel
    size = theme.pt(pt)
    if label.isVisible() and label.opts.get("size") == size:
        if label.text != text:
            label.setText(text, color=theme.FG)
        return
    plot.setTitle(text, color=theme.FG, size=size)
