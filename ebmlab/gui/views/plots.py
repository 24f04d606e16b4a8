"""Training metrics over steps: loss, exact NLL, log Z (exact vs estimates ±2 SE vs NCE's c) and sampler
diagnostics. Every curve is created once; a frame only calls setData on series whose length or last
point changed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...core.snapshot import Snapshot
from . import theme

# plot key -> (title, y label)
PLOTS = {
    "loss": ("Estimator loss", "loss"),
    "nll": ("Exact NLL (held-out)", "nats / point"),
    "logz": ("log Z", "log Z"),
    "accept": ("Sampler acceptance", "rate"),
    "ess": ("ESS (min over dims)", "samples"),
    "rhat": ("Split R-hat (max over dims)", "R-hat"),
}
LAYOUT = (("loss", "nll", "logz"), ("accept", "ess", "rhat"))
# series name -> (plot key, colour meaning, legend label or None, line width)
CURVES = {
    "loss": ("loss", "loss", None, 2.0),
    "nll_exact": ("nll", "exact", None, 2.0),
    "log_z_exact": ("logz", "exact", "exact", 2.5),
    "c": ("logz", "c", "NCE c (estimates log Z)", 2.0),
    "accept": ("accept", "chains", None, 2.0),
    "ess": ("ess", "chains", None, 2.0),
    "rhat": ("rhat", "chains", None, 2.0),
}
ESTIMATE = "logz_estimate"


class MetricsPlots(QWidget):
    """A 2 x 3 grid of small plots fed from `snap.history` (name -> (steps, values[, stderr]))."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(theme.BG)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.params = QLabel()  # the model's named parameters (expression models), live
        self.params.setStyleSheet(f"color: {theme.FG}; padding: 2px 6px;")
        self.params.hide()
        lay.addWidget(self.params)
        lay.addWidget(self.glw)
        self.warning = QLabel()  # the latest log Z estimate's warning, in plain language
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #1a1a1a; background: #e0b040; padding: 3px 6px;")
        self.warning.hide()
        lay.addWidget(self.warning)
        self._x_max = -1.0
        self.plots: dict[str, pg.PlotItem] = {}
        for r, row in enumerate(LAYOUT):
            for c, key in enumerate(row):
                p = self.glw.addPlot(row=r, col=c)
                p.hideButtons()
                self.plots[key] = p
        for key, p in self.plots.items():
            if key != "loss":
                p.setXLink(self.plots["loss"])
        self.plots["accept"].setYRange(0, 1.02, padding=0)
        self.plots["accept"].enableAutoRange(y=False)
        self.rhat_ref = pg.InfiniteLine(pos=1.01, angle=0, movable=False)
        self.plots["rhat"].addItem(self.rhat_ref)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, (key, _, _, _) in CURVES.items():
            self.curves[name] = self.plots[key].plot([], [])
        self.estimate_points = pg.ScatterPlotItem(size=7)
        self.error_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0)
        self.plots["logz"].addItem(self.error_bars)
        self.plots["logz"].addItem(self.estimate_points)
        self.legend = pg.LegendItem(offset=(-4, -4))  # bottom right: log Z usually rises, then settles
        self.legend.setParentItem(self.plots["logz"].vb)
        self._legend_keys: tuple = ()
        self._seen: dict[str, tuple] = {}
        self._history: dict = {}
        self.apply_style()

    # ------------------------------------------------------------------ style
    def apply_style(self) -> None:
        for key, p in self.plots.items():
            title, ylabel = PLOTS[key]
            theme.style_plot(p, title=title, left=ylabel, bottom="step" if key in LAYOUT[1] else None)
        for name, (_, meaning, _, width) in CURVES.items():
            self.curves[name].setPen(theme.pen(meaning, width, style=Qt.DashLine if name == "c" else None))
        self.estimate_points.setSize(theme.marker(7))
        self.estimate_points.setPen(pg.mkPen(None))
        self.estimate_points.setBrush(pg.mkBrush(theme.color("estimate")))
        self.error_bars.setData(pen=theme.pen("estimate", 1.5))
        self.rhat_ref.setPen(theme.pen(theme.MUTED, 1.0, style=Qt.DotLine))
        theme.style_legend(self.legend)
        self._seen = {}
        self._legend_keys = ()
        self.update_history(self._history)

    def set_presenter(self, on: bool) -> None:
        theme.set_presenter(on)
        self.apply_style()

    # ------------------------------------------------------------------ public API
    def clear(self) -> None:
        self._x_max = -1.0
        self.warning.hide()
        self.params.hide()
        self._history = {}
        self._seen = {}
        for c in self.curves.values():
            c.setData([], [])
        self.estimate_points.setData([], [])
        self.error_bars.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
        self.error_bars.setVisible(False)
        self._refresh_legend()

    def set_snapshot(self, snap: Snapshot) -> None:
        self.update_history(snap.history)
        if snap.params:
            self.params.setText("parameters:   " + "     ".join(f"{k} = {v:.4g}" for k, v in snap.params.items()))
        self.params.setVisible(bool(snap.params))
        text = (snap.extras or {}).get("logz_warning")
        if text:
            self.warning.setText(f"log Z estimate at step {snap.step}: {text}")
        self.warning.setVisible(bool(text))

    def update_history(self, history: dict[str, tuple[np.ndarray, ...]]) -> None:
        """setData on every series that changed since the last call; missing series are emptied."""
        self._history = history
        for name, curve in self.curves.items():
            series = history.get(name)
            if self._changed(name, series):
                if series is None:
                    curve.setData([], [])
                else:
                    steps, values = _finite(series[0], series[1])
                    curve.setData(steps, values)
        series = history.get(ESTIMATE)
        if self._changed(ESTIMATE, series):
            if series is None or not len(series[0]):
                self.estimate_points.setData([], [])
                self.error_bars.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
            else:
                steps = np.asarray(series[0], float)
                values = np.asarray(series[1], float)
                se = np.asarray(series[2], float) if len(series) > 2 else np.zeros_like(values)
                ok = np.isfinite(values)
                steps, values, se = steps[ok], values[ok], np.nan_to_num(se[ok], nan=0.0, posinf=0.0)
                self.estimate_points.setData(steps, values)
                self.error_bars.setData(x=steps, y=values, height=4.0 * se)  # full height: ±2 SE
        self.error_bars.setVisible(bool(self._seen.get(ESTIMATE)))  # an empty one would pull autorange to 0
        self._refresh_legend()
        self._fit_steps(history)

    def _fit_steps(self, history: dict) -> None:
        """The plots share one step axis: fit it to the longest series (a frozen model has no loss curve)."""
        last = max((float(v[0][-1]) for v in history.values() if len(v[0])), default=-1.0)
        if last != self._x_max and last >= 0:
            self._x_max = last
            self.plots["loss"].setXRange(0, max(last, 1.0), padding=0.02)

    def _refresh_legend(self) -> None:
        keys = tuple(n for n in ("log_z_exact", "c", ESTIMATE) if self._seen.get(n))
        if keys == self._legend_keys:
            return
        self._legend_keys = keys
        self.legend.clear()
        for name in keys:
            if name == ESTIMATE:
                self.legend.addItem(self.estimate_points, "estimate ±2 SE")
            else:
                self.legend.addItem(self.curves[name], CURVES[name][2])
        theme.style_legend(self.legend)

    # ------------------------------------------------------------------ internals
    def _changed(self, name: str, series: tuple | None) -> bool:
        if series is None or not len(series[0]):
            key: tuple = ()
        else:
            key = (len(series[0]), float(series[0][-1]), float(series[1][-1]), float(series[0][0]))
        if self._seen.get(name) == key:
            return False
        self._seen[name] = key
        return True


def _finite(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    s = np.asarray(steps, float)
    return (s, v) if ok.all() else (s[ok], v[ok])
