"""Colours, fonts and the presenter scale shared by every view (a dark palette that reads on a projector).

One colour per *meaning*, used everywhere: data, chains (the model's samples), negatives (CD/PCD),
noisy (DSM), noise (NCE), exact (ground truth), estimate (stochastic estimates with error bars).
`set_presenter(True)` enlarges fonts, markers and lines; views re-read `scale()` in their own
`set_presenter(on)`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QGraphicsItem

BG = "#15171c"
PANEL = "#1e2128"
FG = "#e8e8e8"
MUTED = "#9aa0aa"
GRID_ALPHA = 0.18

COLORS: dict[str, str] = {
    "data": "#e6e6e6",
    "chains": "#38b6ff",
    "negatives": "#ff4f9a",
    "noisy": "#c084fc",
    "noise": "#7dff5a",
    "exact": "#ffd166",
    "estimate": "#ff7b3a",
    "c": "#7dff5a",
    "loss": "#9ecbff",
    "contour": "#ffffff",
    "contours": "#ffffff",
    "arrows": "#ffffff",
    "boundary": "#7dff5a",
    "class_boundary": "#ffffff",
    "trails": "#ff4040",  # red: apart from the chains' blue, the heatmap and the warm label colours
}
LABELS: dict[str, str] = {
    "data": "data",
    "chains": "sampler chains",
    "negatives": "CD negatives",
    "pcd": "PCD chains (bright = young)",
    "noisy": "DSM noisy data",
    "noise": "NCE noise",
    "boundary": "NCE boundary (log-ratio 0)",
    "class_boundary": "decision boundary",
    "trails": "chain trails",
    "contours": "E = E_min + 0.5, 2, 4, 8",
    "arrows": "score -∇E(x)",
}
# categorical colours for labelled data (muted, so the model's samples stay the loudest thing)
# (warm/neutral only: blue, pink, violet and lime belong to chains, negatives, noisy and noise)
LABEL_COLORS = ["#f0f0f0", "#ffc68a", "#b0b0b0", "#fff27a", "#d9a66c", "#ffe4c4", "#8a8a8a", "#ffb070"]
# colour maps and where they are cut, so the brightest pixel never hides white data or arrows
DENSITY_CMAP, DENSITY_TOP = "viridis", 0.62
ENERGY_CMAP, ENERGY_TOP = "inferno", 0.8

_BASE_PT = 10.0
_state = {"presenter": False}


def set_presenter(on: bool) -> None:
    """Presenter mode: everything about 1.6x larger (fonts, markers, lines)."""
    _state["presenter"] = bool(on)


def presenter() -> bool:
    return _state["presenter"]


def scale() -> float:
    return 1.6 if _state["presenter"] else 1.0


def color(name: str, alpha: int | None = None) -> QColor:
    """The theme colour for a meaning ('data', 'chains', ...), optionally with alpha 0-255."""
    c = QColor(COLORS.get(name, name))
    if alpha is not None:
        c.setAlpha(alpha)
    return c


def rgb(name: str) -> tuple[int, int, int]:
    c = color(name)
    return c.red(), c.green(), c.blue()


def font(pt: float = _BASE_PT, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF(pt * scale())
    f.setBold(bold)
    return f


def pt(base: float = _BASE_PT) -> str:
    """A CSS font size string ('12pt') scaled for presenter mode."""
    return f"{base * scale():.0f}pt"


def marker(base: float) -> float:
    """A marker size in pixels, scaled."""
    return base * scale()


def pen(name: str, width: float = 2.0, alpha: int | None = None, style=None):
    p = pg.mkPen(color(name, alpha), width=width * scale())
    if style is not None:
        p.setStyle(style)
    return p


def colormap(name: str, top: float = 1.0) -> pg.ColorMap:
    """A named pyqtgraph colour map, optionally cut at `top` (0-1) so its brightest end is not white."""
    cmap = pg.colormap.get(name)
    if top >= 1.0:
        return cmap
    pos = np.linspace(0.0, 1.0, 16)
    cols = cmap.map(pos * top, mode="byte")
    return pg.ColorMap(pos, cols)


def landscape_cmap(show: str) -> pg.ColorMap:
    """The colour map of the landscape heatmap for 'density' or 'energy'."""
    return colormap(DENSITY_CMAP, DENSITY_TOP) if show == "density" else colormap(ENERGY_CMAP, ENERGY_TOP)


def ramp(name: str, n: int, fade: float = 0.45) -> list[QColor]:
    """n shades of one colour from nearly white (index 0) to the colour faded toward the background by
    `fade` (index n-1): 'young = bright'."""
    c, bg = np.array(rgb(name), float), np.array(QColor(BG).getRgb()[:3], float)
    light = c + (255.0 - c) * 0.6
    dim = c + (bg - c) * fade
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        base = light + (c - light) * (2 * t) if t < 0.5 else c + (dim - c) * (2 * t - 1)
        out.append(QColor(*np.clip(base, 0, 255).astype(int)))
    return out


def style_plot(
    plot: pg.PlotItem, title: str | None = None, left: str | None = None, bottom: str | None = None, grid: bool = True
) -> None:
    """Fonts, colours and grid for a PlotItem at the current scale (call again after set_presenter)."""
    tick = font(_BASE_PT - 1)
    label_style = {"color": FG, "font-size": pt(_BASE_PT)}
    for name in ("left", "bottom", "right", "top"):
        ax = plot.getAxis(name)
        ax.setStyle(tickFont=tick, tickTextOffset=int(4 * scale()))
        ax.setPen(pg.mkPen(MUTED))
        ax.setTextPen(pg.mkPen(FG))
        # pyqtgraph 0.14 still derives a prefix from the range after enableAutoSIPrefix(False): a label-less
        # axis spanning < 1 got its ticks scaled by 1000. No enable ranges + an update removes it for sure.
        ax.enableAutoSIPrefix(False)
        ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # a blit per frame until the ticks change
        ax.setSIPrefixEnableRanges(())
        ax.updateAutoSIPrefix()
    if left is not None:
        plot.setLabel("left", left, **label_style)
    if bottom is not None:
        plot.setLabel("bottom", bottom, **label_style)
    if title is not None:
        plot.setTitle(title, color=FG, size=pt(_BASE_PT + 2))
    plot.showGrid(x=grid, y=grid, alpha=GRID_ALPHA)


def style_legend(legend: pg.LegendItem) -> None:
    legend.setLabelTextColor(FG)
    legend.setLabelTextSize(pt(_BASE_PT - 0.5))
    legend.setBrush(pg.mkBrush(QColor(20, 22, 27, 200)))
    legend.setPen(pg.mkPen(QColor(255, 255, 255, 40)))
    for _sample, label in legend.items:
        label.setText(label.text, color=FG, size=pt(_BASE_PT - 0.5))


def legend_sample(name: str, symbol: bool = True, width: float = 3.0, color_override: QColor | None = None):
    """An item that shows as a legend swatch for a meaning (a dot or a line); never added to a plot."""
    c = color_override if color_override is not None else color(name)
    if symbol:
        return pg.ScatterPlotItem(symbol="o", size=10, pen=pg.mkPen(None), brush=pg.mkBrush(c))
    return pg.PlotDataItem([], [], pen=pg.mkPen(c, width=width))


def apply_theme(app) -> None:
    """Dark Fusion palette for the whole application and pyqtgraph defaults (antialiasing off: faster)."""
    pg.setConfigOptions(background=BG, foreground=FG, antialias=False)
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.Window: PANEL,
        QPalette.WindowText: FG,
        QPalette.Base: BG,
        QPalette.AlternateBase: PANEL,
        QPalette.Text: FG,
        QPalette.Button: PANEL,
        QPalette.ButtonText: FG,
        QPalette.ToolTipBase: PANEL,
        QPalette.ToolTipText: FG,
        QPalette.Highlight: COLORS["chains"],
        QPalette.HighlightedText: "#000000",
        QPalette.PlaceholderText: MUTED,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(MUTED))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(MUTED))
    app.setPalette(pal)
    f = app.font()
    f.setPointSizeF(_BASE_PT * scale())
    app.setFont(f)
