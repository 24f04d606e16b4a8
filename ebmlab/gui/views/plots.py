"""Training metrics over steps, one small plot per PlotSpec (plot_specs.py), in a grid that fits its area.

Every curve is created once; a frame only calls setData on series whose length or last point changed. Axis
ranges are set here, not by pyqtgraph's auto-range: a constant series gets a padded span and an empty plot
a unit range (axis_fit.py). Legends sit under the axes (legend_row.py), never over a curve. Each title
carries the latest value, so the number a lesson names can be read from the back of the room.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QGraphicsScene, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ...core.snapshot import Snapshot
from . import theme
from .axis_fit import EMPTY_RANGE, data_range, grid_shape, keep_or_refit, nice_ceiling
from .legend_row import LegendRow
from .plot_specs import (
    ESTIMATE,
    ESTIMATE_LABEL,
    SERIES,
    SPECS,
    automatic_plots,
    plot_of,
)
from .series_labels import parameters_text, series_style
from .titles import set_title, steady_label

MIN_PLOT_H = 120  # px at the normal scale: below this a plot's title and ticks overlap
MIN_PLOT_W = 170
TITLE_PT = 11
MIN_TITLE_PT = 8  # a long title shrinks to this before it is clipped
NA_BINARY = "n/a for\nbinary states"
NOTHING_TO_TRAIN = "nothing to train"
WARNING_LINES = 2  # the log Z warning is cut to this many lines (the full text is its tooltip)


def fmt_value(v: float, clip: float | None = None) -> str:
    """A title's latest value: 4 significant digits, '> clip' above the clip."""
    if not math.isfinite(v):
        return "—"
    if clip is not None and v > clip:
        return f"> {clip:g}"
    return f"{v:.4g}"


def step_label(v: float) -> str:
    """Compact step ticks: 800, 2k, 2.5k, 1.2M (long integers run into each other in a narrow plot)."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.4g}"


class StepAxis(pg.AxisItem):
    """The shared x axis of the metrics plots: steps, compactly labelled, fewer ticks than the default."""

    def __init__(self):
        super().__init__("bottom")
        self.setTickDensity(0.7)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph name)
        return [step_label(v * scale) for v in values]


class MetricPlot:
    """One PlotItem with its curves, the log Z estimate points, a legend row, a reference line and a note."""

    def __init__(self, spec, item: pg.PlotItem):
        self.spec, self.item = spec, item
        item.hideButtons()
        item.setMenuEnabled(False)
        steady_label(item.titleLabel, shrinkable=True)
        item.vb.setMouseEnabled(x=False, y=False)
        item.disableAutoRange()
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.legend = LegendRow.below(item)
        self.ref = None
        if spec.reference is not None:
            self.ref = pg.InfiniteLine(pos=spec.reference, angle=0, movable=False)
            item.addItem(self.ref)
        self.note = pg.TextItem("", anchor=(0.5, 0.5))
        self.note.setVisible(False)
        item.addItem(self.note, ignoreBounds=True)
        self.bands: dict[str, tuple] = {}  # series with a standard error: (lower, upper, fill) of its ±2 SE band
        self.points = self.bars = None
        if spec.key == "logz":
            self.bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0)
            self.points = pg.ScatterPlotItem(size=7)
            item.addItem(self.bars)
            item.addItem(self.points)
        self.latest = ""
        self.y_range = EMPTY_RANGE
        self.x_range = EMPTY_RANGE
        self.set_ranges(EMPTY_RANGE, EMPTY_RANGE)

    def curve(self, name: str) -> pg.PlotDataItem:
        if name not in self.curves:
            self.curves[name] = self.item.plot([], [])
            self.style_curve(name)
        return self.curves[name]

    def band(self, name: str, steps: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """The ±2 SE band of a series, a translucent fill of the series' colour behind its curve."""
        if name not in self.bands:
            lower, upper = pg.PlotDataItem([], []), pg.PlotDataItem([], [])
            meaning = series_style(name, list(self.curves))[0]
            fill = pg.FillBetweenItem(lower, upper, brush=theme.color(meaning, 60))
            fill.setZValue(-5)
            self.item.addItem(fill)
            self.bands[name] = (lower, upper, fill)
        lower, upper, _ = self.bands[name]
        lower.setData(steps, lo)
        upper.setData(steps, hi)

    def style_curve(self, name: str) -> None:
        meaning, _, width, style = series_style(name, list(self.curves))
        pen = theme.pen(meaning, width, style=Qt.DashLine if style == "dash" else None)
        self.curves[name].setPen(pen)

    def set_ranges(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        if x != self.x_range or y != self.y_range:
            self.x_range, self.y_range = x, y
            self.item.setRange(xRange=x, yRange=y, padding=0)
            self.note.setPos(0.5 * (x[0] + x[1]), 0.5 * (y[0] + y[1]))

    def set_note(self, text: str) -> None:
        """A centred note instead of data ('n/a for binary states'); the empty axes are hidden meanwhile."""
        if self.note.toPlainText() != text:
            self.note.setText(text, color=theme.MUTED)
            for side in ("left", "bottom"):
                self.item.getAxis(side).setStyle(showValues=not text)
        self.note.setVisible(bool(text))


class MetricsPlots(QWidget):
    """A grid of the chosen plots fed from `snap.history` (name -> (steps, values[, stderr]))."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(theme.BG)
        self.glw.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # curves change every update
        self.glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.params = QLabel()  # the model's named parameters (expression models), live
        self.params.setWordWrap(True)
        self.params.hide()
        lay.addWidget(self.params)
        self.notice = QLabel()  # a plain notice from the run (e.g. nothing to train)
        self.notice.setWordWrap(True)
        self.notice.hide()
        lay.addWidget(self.notice)
        lay.addWidget(self.glw, 1)
        self.warning = QLabel()  # the latest log Z estimate's warning, in plain language
        self.warning.setWordWrap(True)
        self.warning.hide()
        lay.addWidget(self.warning)
        self.plots: dict[str, MetricPlot] = {key: MetricPlot(spec, pg.PlotItem()) for key, spec in SPECS.items()}
        for mp in self.plots.values():  # a plot's width is known only after the layout ran: fit its title then
            mp.item.vb.sigResized.connect(lambda _vb, mp=mp: self._refit_title(mp))
        self._chosen: tuple[str, ...] | None = None  # view.plots (None: automatic)
        self._visible: tuple[str, ...] = ()
        self._shape = (0, 0)
        self._binary = False
        self._frozen = False
        self._x_max = -1.0
        self._seen: dict[str, tuple] = {}
        self._history: dict = {}
        self._show(automatic_plots(()))
        self.apply_style()

    # ------------------------------------------------------------------ style
    def apply_style(self) -> None:
        s = theme.scale()
        for mp in self.plots.values():
            theme.style_plot(mp.item)  # the title names the quantity; x is always steps
            self._set_title(mp)
            for name in mp.curves:
                mp.style_curve(name)
            if mp.points is not None:
                mp.points.setSize(theme.marker(7))
                mp.points.setPen(pg.mkPen(None))
                mp.points.setBrush(pg.mkBrush(theme.color("estimate")))
                mp.bars.setData(pen=theme.pen("estimate", 1.5))
            if mp.ref is not None:
                mp.ref.setPen(theme.pen(theme.MUTED, 1.0, style=Qt.DotLine))
            mp.note.setFont(theme.font(11))
            mp.legend.apply_style()
        for lab in (self.params, self.notice):
            lab.setFont(theme.font(11))
        self.params.setStyleSheet(f"color: {theme.FG}; padding: 2px 6px;")
        self.notice.setStyleSheet(f"color: {theme.FG}; background: #2c4a6e; padding: 3px 6px;")
        self.warning.setFont(theme.font(10))
        self.warning.setStyleSheet("color: #1a1a1a; background: #e0b040; padding: 3px 6px;")
        self.warning.setMaximumHeight(int(self.warning.fontMetrics().lineSpacing() * (WARNING_LINES + 0.5) + 8))
        self.glw.setMinimumHeight(int(MIN_PLOT_H * s))
        self._seen = {}
        self._shape = (0, 0)
        self._relayout()
        self.update_history(self._history)

    def set_presenter(self, on: bool) -> None:
        theme.set_presenter(on)
        self.apply_style()

    # ------------------------------------------------------------------ public API
    def set_plots(self, keys: list[str] | tuple[str, ...] | None) -> None:
        """The plots to show (view.plots), in order; None: automatic."""
        chosen = None if keys is None else tuple(k for k in keys if k in self.plots)
        if chosen != self._chosen:
            self._chosen = chosen
            self._show(self._wanted())

    def visible_plots(self) -> tuple[str, ...]:
        return self._visible

    def set_binary(self, on: bool) -> None:
        """Binary models: chain diagnostics (ESS, R-hat) say 'n/a for binary states'."""
        if on != self._binary:
            self._binary = on
            self._seen = {}

    def clear(self) -> None:
        """A new run: empty every series and reset every range."""
        self._x_max = -1.0
        self.warning.hide()
        self.warning.setToolTip("")
        self.params.hide()
        self.notice.hide()
        self._history = {}
        self._seen = {}
        self._frozen = False
        for mp in self.plots.values():
            for c in mp.curves.values():
                c.setData([], [])
            for name in mp.bands:
                mp.band(name, np.zeros(0), np.zeros(0), np.zeros(0))
            if mp.points is not None:
                mp.points.setData([], [])
                mp.bars.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
                mp.bars.setVisible(False)
            mp.legend.set_entries([])
            mp.latest = ""
            mp.x_range = mp.y_range = ()
            mp.set_ranges(EMPTY_RANGE, EMPTY_RANGE)
            mp.set_note("")
        self._show(self._wanted())
        self.apply_titles()

    def set_snapshot(self, snap: Snapshot) -> None:
        extras = snap.extras or {}
        self._frozen = bool(extras.get("notice")) and "loss" not in snap.history
        self.update_history(snap.history)
        if snap.params:
            self.params.setText(parameters_text(snap))
        self.params.setVisible(bool(snap.params))
        notice = extras.get("notice")
        if notice:
            self.notice.setText(notice)
        self.notice.setVisible(bool(notice))
        text = extras.get("logz_warning")
        if text:
            full = f"log Z estimate at step {snap.step}: {text}"
            if full != self.warning.toolTip():
                self.warning.setToolTip(full)  # the whole text; the label shows what fits in WARNING_LINES
                self._fit_warning()
        self.warning.setVisible(bool(text))

    def update_history(self, history: dict[str, tuple[np.ndarray, ...]]) -> None:
        """setData on every series that changed since the last call; missing series are emptied."""
        self._history = history
        if self._chosen is None:
            wanted = self._wanted()
            if wanted != self._visible:
                self._show(wanted)
        last = max((float(v[0][-1]) for v in history.values() if len(v[0])), default=-1.0)
        if last > self._x_max:
            self._x_max = last
        top = nice_ceiling(max(last, 1.0)) if last >= 0 else 1.0
        x_range = (-0.02 * top, 1.02 * top)
        for key in self._visible:
            self._update_plot(self.plots[key], history, x_range)

    def apply_titles(self) -> None:
        for key in self._visible:
            mp = self.plots[key]
            self._set_title(mp)

    # ------------------------------------------------------------------ internals
    def _wanted(self) -> tuple[str, ...]:
        return self._chosen if self._chosen is not None else automatic_plots(self._history.keys())

    def _title(self, mp: MetricPlot) -> str:
        return mp.spec.title + (f"  ·  {mp.latest}" if mp.latest else "")

    def _set_title(self, mp: MetricPlot) -> None:
        set_title(mp.item, self._title(mp), self._title_pt(mp))

    def _refit_title(self, mp: MetricPlot) -> None:
        if mp.spec.key in self._visible and mp.item.titleLabel.isVisible():
            self._set_title(mp)

    def _title_pt(self, mp: MetricPlot) -> float:
        """TITLE_PT, or less (down to MIN_TITLE_PT) when the whole title would not fit the plot's width."""
        text, width = self._title(mp), mp.item.vb.width()  # the title sits over the view box, not the axis
        if width <= 0:
            return TITLE_PT
        pt = TITLE_PT
        while pt > MIN_TITLE_PT and QFontMetrics(theme.font(pt)).horizontalAdvance(text) > width - 12:
            pt -= 0.5
        return pt

    def _update_plot(self, mp: MetricPlot, history: dict, x_range: tuple[float, float]) -> None:
        spec = mp.spec
        names = [n for n in history if plot_of(n) == spec.key]
        changed = False
        for name in list(mp.curves):
            if name not in history and self._changed(name, None):
                mp.curves[name].setData([], [])
                if name in mp.bands:
                    mp.band(name, np.zeros(0), np.zeros(0), np.zeros(0))
                changed = True
        arrays = []
        for name in names:
            series = history[name]
            if name == ESTIMATE:
                changed |= self._update_estimate(mp, series)
                continue
            steps, values = _finite(series[0], series[1])
            held = name == "log_z_exact" and self._frozen and len(steps) and self._x_max > steps[-1]
            if held:  # nothing is trained: the exact value holds at every step, drawn as the line the notes name
                steps, values = np.append(steps, self._x_max), np.append(values, values[-1])
            if spec.clip is not None:
                values = np.minimum(values, spec.clip)
            if self._changed(name, (steps, values) if held else series):
                mp.curve(name).setData(steps, values)
                if len(series) > 2:
                    ok = np.isfinite(series[1])
                    se = np.nan_to_num(np.asarray(series[2], float)[ok], nan=0.0, posinf=0.0)
                    mp.band(name, steps, values - 2 * se, values + 2 * se)
                changed = True
            keep = slice(None)
            if spec.recent is not None and len(steps):  # the range follows the recent part, not a burn-in
                keep = steps >= steps[-1] * (1.0 - spec.recent)
            if len(series) > 2 and name in mp.bands:
                arrays += [mp.bands[name][0].yData[keep], mp.bands[name][1].yData[keep]]
            arrays.append(values[keep])
        if mp.points is not None and ESTIMATE in history:
            est = history[ESTIMATE]
            v, se = np.asarray(est[1], float), np.asarray(est[2], float) if len(est) > 2 else 0.0
            arrays += [v - 2 * np.nan_to_num(se), v + 2 * np.nan_to_num(se)]
        na = spec.binary_na and self._binary
        nothing = spec.key == "loss" and self._frozen
        mp.set_note(NA_BINARY if na else NOTHING_TO_TRAIN if nothing else "")
        if not changed and mp.x_range == x_range:
            return
        if spec.fixed is not None:
            y = spec.fixed
        else:
            y = keep_or_refit(mp.y_range or None, data_range(*arrays), floor=spec.floor)
            if spec.clip is not None:
                y = (y[0], min(y[1], spec.clip * 1.05))
            if spec.reference is not None and arrays:
                y = (min(y[0], spec.reference - 0.02), max(y[1], spec.reference + 0.02))
        mp.set_ranges(x_range if arrays else EMPTY_RANGE, y)
        self._update_legend(mp, names)
        latest = self._latest(mp, names, history)
        if latest != mp.latest:
            mp.latest = latest
            self._set_title(mp)

    def _latest(self, mp: MetricPlot, names: list[str], history: dict) -> str:
        """The title's latest value: a lone series' value, or log Z's exact value. A plot of several series
        shows each one's latest value in its legend entry instead (titles must stay short to fit)."""
        spec = mp.spec
        shown = [n for n in names if n != ESTIMATE and len(history[n][1])]
        if len(shown) == 1 and len(names) == 1:
            return fmt_value(float(history[shown[0]][1][-1]), spec.clip)
        if spec.key == "logz" and "log_z_exact" in shown:
            return "exact " + fmt_value(float(history["log_z_exact"][1][-1]))
        return ""

    def _update_estimate(self, mp: MetricPlot, series: tuple) -> bool:
        if not self._changed(ESTIMATE, series):
            return False
        steps = np.asarray(series[0], float)
        values = np.asarray(series[1], float)
        se = np.asarray(series[2], float) if len(series) > 2 else np.zeros_like(values)
        ok = np.isfinite(values)
        steps, values, se = steps[ok], values[ok], np.nan_to_num(se[ok], nan=0.0, posinf=0.0)
        mp.points.setData(steps, values)
        mp.bars.setData(x=steps, y=values, height=4.0 * se)  # full height: ±2 SE
        mp.bars.setVisible(bool(len(steps)))  # an empty one would pull ranges to 0
        return True

    def _update_legend(self, mp: MetricPlot, names: list[str]) -> None:
        entries = []
        for name in names:
            if name == ESTIMATE:
                entries.append((theme.COLORS["estimate"], "dot", ESTIMATE_LABEL))
                continue
            meaning, label, _, style = series_style(name, list(mp.curves))
            if label is not None and (len(names) > 1 or name not in SERIES):
                values = self._history.get(name, ((), ()))[1]
                if len(names) > 1 and mp.spec.key != "logz" and len(values) and math.isfinite(float(values[-1])):
                    label = f"{label} {float(values[-1]):.3g}"  # the latest value, where the reader looks
                entries.append((theme.COLORS.get(meaning, meaning), style, label))
        mp.legend.set_entries(entries)

    def _changed(self, name: str, series: tuple | None) -> bool:
        if series is None or not len(series[0]):
            key: tuple = ()
        else:
            key = (len(series[0]), float(series[0][-1]), float(series[1][-1]), float(series[0][0]))
        if self._seen.get(name) == key:
            return False
        self._seen[name] = key
        return True

    def _show(self, keys: tuple[str, ...]) -> None:
        """Put exactly these plots in the grid (in order)."""
        if keys == self._visible:
            return
        self._visible = keys
        self._shape = (0, 0)
        self._seen = {}
        self._relayout()
        self.apply_titles()

    def _relayout(self) -> None:
        k = len(self._visible)
        w, h = max(self.glw.width(), 1), max(self.glw.height(), 1)
        shape = grid_shape(k, w, h, max_cols=max(1, int(w // (MIN_PLOT_W * theme.scale()))))
        if shape == self._shape:
            return
        self._shape = shape
        ci = self.glw.ci
        for mp in self.plots.values():
            if mp.item.scene() is not None and mp.item in ci.items:
                ci.removeItem(mp.item)
            mp.item.setVisible(False)
        rows, cols = shape
        k = len(self._visible)
        for i, key in enumerate(self._visible):
            mp = self.plots[key]
            mp.item.setVisible(True)
            ci.addItem(mp.item, row=i // cols, col=i % cols)
            below = i + cols < k  # another plot under this one: the steps are read off the lowest row
            mp.item.getAxis("bottom").setStyle(showValues=not below)
        s = theme.scale()
        self.glw.setMinimumHeight(int(max(rows, 1) * MIN_PLOT_H * s))
        self.setMinimumWidth(int(min(max(cols, 1), 2) * MIN_PLOT_W * s))

    def _fit_warning(self) -> None:
        """The warning cut with '…' to about WARNING_LINES lines of the current width (hover: all of it)."""
        full = self.warning.toolTip()
        fm = self.warning.fontMetrics()
        width = max(self.width() - 16, 50)
        self.warning.setText(fm.elidedText(full, Qt.TextElideMode.ElideRight, int(0.9 * width * WARNING_LINES)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._relayout()
        if self.warning.toolTip():
            self._fit_warning()


def _finite(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    s = np.asarray(steps, float)
    return (s, v) if ok.all() else (s[ok], v[ok])
