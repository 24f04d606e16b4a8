"""A legend that lives outside the data: a row of swatches and labels under a plot's axes, wrapping to more
lines when the plot is narrow. It never overlaps a curve, because it is not inside the ViewBox.

Swatches are text drawn in the entry's colour with characters every font has (em dash, hyphens, bullet):
symbols such as U+23F8 are missing from many bundled fonts and render as empty boxes.
"""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import QSizeF, Qt
from PySide6.QtWidgets import QGraphicsTextItem, QSizePolicy

from . import theme

SWATCH = {"line": "——", "dash": "- -", "dot": "•", "dots": "• • •"}  # any other style is drawn as given
LEGEND_ROW = 4  # below PlotItem's bottom axis (rows 0-3: title, top axis, view, bottom axis)


def normalise(entries) -> tuple:
    """Entries with colours as '#rrggbb' strings (hashable, comparable)."""
    return tuple((c if isinstance(c, str) else theme.color(c).name(), s, lab) for c, s, lab in entries)


def legend_html(entries) -> str:
    """Rich text for entries [(colour '#rrggbb', style, label)]: an entry never breaks inside, only between."""
    parts = []
    for c, style, label in entries:
        swatch = html.escape(SWATCH.get(style, style))
        weight = "font-weight:bold;" if style in ("dot", "dots") else ""
        name = html.escape(label).replace(" ", "&nbsp;")
        parts.append(f"<span style='color:{c};{weight}'>{swatch}</span>&nbsp;{name}")
    return "&nbsp;&nbsp;&nbsp; ".join(parts)


class LegendRow(pg.GraphicsWidget):
    """Entries (colour, style, label); style is a key of SWATCH. Height follows the wrapped text."""

    def __init__(self, base_pt: float = 9.0):
        super().__init__()
        self._base_pt = base_pt
        self._entries: tuple = ()
        self._natural_w = 0.0
        self.text = QGraphicsTextItem(self)
        self.text.setDefaultTextColor(theme.color(theme.FG))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(40)
        self._render()

    @classmethod
    def below(cls, plot: pg.PlotItem, base_pt: float = 9.0) -> LegendRow:
        """A legend row added to `plot`'s own layout, under its x axis."""
        row = cls(base_pt)
        plot.layout.addItem(row, LEGEND_ROW, 1)
        return row

    def entries(self) -> tuple:
        return self._entries

    def set_entries(self, entries) -> None:
        """[(colour: str | QColor, style: 'line' | 'dash' | 'dot' | 'dots', label: str), ...]."""
        entries = normalise(entries)
        if entries != self._entries:
            self._entries = entries
            self._render()

    def apply_style(self) -> None:
        """Re-read the presenter scale."""
        self._render()

    def _render(self) -> None:
        self.text.setFont(theme.font(self._base_pt))
        self.text.setHtml(legend_html(self._entries))
        self.text.setTextWidth(-1)
        self._natural_w = self.text.boundingRect().width() if self._entries else 0.0  # one line: the wish
        self.setVisible(bool(self._entries))
        self._fit(self.size().width())
        self.updateGeometry()

    def _fit(self, width: float) -> None:
        if width > 0:
            self.text.setTextWidth(width)
        h = self.text.boundingRect().height() if self._entries else 0.0
        if abs(h - self.minimumHeight()) > 0.5 or abs(h - self.maximumHeight()) > 0.5:
            self.setMinimumHeight(h)
            self.setMaximumHeight(h)
            self.updateGeometry()

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        self._fit(self.size().width())

    def sizeHint(self, which, constraint=QSizeF()) -> QSizeF:  # noqa: N802 (Qt name)
        h = self.text.boundingRect().height() if self._entries else 0.0
        if which == Qt.SizeHint.MinimumSize:
            return QSizeF(40, h)
        if which == Qt.SizeHint.MaximumSize:
            return QSizeF(1e6, h)
        return QSizeF(min(self._natural_w, 160.0), h)  # ask for little width: the plot decides, the text wraps
