"""The plots of the AIS panel: the intermediate density with weighted particles, the log-weight histogram,
the running estimate of log Z_beta against beta (with the exact path) and the final error-bar plot.

Everything here renders numpy objects published by the worker (ebmlab.core.partition.ais_session.AISUpdate); the only
math is numpy: log f_beta = (1 - beta) log q - beta E on the background grid, and its quadrature."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from . import theme

DENSITY_SPAN = 12.0  # nats of log f_beta shown below the frame's maximum
HIST_BINS = 40
WEIGHT_LEVELS = 6  # particles are drawn in a few size / opacity classes (cheap symbol atlas)
SIZES = np.array([2.0, 2.5, 3.5, 4.5, 5.5, 7.0])
ALPHAS = (50, 80, 120, 160, 205, 255)
_NO_EDGES, _NO_BINS = np.zeros(1), np.zeros(0)
NOTE = "binary / high-dimensional model:\nno picture of f_β here —\nwatch the weights and log Z_β"


# ---------------------------------------------------------------------- numpy helpers
def log_f_beta(background, beta: float) -> np.ndarray:
    """log f_beta on the background grid (float64; -inf where E is infinite)."""
    with np.errstate(invalid="ignore", over="ignore"):
        out = (1.0 - beta) * background.log_q - beta * background.energy
    return np.where(np.isnan(out), -np.inf, out)


def cell_volume(axes: tuple[np.ndarray, ...]) -> float:
    return float(np.prod([float(a[1] - a[0]) for a in axes]))


def logsumexp(a: np.ndarray) -> float:
    fin = a[np.isfinite(a)]
    if not fin.size:
        return -np.inf
    m = float(fin.max())
    return m + float(np.log(np.exp(fin - m).sum()))


def exact_path(background, betas: np.ndarray) -> np.ndarray:
    """log Z_beta = log sum_cells f_beta + log cell_volume (0 at beta = 0, where Z_0 = 1 by definition)."""
    lv = np.log(cell_volume(background.axes))
    out = np.array([logsumexp(log_f_beta(background, b).ravel()) + lv if b > 0 else 0.0 for b in betas])
    return out


def weight_classes(log_w: np.ndarray) -> np.ndarray:
    """Class 0 (lightest) .. WEIGHT_LEVELS-1 (heaviest) of w_i = exp(log w_i - max), by sqrt(w)."""
    lw = np.asarray(log_w, np.float64)
    fin = np.isfinite(lw)
    if not fin.any():
        return np.zeros(len(lw), int)
    w = np.zeros(len(lw))
    w[fin] = np.exp(lw[fin] - lw[fin].max())
    return np.minimum((np.sqrt(w) * WEIGHT_LEVELS).astype(int), WEIGHT_LEVELS - 1)


def finite_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def style(plot: pg.PlotItem, **kw) -> None:
    """theme.style_plot with a title that may be clipped rather than widen the plot."""
    theme.style_plot(plot, **kw)
    loose_title(plot)


def loose_title(plot: pg.PlotItem) -> None:
    """A long title may be clipped, never widen the plot past its widget (that crops the right edge)."""
    plot.titleLabel.setMinimumWidth(0)


def _plot(title: str) -> tuple[pg.PlotWidget, pg.PlotItem]:
    w = pg.PlotWidget()
    w.setBackground(theme.BG)
    p = w.getPlotItem()
    p.hideButtons()
    p.setTitle(title)
    return w, p


# ---------------------------------------------------------------------- top left
class DensityPlot:
    """f_beta as an image (2-D) or a curve (1-D), the particles sized / brightened by their weight."""

    def __init__(self):
        self.widget, self.plot = _plot("Intermediate density")
        p = self.plot
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(theme.colormap(theme.DENSITY_CMAP, theme.DENSITY_TOP))
        self.curve = pg.PlotCurveItem()
        self.hist = pg.PlotCurveItem(x=_NO_EDGES, y=_NO_BINS, stepMode="center", fillLevel=0)
        self.scatter = pg.ScatterPlotItem(pxMode=True, pen=None)
        self.note = pg.TextItem(anchor=(0.5, 0.5), color=theme.FG)
        for z, it in enumerate((self.image, self.hist, self.curve, self.scatter, self.note)):
            it.setZValue(z)
            p.addItem(it)
        self.legend = pg.LegendItem(offset=(6, 6))
        self.legend.setParentItem(p.vb)
        self.legend.addItem(theme.legend_sample("chains"), "AIS particles (bigger, brighter = heavier)")
        self.legend.setVisible(False)
        self.kind = ""
        self._bg = None
        self._brushes: list = []
        self.apply_style()

    def apply_style(self) -> None:
        style(self.plot, bottom="x", left="y", grid=False)
        self.curve.setPen(theme.pen("exact", 2.5))
        self.hist.setPen(theme.pen("chains", 1.5))
        self.hist.setBrush(pg.mkBrush(theme.color("chains", 70)))
        self.note.setFont(theme.font(13))
        theme.style_legend(self.legend)
        self._brushes = [pg.mkBrush(theme.color("chains", a)) for a in ALPHAS]

    def _setup(self, bg) -> None:
        """Once per background: which items show, the view box."""
        self._bg, self.kind = bg, bg.kind
        p = self.plot
        self.image.setVisible(bg.kind == "image")
        self.curve.setVisible(bg.kind == "curve")
        self.hist.setVisible(bg.kind == "curve")
        self.note.setVisible(False)
        self.scatter.setData([], [])
        self.legend.setVisible(False)
        if bg.kind == "image":
            xs, ys = bg.axes
            dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
            self._rect = QRectF(float(xs[0]) - dx / 2, float(ys[0]) - dy / 2, dx * len(xs), dy * len(ys))
            p.setAspectLocked(True)
            p.disableAutoRange()
            p.setRange(self._rect, padding=0.02)
            p.setLabel("left", "y")
        elif bg.kind == "curve":
            (xs,) = bg.axes
            dx = float(xs[1] - xs[0])
            self._edges = np.linspace(float(xs[0]) - dx / 2, float(xs[-1]) + dx / 2, HIST_BINS + 1)
            p.setAspectLocked(False)
            p.setXRange(self._edges[0], self._edges[-1], padding=0.02)
            p.enableAutoRange(y=True)
            p.setLabel("left", "density")
        else:
            p.setAspectLocked(False)
            p.enableAutoRange()
            p.setLabel("left", "x₂")

    def set_frame(self, frame, bg) -> None:
        if self._bg is None or bg.energy is not self._bg.energy or bg.kind != self.kind:
            self._setup(bg)
        self._bg = bg
        beta = float(frame.beta)
        parts = np.asarray(frame.particles)
        cls = weight_classes(np.asarray(frame.log_w)[: len(parts)])
        title = f"f_β ∝ q^(1-β) e^(-βE)   ·   β = {beta:.3f}"
        if self.kind == "image":
            lf = log_f_beta(bg, beta)
            fin = lf[np.isfinite(lf)]
            top = float(fin.max()) if fin.size else 0.0
            img = np.nan_to_num(lf, nan=top - DENSITY_SPAN, neginf=top - DENSITY_SPAN, posinf=top)
            self.image.setImage(img.astype(np.float32), autoLevels=False, levels=(top - DENSITY_SPAN, top))
            self.image.setRect(self._rect)  # after setImage: the transform depends on the image's shape
            self._points(parts[:, 0], parts[:, 1], cls)
        elif self.kind == "curve":
            lf = log_f_beta(bg, beta)
            m = logsumexp(lf)
            dens = np.exp(lf - m) / cell_volume(bg.axes) if np.isfinite(m) else np.zeros_like(lf)
            self.curve.setData(bg.axes[0], dens)
            h, _ = np.histogram(parts[:, 0], bins=self._edges, density=True) if len(parts) else (_NO_BINS, None)
            self.hist.setData(self._edges if len(parts) else _NO_EDGES, np.nan_to_num(h))
            self.scatter.setData([], [])
            title = f"f_β (line), particles (histogram)   ·   β = {beta:.3f}"
        elif parts.ndim == 2 and parts.shape[1] >= 2 and bg.energy is None and _continuous(parts):
            self._points(parts[:, 0], parts[:, 1], cls)
            self.note.setVisible(False)
            title = f"Particles (first two coordinates)   ·   β = {beta:.3f}"
        else:
            self.scatter.setData([], [])
            self.note.setText(NOTE)
            self.note.setVisible(True)
            self.plot.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
            title = f"β = {beta:.3f}"
        self.plot.setTitle(title, color=theme.FG, size=theme.pt(12))
        loose_title(self.plot)
        note = self.note.isVisible()
        self.legend.setVisible(self.kind != "curve" and len(parts) > 0 and not note)
        for ax in ("left", "bottom"):
            self.plot.showAxis(ax, not note)

    def _points(self, x: np.ndarray, y: np.ndarray, cls: np.ndarray) -> None:
        order = np.argsort(cls, kind="stable")  # heavy particles on top
        cls = cls[order]
        self.scatter.setData(
            x=x[order],
            y=y[order],
            size=SIZES[cls] * theme.scale(),
            brush=[self._brushes[c] for c in cls],
            pen=None,
        )

    def clear(self) -> None:
        self.scatter.setData([], [])
        self.curve.setData([], [])
        self.hist.setData(_NO_EDGES, _NO_BINS)
        self.image.clear()


def _continuous(parts: np.ndarray) -> bool:
    return not np.isin(parts[: min(len(parts), 50)], (0.0, 1.0, -1.0)).all()


# ---------------------------------------------------------------------- top right
class WeightsPlot:
    """Histogram of the finite log-weights of the current frame."""

    def __init__(self):
        self.widget, self.plot = _plot("log-weights")
        self.hist = pg.PlotCurveItem(x=_NO_EDGES, y=_NO_BINS, stepMode="center", fillLevel=0)
        self.plot.addItem(self.hist)
        self.apply_style()

    def apply_style(self) -> None:
        style(self.plot, title="Histogram of log w_i", bottom="log w", left="particles")
        self.hist.setPen(theme.pen("estimate", 1.5))
        self.hist.setBrush(pg.mkBrush(theme.color("estimate", 110)))

    def set_frame(self, frame) -> None:
        lw = np.asarray(frame.log_w, np.float64)
        lw = lw[np.isfinite(lw)]
        if not lw.size:
            self.hist.setData(_NO_EDGES, _NO_BINS)
            return
        counts, edges = np.histogram(lw, bins=HIST_BINS)
        self.hist.setData(edges, counts.astype(float))

    def has_data(self) -> bool:
        return self.hist.getData()[1] is not None and len(self.hist.getData()[1]) > 0

    def clear(self) -> None:
        self.hist.setData(_NO_EDGES, _NO_BINS)


# ---------------------------------------------------------------------- bottom
class PathPlot:
    """Running estimate of log Z_beta against beta with a ±2 SE band, and the exact path."""

    def __init__(self):
        self.widget, self.plot = _plot("log Z_β")
        p = self.plot
        self.upper, self.lower = pg.PlotDataItem([], []), pg.PlotDataItem([], [])
        self.band = pg.FillBetweenItem(self.upper, self.lower)
        self.exact = pg.PlotDataItem([], [])
        self.estimate = pg.PlotDataItem([], [])
        self.head = pg.ScatterPlotItem(pxMode=True)  # the current beta
        for it in (self.band, self.upper, self.lower, self.estimate, self.exact, self.head):
            p.addItem(it)
        p.setXRange(0, 1, padding=0.02)
        p.enableAutoRange(x=False)
        self.legend = pg.LegendItem(offset=(-8, -8))
        self.legend.setParentItem(p.vb)
        self.legend.addItem(self.estimate, "AIS running estimate ±2 SE")
        self.legend.addItem(self.exact, "exact log Z_β")
        self._exact_key = None
        self.apply_style()

    def apply_style(self) -> None:
        style(
            self.plot, title="Running estimate of log Z_β along the path", bottom="β (inverse temperature)",
            left="log Z_β",
        )  # fmt: skip
        self.estimate.setPen(theme.pen("estimate", 3.5))
        self.head.setSize(theme.marker(10))
        self.head.setBrush(pg.mkBrush(theme.color("estimate")))
        self.head.setPen(pg.mkPen(theme.FG, width=1))
        for c in (self.upper, self.lower):
            c.setPen(theme.pen("estimate", 0.8, alpha=120))
        self.band.setBrush(pg.mkBrush(theme.color("estimate", 60)))
        self.exact.setPen(theme.pen("exact", 1.8, style=Qt.DashLine))
        theme.style_legend(self.legend)

    def set_history(self, history) -> None:
        betas, lz, se = (np.asarray(history[i], float) for i in range(3))
        ok = np.isfinite(betas) & np.isfinite(lz)
        b, z, s = betas[ok], lz[ok], np.nan_to_num(se[ok], nan=0.0, posinf=0.0)
        self.estimate.setData(b, z)
        self.upper.setData(b, z + 2 * s)
        self.lower.setData(b, z - 2 * s)
        self.head.setData(b[-1:], z[-1:])

    def set_exact(self, bg) -> None:
        """The exact path: the core's curve at the end when present, else quadrature of the background."""
        if bg.exact_log_z_beta is not None and bg.betas is not None:
            key, make = ("core", id(bg.exact_log_z_beta)), lambda: finite_xy(bg.betas, bg.exact_log_z_beta)
        elif bg.kind in ("image", "curve") and bg.energy is not None:
            b = np.linspace(0.0, 1.0, 201)
            key, make = ("grid", id(bg.energy)), lambda: finite_xy(b, exact_path(bg, b))
        else:
            key, make = None, lambda: (np.zeros(0), np.zeros(0))
        if key == self._exact_key:
            return
        self._exact_key = key
        x, y = make()
        self.exact.setData(x, y)
        rising = not len(y) or y[-1] >= 0  # the legend goes where the path is not: bottom or top right
        self.legend.anchor((1, 1) if rising else (1, 0), (1, 1) if rising else (1, 0), (-8, -8) if rising else (-8, 8))

    def has_data(self) -> bool:
        return self.estimate.xData is not None and len(self.estimate.xData) > 0

    def clear(self) -> None:
        for c in (self.estimate, self.upper, self.lower, self.head):
            c.setData([], [])


# ---------------------------------------------------------------------- result strip
class ResultPlot:
    """AIS (and reverse AIS) with ±2 SE bars against a line at the exact log Z."""

    def __init__(self):
        self.widget, self.plot = _plot("")
        p = self.plot
        self.bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0.12)
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.exact = pg.InfiniteLine(angle=0, movable=False)
        for it in (self.exact, self.bars, self.points):
            p.addItem(it)
        p.setMouseEnabled(False, False)
        p.getAxis("bottom").setTicks([[(0, "AIS"), (1, "reverse")]])
        self.apply_style()
        self.clear()

    def apply_style(self) -> None:
        style(self.plot, left="log Z", grid=False)
        self.plot.showGrid(y=True, alpha=theme.GRID_ALPHA)
        self.bars.setData(pen=theme.pen("estimate", 2.5))
        self.exact.setPen(theme.pen("exact", 2.0, style=Qt.DashLine))
        self.points.setSize(theme.marker(11))
        self.points.setBrush(pg.mkBrush(theme.color("estimate")))
        self.points.setPen(pg.mkPen(None))

    def set_result(self, estimate, reverse, exact: float | None) -> None:
        xs, ys, ses = [0.0], [estimate.log_z], [estimate.stderr]
        if reverse is not None:
            xs.append(1.0)
            ys.append(reverse.log_z)
            ses.append(reverse.stderr)
        x, y = np.array(xs), np.array(ys, float)
        se = np.nan_to_num(np.array(ses, float), nan=0.0, posinf=0.0)
        ok = np.isfinite(y)
        self.points.setData(x[ok], y[ok])
        self.bars.setData(x=x[ok], y=y[ok], height=4.0 * se[ok])
        self.bars.setVisible(bool(ok.any()))
        vals = list(y[ok] + 2 * se[ok]) + list(y[ok] - 2 * se[ok])
        if exact is not None and np.isfinite(exact):
            self.exact.setPos(exact)
            self.exact.setVisible(True)
            vals.append(exact)
        else:
            self.exact.setVisible(False)
        if vals:
            lo, hi = min(vals), max(vals)
            pad = max(0.15 * (hi - lo), 1e-3)
            self.plot.setRange(xRange=(-0.6, 1.6), yRange=(lo - pad, hi + pad), padding=0)

    def clear(self) -> None:
        self.points.setData([], [])
        self.bars.setVisible(False)
        self.exact.setVisible(False)
        self.plot.setRange(xRange=(-0.6, 1.6), yRange=(0, 1), padding=0)
