"""The state view for binary models: the top-K states by exact model probability, with data and sample
frequencies beside them, the patterns of those states underneath, and a strip of current samples."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...core.snapshot import Landscape, Snapshot
from . import theme
from .legend_row import LegendRow
from .titles import set_title, steady_label

TOP_K = 24
N_SAMPLES = 16
BAR_W = 0.28
SERIES = (("exact", "model p (exact)", -BAR_W), ("data", "data frequency", 0.0), ("chains", "sample frequency", BAR_W))


def state_codes(rows: np.ndarray) -> np.ndarray:
    """Integer code of each binary row (bit i = unit i on; works for {0,1} and {-1,+1} states)."""
    bits = (np.asarray(rows) > 0).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1], dtype=np.int64))


def pattern_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for drawing n units: a square if n is a perfect square, else one row."""
    r = math.isqrt(n)
    return (r, r) if r * r == n else (1, n)


def mosaic(patterns: np.ndarray, shape: tuple[int, int], gap: int = 1) -> np.ndarray:
    """Patterns (k, n) side by side as one col-major image [x, y]: 0 gap, 1 off, 2 on (row 0 on top)."""
    k = len(patterns)
    r, c = shape
    img = np.zeros((max(1, k * (c + gap) - gap), r), np.float32)
    for i, p in enumerate(np.asarray(patterns) > 0):
        block = p.reshape(r, c).T[:, ::-1]  # [x, y] with y up
        img[i * (c + gap) : i * (c + gap) + c, :] = 1.0 + block
    return img


def _mosaic_lut() -> np.ndarray:
    lut = np.zeros((3, 4), np.ubyte)
    lut[0] = (*theme.color(theme.BG).getRgb()[:3], 0)
    lut[1] = (55, 60, 70, 255)
    lut[2] = (235, 235, 235, 255)
    return lut


class StateView(QWidget):
    """Bars of the K most probable states (model exact / data / samples) and their patterns."""

    def __init__(self, parent: QWidget | None = None, top_k: int = TOP_K):
        super().__init__(parent)
        self.top_k = top_k
        self._land: Landscape | None = None
        self._snap: Snapshot | None = None
        self._order = np.zeros(0, np.int64)
        self._lookup = np.zeros(0, np.int64)
        self._samples_shape: tuple = ()
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(theme.BG)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        self.bars_plot = self.glw.addPlot(row=0, col=0)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.hideButtons()
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.legend = LegendRow.below(self.bars_plot)  # under the axis: never over the bars
        self.legend.set_entries([(theme.COLORS[key], "dot", label) for key, label, _ in SERIES])
        steady_label(self.bars_plot.titleLabel, shrinkable=True)
        for key, _label, _ in SERIES:
            item = pg.BarGraphItem(x=[], height=[], width=BAR_W, brush=theme.color(key), pen=None)
            self.bars[key] = item
            self.bars_plot.addItem(item)
        self.patterns_vb = self.glw.addViewBox(row=1, col=0)
        self.patterns_vb.setMouseEnabled(x=False, y=False)
        self.patterns_vb.setXLink(self.bars_plot.vb)
        self.patterns_img = pg.ImageItem(axisOrder="col-major")
        self.patterns_img.setLookupTable(_mosaic_lut())
        self.patterns_vb.addItem(self.patterns_img)
        self.samples_label = self.glw.addLabel(row=2, col=0)
        self.samples_vb = self.glw.addViewBox(row=3, col=0)
        self.samples_vb.setMouseEnabled(x=False, y=False)
        self.samples_vb.setAspectLocked(True)
        self.samples_img = pg.ImageItem(axisOrder="col-major")
        self.samples_img.setLookupTable(_mosaic_lut())
        self.samples_vb.addItem(self.samples_img)
        self.apply_style()

    # ------------------------------------------------------------------ style
    def apply_style(self) -> None:
        s = theme.scale()
        theme.style_plot(self.bars_plot, left="probability", bottom="rank of state (by exact model p)")
        self._axis_text = ""
        self.bars_plot.showGrid(x=False, y=True, alpha=theme.GRID_ALPHA)
        self.legend.apply_style()
        self.samples_label.setText("current samples (first chains)", color=theme.MUTED, size=theme.pt(10))
        self.glw.ci.layout.setRowFixedHeight(2, 22 * s)
        self.glw.ci.layout.setRowFixedHeight(3, 70 * s)
        self._size_patterns_row()
        self._redraw()

    def set_presenter(self, on: bool) -> None:
        theme.set_presenter(on)
        self.apply_style()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._size_patterns_row()

    def _size_patterns_row(self) -> None:
        """Height of the pattern row so that its cells come out roughly square under the bars."""
        n = self._land.states.shape[1] if self._land is not None and self._land.states is not None else 9
        r, c = pattern_shape(n)
        r, c = (c, r) if r == 1 else (r, c)  # non-square patterns stand upright under their bar
        unit_px = max(8.0, (self.glw.width() - 80 * theme.scale()) / max(1, self.top_k))
        h = float(np.clip(unit_px * r / (c + 1), 24, 120))
        self.glw.ci.layout.setRowFixedHeight(1, h)

    # ------------------------------------------------------------------ public API
    def clear(self) -> None:
        self._land = self._snap = None
        for item in self.bars.values():
            item.setOpts(x=[], height=[])
        self.patterns_img.clear()
        self.samples_img.clear()
        self._samples_shape = ()
        self.bars_plot.setTitle(None)

    def set_landscape(self, land: Landscape) -> None:
        """Exact state probabilities (land.kind == 'states'); anything else is ignored."""
        if land.kind != "states" or land.states is None:
            return
        self._land = land
        lp = np.asarray(land.log_density, float)
        n_states = len(lp)
        k = min(self.top_k, n_states)
        order = np.argsort(-lp, kind="stable")[:k]
        self._order = order
        codes = state_codes(land.states)
        lookup = np.full(1 << land.states.shape[1], -1, np.int64)
        lookup[codes] = np.arange(n_states)
        self._lookup = lookup
        p = np.exp(lp[order])
        self.bars["exact"].setOpts(x=np.arange(k) + SERIES[0][2], height=p, width=BAR_W)
        n = land.states.shape[1]
        shape = pattern_shape(n)
        pats = land.states[order]
        if shape[0] == 1:  # one row per pattern would be a sliver; stand it up
            img = mosaic(pats, (n, 1))
            c = 1
        else:
            img = mosaic(pats, shape)
            c = shape[1]
        self.patterns_img.setImage(img, autoLevels=False, levels=(0, 2))
        x0 = -0.5 + 0.5 / (c + 1)
        self.patterns_img.setRect(QRectF(x0, 0, img.shape[0] / (c + 1), 1.0))
        self.patterns_vb.setYRange(-0.1, 1.1, padding=0)
        self.bars_plot.setXRange(-0.6, k - 0.4, padding=0)
        self.bars_plot.getAxis("bottom").setTicks([[(i, str(i + 1)) for i in range(0, k, 2 if k > 12 else 1)]])
        self._size_patterns_row()
        self._update_frequencies()

    def set_snapshot(self, snap: Snapshot) -> None:
        """Data and sample frequencies of the top states, and the current sample patterns."""
        self._snap = snap
        self._update_frequencies()
        chains = snap.chains
        if chains is None or not len(chains):
            self.samples_img.clear()
            return
        shown = chains[:N_SAMPLES]
        img = mosaic(shown, pattern_shape(chains.shape[1]))
        self.samples_img.setImage(img, autoLevels=False, levels=(0, 2))
        self.samples_img.setRect(QRectF(0, 0, img.shape[0], img.shape[1]))
        if img.shape != self._samples_shape:
            self._samples_shape = img.shape
            self.samples_vb.autoRange(padding=0.02)

    # ------------------------------------------------------------------ internals
    def _frequencies(self, rows: np.ndarray | None) -> np.ndarray | None:
        if rows is None or not len(rows) or self._land is None or rows.shape[1] != self._land.states.shape[1]:
            return None
        idx = self._lookup[state_codes(rows)]
        counts = np.bincount(idx[idx >= 0], minlength=len(self._lookup))
        return counts / max(1, len(rows))

    def _update_frequencies(self) -> None:
        if self._land is None or self._snap is None:
            return
        k = len(self._order)
        p_all = np.exp(np.asarray(self._land.log_density, float))
        stats = f"top {k}: {100 * p_all[self._order].sum():.0f}% of the mass"
        data_states = self._frequencies(self._snap.data)
        if data_states is not None:  # the claim of a patterns lesson: how much mass sits on the data's states
            on = data_states > 0
            stats = f"the data's {int(on.sum())} states hold {100 * p_all[on].sum():.1f}% of the mass"
        for key, rows in (("data", self._snap.data), ("chains", self._snap.chains)):
            f = self._frequencies(rows)
            off = dict((s[0], s[2]) for s in SERIES)[key]
            if f is None:
                self.bars[key].setOpts(x=[], height=[])
                continue
            self.bars[key].setOpts(x=np.arange(k) + off, height=f[self._order], width=BAR_W)
            if key == "chains":
                stats += f" · TV(samples, model) {0.5 * float(np.abs(f - p_all).sum()):.3f}"
        set_title(self.bars_plot, stats, 11)  # one line: pyqtgraph's title row is 30 px
        axis = f"the {k} most probable of {len(p_all)} states, by exact model p"
        if axis != self._axis_text:
            self._axis_text = axis
            self.bars_plot.setLabel("bottom", axis, color=theme.FG, **{"font-size": theme.pt(10)})

    def _redraw(self) -> None:
        if self._land is not None:
            self.set_landscape(self._land)
        if self._snap is not None:
            self.set_snapshot(self._snap)
