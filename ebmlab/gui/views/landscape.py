"""The landscape view: the model as a heatmap (2-D, 3-D slice) or a curve (1-D), with every point layer on top.

Every item is created once and updated in place. Points are drawn by `PointsItem` (one QPainter.drawPoints
call per colour, no per-point styling), trails are a fading numpy image, contours and score arrows are
numpy-computed line segments in one `connect='pairs'` curve each.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import QGraphicsItem, QLabel, QStackedLayout, QVBoxLayout, QWidget

from ...core.snapshot import Landscape, Snapshot
from . import theme
from .aspect_holder import AspectHolder
from .items import PointsItem, TrailsImage, class_boundary_segments, iso_segments, score_segments
from .legend_row import legend_html, normalise
from .titles import set_title, steady_label

POINT_LAYERS = ("data", "noise", "negatives", "chains", "noisy")  # bottom to top (a DSM batch is few points: on top)
POINT_SIZE = {"data": 2.0, "noise": 2.0, "noisy": 3.0, "negatives": 3.0, "chains": 2.0}
POINT_ALPHA = {"data": 150, "noise": 200, "noisy": 255, "negatives": 230, "chains": 255}
DENSITY_SPAN = 12.0  # nats of log-density shown below the maximum
CONTOUR_NATS = (0.5, 2.0, 4.0, 8.0)  # iso-energy lines at E_min + these
AGE_BINS = 6
TRAIL_EVERY = 2  # trails are splatted every 2nd frame (decay squared): half the numpy per frame
_NO_EDGES, _NO_BINS = np.zeros(1), np.zeros(0)  # an empty step histogram
_PRESS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)
_MOUSE_EVENTS = (*_PRESS, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease, QEvent.Type.Leave)
CURVE_LEGEND = {"model": ("exact", "model p(x)"), "data_hist": ("data", "data"), "chain_hist": ("chains", "chains")}


def _cell_rect(xs: np.ndarray, ys: np.ndarray) -> QRectF:
    dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    return QRectF(float(xs[0]) - dx / 2, float(ys[0]) - dy / 2, dx * len(xs), dy * len(ys))


class LandscapeView(QWidget):
    """The model (heatmap / slice / curve) with data, chains, trails, negatives, noisy and noise samples."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._show, self._contours, self._trails, self._arrows = "density", False, True, False
        self._layers = {k: True for k in (*POINT_LAYERS, "boundary")}
        self._land: Landscape | None = None
        self._snap: Snapshot | None = None
        self._mode = "map"
        self._rect: QRectF | None = None
        self._legend_keys: tuple = ()
        self._curve_range: tuple = ()
        self._ranged = False
        self._styles: dict[str, str] = {}
        self._label_cache: tuple = (None, None)
        self._ramp: tuple = (None, None)
        self._trail_src = None
        self._trail_frame = 0
        self._bar_state: tuple = ()
        self._jitter = np.random.default_rng(0).uniform(-1, 1, 20_000)
        self._mouse_handler = None  # set_mouse_handler: the map's left button goes to it (painting)
        self._mouse_down = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 4)
        outer.setSpacing(2)
        stack = QStackedLayout()
        stack.setContentsMargins(0, 0, 0, 0)
        self._stack = stack
        outer.addLayout(stack, 1)
        self.legend = QLabel()  # under the plot, outside it: never over the chains; wraps on a narrow pane
        self.legend.setWordWrap(True)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self._legend_entries: tuple = ()
        outer.addWidget(self.legend)
        self.map_widget, self.curve_widget = pg.PlotWidget(), pg.PlotWidget()
        for w in (self.map_widget, self.curve_widget):
            w.setBackground(theme.BG)
            w.getPlotItem().hideButtons()  # the 'A' auto-range button: the view is set to the model's box
        self.map_holder = AspectHolder(self.map_widget)  # the axes span the box, and the box keeps its shape
        self.map_holder.setAutoFillBackground(True)
        pal = self.map_holder.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(theme.BG))
        self.map_holder.setPalette(pal)
        stack.addWidget(self.map_holder)
        stack.addWidget(self.curve_widget)
        self.map, self.curve = self.map_widget.getPlotItem(), self.curve_widget.getPlotItem()
        for plot in (self.map, self.curve):
            steady_label(plot.titleLabel)  # the step counter in the title changes without a layout pass
        self._build_map()
        self._build_curve()
        self.apply_style()

    # ------------------------------------------------------------------ construction
    def _build_map(self) -> None:
        m = self.map
        m.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # a blit per frame until it changes
        self.trails = TrailsImage()
        self.contour_item = pg.PlotCurveItem(connect="pairs")
        self.boundary_item = pg.PlotCurveItem(connect="pairs")  # NCE's log-ratio 0
        self.class_item = pg.PlotCurveItem(connect="pairs")  # a labelled classifier's decision boundary
        self.arrow_item = pg.PlotCurveItem(connect="pairs")
        overlays = (self.image, self.trails, self.contour_item, self.boundary_item, self.class_item, self.arrow_item)
        for z, it in enumerate(overlays):
            it.setZValue(-20 + z)
            m.addItem(it)
        self.points: dict[str, PointsItem] = {}
        for z, name in enumerate(POINT_LAYERS):
            self.points[name] = PointsItem([theme.color(name, POINT_ALPHA[name])], POINT_SIZE[name])
            self.points[name].setZValue(z)
            m.addItem(self.points[name])
        self.trails.setZValue(len(POINT_LAYERS))  # paths over the dots, in their own colour: they stay visible
        self.points["data"].setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # the data rarely changes
        self.bar = pg.ColorBarItem(colorMap=theme.landscape_cmap("density"), values=(0, 1), interactive=False)
        self.bar.setImageItem(self.image, insert_in=m)

    def _build_curve(self) -> None:
        c = self.curve
        c.disableAutoRange()
        self.data_hist = pg.PlotCurveItem(x=_NO_EDGES, y=_NO_BINS, stepMode="center", fillLevel=0)
        self.chain_hist = pg.PlotCurveItem(x=_NO_EDGES, y=_NO_BINS, stepMode="center")
        self.model_curve = pg.PlotCurveItem()
        for it in (self.data_hist, self.chain_hist, self.model_curve):
            c.addItem(it)
        self.rugs = {n: PointsItem([theme.color(n, POINT_ALPHA[n])], POINT_SIZE[n]) for n in POINT_LAYERS}
        for it in self.rugs.values():
            c.addItem(it)

    def apply_style(self) -> None:
        """Fonts, pens and marker sizes at the current theme scale."""
        theme.style_plot(self.map, bottom="x", left="y", grid=False)
        theme.style_plot(self.curve, bottom="x", left="p(x)")
        self.bar.axis.setStyle(tickFont=theme.font(9))
        self.bar.axis.setTextPen(pg.mkPen(theme.FG))
        ticks, label = QFontMetrics(theme.font(9)), QFontMetrics(theme.font(10))
        self.bar.axis.setWidth(ticks.horizontalAdvance("-10.0") + label.height() + int(8 * theme.scale()))
        self.contour_item.setPen(theme.pen("contour", 1.0, alpha=110))
        self.boundary_item.setPen(theme.pen("boundary", 2.5, style=Qt.DashLine))
        self.class_item.setPen(theme.pen("class_boundary", 2.5, alpha=230, style=Qt.DashLine))
        self.arrow_item.setPen(theme.pen("arrows", 1.2, alpha=190))
        self.data_hist.setPen(theme.pen("data", 1.0, alpha=160))
        self.data_hist.setBrush(theme.color("data", 60))
        self.chain_hist.setPen(theme.pen("chains", 2.0))
        self.model_curve.setPen(theme.pen("exact", 3.0))
        for name in POINT_LAYERS:
            for it in (self.points[name], self.rugs[name]):
                it.set_style(size=theme.marker(POINT_SIZE[name]))
        self._bar_state = ()
        self.legend.setFont(theme.font(10))
        pal = self.legend.palette()
        pal.setColor(QPalette.ColorRole.WindowText, QColor(theme.FG))
        self.legend.setPalette(pal)
        self._legend_keys = ()
        self._styles = {}
        self._redraw()

    def set_presenter(self, on: bool) -> None:
        theme.set_presenter(on)
        self.apply_style()

    # ------------------------------------------------------------------ public API
    def set_options(
        self,
        show: str | None = None,
        contours: bool | None = None,
        trails: bool | None = None,
        arrows: bool | None = None,
        layers: dict[str, bool] | None = None,
    ) -> None:
        """Toggles; None leaves a setting unchanged. layers: 'data', 'chains', 'negatives', 'noisy', 'noise',
        'boundary' -> visible."""
        if show is not None:
            if show not in ("density", "energy"):
                raise ValueError(f"show must be 'density' or 'energy', got {show!r}")
            self._show = show
        self._contours = self._contours if contours is None else bool(contours)
        self._arrows = self._arrows if arrows is None else bool(arrows)
        if trails is not None and bool(trails) != self._trails:
            self._trails = bool(trails)
            self.trails.reset()
            self._trail_src, self._trail_frame = None, 0  # the redraw below splats the current frame
        for k, v in (layers or {}).items():
            if k in self._layers:
                self._layers[k] = bool(v)
        self._redraw()

    def set_mouse_handler(self, handler) -> None:
        """Route the map's left mouse button to `handler(kind, x, y, modifiers)` in data coordinates instead of
        panning; kind: 'press' | 'move' | 'release' | 'hover' | 'leave'. The wheel still zooms; None restores
        pyqtgraph's mouse."""
        self._mouse_handler, self._mouse_down = handler, False
        viewport = self.map_widget.viewport()
        viewport.removeEventFilter(self)
        if handler is not None:
            viewport.setMouseTracking(True)
            viewport.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        handler = self._mouse_handler
        t = event.type()
        if handler is None or t not in _MOUSE_EVENTS:
            return super().eventFilter(obj, event)
        if t == QEvent.Type.Leave:
            handler("leave", 0.0, 0.0, Qt.KeyboardModifier.NoModifier)
            return False
        scene = self.map_widget.mapToScene(event.position().toPoint())
        vb = self.map.vb
        p = vb.mapSceneToView(scene)
        x, y, mods = float(p.x()), float(p.y()), event.modifiers()
        left = event.button() == Qt.MouseButton.LeftButton
        if t in _PRESS and left and vb.sceneBoundingRect().contains(scene):
            self._mouse_down = True
            handler("press", x, y, mods)
            return True
        if t == QEvent.Type.MouseMove:
            handler("move" if self._mouse_down else "hover", x, y, mods)
            return self._mouse_down
        if t == QEvent.Type.MouseButtonRelease and left and self._mouse_down:
            self._mouse_down = False
            handler("release", x, y, mods)
            return True
        return False

    def clear(self) -> None:
        """Forget the run: empty every layer (for a new run)."""
        self._land = self._snap = None
        self.image.clear()
        self.trails.reset()
        for it in (self.contour_item, self.boundary_item, self.class_item, self.arrow_item, self.model_curve):
            it.setData([], [])
        for it in (self.data_hist, self.chain_hist):
            it.setData(_NO_EDGES, _NO_BINS)
        for it in (*self.points.values(), *self.rugs.values()):
            it.set_points(None)
        self.map.setTitle(None)
        self.curve.setTitle(None)
        self._curve_range = ()
        self._ranged = False
        self._rect = None  # the next landscape sets the range to its box (a new lesson, another box)
        self._refresh_legend(None)

    def set_landscape(self, land: Landscape) -> None:
        """The model on its grid: 'image' / 'slice' -> heatmap, 'curve' -> 1-D density curve."""
        if land.kind == "states":
            return
        self._land = land
        self._set_mode("curve" if land.kind == "curve" else "map")
        if land.kind == "curve":
            self._draw_curve(land)
        else:
            self._draw_map(land)

    def set_snapshot(self, snap: Snapshot) -> None:
        """Point layers from the latest snapshot (cheap: meant for every frame)."""
        self._snap = snap
        if self._land is None:
            self._set_mode("curve" if snap.data.ndim == 2 and snap.data.shape[1] == 1 else "map")
        if self._mode == "curve":
            self._snap_curve(snap)
        else:
            self._snap_map(snap)

    # ------------------------------------------------------------------ drawing
    def _set_mode(self, mode: str) -> None:
        if mode != self._mode:
            self._mode = mode
            self._legend_keys = ()
        self._stack.setCurrentWidget(self.curve_widget if mode == "curve" else self.map_holder)

    def _redraw(self) -> None:
        if self._land is not None:
            self.set_landscape(self._land)
        if self._snap is not None:
            self.set_snapshot(self._snap)

    def _levels(self, land: Landscape) -> tuple[np.ndarray, tuple[float, float], str]:
        if self._show == "density":
            lp = land.log_density
            fin = lp[np.isfinite(lp)]
            top = float(np.ceil(fin.max() * 2.0) / 2.0) if fin.size else 0.0  # half-nat steps: the bar stays put
            img = np.nan_to_num(lp, nan=top - DENSITY_SPAN, neginf=top - DENSITY_SPAN, posinf=top)
            return img.astype(np.float32), (top - DENSITY_SPAN, top), f"log p(x), top {DENSITY_SPAN:g} nats"
        e = land.energy
        fin = e[np.isfinite(e)]
        lo, hi = (float(fin.min()), float(np.percentile(fin, 60))) if fin.size else (0.0, 1.0)
        hi = max(hi, lo + 1e-6)
        q = 10.0 ** np.floor(np.log10(hi - lo)) / 4  # round outward to a quarter decade: the bar stays put
        lo, hi = float(np.floor(lo / q) * q), float(np.ceil(hi / q) * q)
        img = np.nan_to_num(e, nan=hi, posinf=hi, neginf=lo)
        return img.astype(np.float32), (lo, hi), "E(x), clipped at 60th pct"

    def _draw_map(self, land: Landscape) -> None:
        xs, ys = land.axes[0], land.axes[1]
        rect = _cell_rect(xs, ys)
        img, levels, label = self._levels(land)
        dens = self._show == "density"
        cmap = (
            theme.colormap(theme.DENSITY_CMAP, theme.DENSITY_TOP)
            if dens
            else theme.colormap(theme.ENERGY_CMAP, theme.ENERGY_TOP)
        )
        self.image.setImage(img, autoLevels=False, levels=levels)
        self.image.setRect(rect)  # after setImage: the transform depends on the image's shape
        if rect != self._rect:
            self._rect = rect
            self.trails.set_box(rect)
            self.map.setRange(rect, padding=0.0)
            self.map_holder.set_ratio(rect.width() / rect.height())
        if (dens, levels, label, theme.scale()) != self._bar_state:  # the colour bar's ticks re-lay out the plot
            self._bar_state = (dens, levels, label, theme.scale())
            self.bar.setColorMap(cmap)
            self.bar.setLevels(levels)
            self.bar.axis.setLabel(label, color=theme.FG, **{"font-size": theme.pt(10)})
        title = ("Model density" if dens else "Energy E(x)") + f"  ·  step {land.step}"
        if land.kind == "slice" and land.slice_at is not None:
            title += f"  ·  slice z = {land.slice_at:.2f}"
        set_title(self.map, title, 12)
        e = land.energy
        if self._contours and np.isfinite(e).any():
            k = max(1, int(np.ceil(max(e.shape) / 160)))
            emin = float(np.nanmin(np.where(np.isfinite(e), e, np.nan)))
            cx, cy = iso_segments(e[::k, ::k], [emin + n for n in CONTOUR_NATS], xs[::k], ys[::k])
            self.contour_item.setData(cx, cy)
        else:
            self.contour_item.setData([], [])
        self.arrow_item.setData(*(score_segments(e, xs, ys) if self._arrows else ([], [])))
        extras = getattr(land, "extras", None) or {}
        ratio = extras.get("nce_log_ratio")
        if self._layers["boundary"] and ratio is not None and np.shape(ratio) == e.shape:
            self.boundary_item.setData(*iso_segments(np.asarray(ratio, float), [0.0], xs, ys))
        else:
            self.boundary_item.setData([], [])
        self.class_item.setData(*class_boundary_segments(extras.get("class_margin"), e.shape, xs, ys))
        self._refresh_legend(self._snap)  # a boundary appeared or went: its legend entry follows at once

    def _groups(self, name: str, snap: Snapshot) -> tuple[np.ndarray | None, list[QColor] | None]:
        if name == "data" and snap.labels is not None and len(snap.labels) == len(snap.data):
            if self._label_cache[0] is not snap.labels:
                _, inv = np.unique(snap.labels, return_inverse=True)
                self._label_cache = (snap.labels, inv.ravel() % len(theme.LABEL_COLORS))
            cols = [QColor(c) for c in theme.LABEL_COLORS]
            for c in cols:
                c.setAlpha(POINT_ALPHA["data"])
            return self._label_cache[1], cols
        if name == "negatives" and snap.chain_age is not None and snap.negatives is not None:
            if len(snap.chain_age) == len(snap.negatives):
                g = np.clip(np.log2(np.maximum(snap.chain_age, 0) + 1).astype(np.intp), 0, AGE_BINS - 1)
                key = ("negatives", theme.scale())
                if self._ramp[0] != key:
                    self._ramp = (key, theme.ramp("negatives", AGE_BINS))
                return g, self._ramp[1]
        return None, None

    def _snap_map(self, snap: Snapshot) -> None:
        for name in POINT_LAYERS:
            arr = getattr(snap, name)
            item = self.points[name]
            if not self._layers[name] or arr is None or arr.ndim != 2 or arr.shape[1] < 2:
                if item.count():
                    item.set_points(None)
                continue
            groups, cols = self._groups(name, snap)
            tag = "plain" if cols is None else "grouped"
            if self._styles.get(name) != tag:
                self._styles[name] = tag
                item.set_style(colors=cols or [theme.color(name, POINT_ALPHA[name])])
            item.set_points(arr, groups)
        if self._rect is None and self.points["data"].count() and not self._ranged:
            self._ranged = True  # no landscape yet: frame the data once
            self.map.autoRange(items=[self.points["data"]])
        chains = snap.chains
        moving = chains is not None and chains is not self._trail_src  # a paused run re-sends the same chains
        if self._trails and self._rect is not None and moving and chains.ndim == 2 and chains.shape[1] > 1:
            self._trail_src = chains
            if self._trail_frame % TRAIL_EVERY == 0:  # a fading image reads the same at half the frame rate
                self.trails.splat(chains)
            self._trail_frame += 1
        self.trails.setVisible(self._trails)
        self._refresh_legend(snap)

    def _draw_curve(self, land: Landscape) -> None:
        x = land.axes[0]
        dens = self._show == "density"
        if dens:
            y = np.exp(np.clip(land.log_density, -700, 50))
        else:
            fin = land.energy[np.isfinite(land.energy)]
            hi = float(np.percentile(fin, 60)) if fin.size else 1.0
            y = np.minimum(np.nan_to_num(land.energy, nan=hi, posinf=hi), hi)
        self.model_curve.setData(x, y)
        self.curve.setLabel("left", "p(x)" if dens else "E(x)", color=theme.FG, **{"font-size": theme.pt(10)})
        title = ("Model density p(x)" if dens else "Energy E(x)") + f"  ·  step {land.step}"
        set_title(self.curve, title, 12)
        dx = float(x[1] - x[0])
        self._edges = np.linspace(float(x[0]) - dx / 2, float(x[-1]) + dx / 2, 61)
        self._ycurve = (float(np.nanmin(y)) if not dens else 0.0, float(np.nanmax(y)))
        if self._snap is None:
            self._fit_curve_range(0.0)

    def _fit_curve_range(self, hist_top: float, rows: int = 2) -> None:
        lo, hi = self._ycurve
        top = max(hi, hist_top) if self._show == "density" else hi
        span = max(top - lo, 1e-9)
        self._row = 0.07 * span
        rng = (self._edges[0], self._edges[-1], lo - (rows + 0.7) * self._row, top + 0.08 * span)
        if rng != self._curve_range:
            self._curve_range = rng
            self.curve.setRange(xRange=rng[:2], yRange=rng[2:], padding=0)

    def _snap_curve(self, snap: Snapshot) -> None:
        if self._land is None:
            return
        dens = self._show == "density"
        hist_top = 0.0
        for item, arr in ((self.data_hist, snap.data), (self.chain_hist, snap.chains)):
            if dens and arr is not None and len(arr) and arr.shape[1] >= 1:
                h, _ = np.histogram(arr[:, 0], bins=self._edges, density=True)
                item.setData(self._edges, h)
                hist_top = max(hist_top, float(h.max()))
            else:
                item.setData(_NO_EDGES, _NO_BINS)
        present = [n for n in reversed(POINT_LAYERS) if self._layers[n] and getattr(snap, n) is not None]
        self._fit_curve_range(hist_top, len(present))
        for name in POINT_LAYERS:
            if name not in present:
                self.rugs[name].set_points(None)
        for row, name in enumerate(present):  # one rug row per layer present, chains on top
            arr = getattr(snap, name)
            n = min(len(arr), len(self._jitter))
            y = self._ycurve[0] - (row + 1) * self._row + 0.3 * self._row * self._jitter[:n]
            self.rugs[name].set_points(np.column_stack([arr[:n, 0], y]))
        self._refresh_legend(snap)

    def _refresh_legend(self, snap: Snapshot | None) -> None:
        keys = []
        for name in POINT_LAYERS:
            if snap is not None and self._layers[name] and getattr(snap, name) is not None:
                pcd = name == "negatives" and snap.chain_age is not None
                keys.append("pcd" if pcd else name)
        curve = self._mode == "curve"
        if curve:
            keys = ["model", "data_hist", "chain_hist"] + [k for k in keys if k not in ("data", "chains")]
        else:
            for key, item in (("boundary", self.boundary_item), ("class_boundary", self.class_item)):
                if self._land is not None and item.xData is not None and len(item.xData):
                    keys.append(key)
            keys += [k for k, on in (("contours", self._contours), ("arrows", self._arrows)) if on]
            if self._trails and snap is not None and snap.chains is not None and self._layers["chains"]:
                keys.append("trails")
        keys = (self._show, *keys)
        if keys == self._legend_keys:
            return
        self._legend_keys = keys
        entries = []
        for k in keys[1:]:
            if k in CURVE_LEGEND:
                meaning, label = CURVE_LEGEND[k]
                label = "model E(x)" if k == "model" and self._show == "energy" else label
                entries.append((theme.COLORS[meaning], "line", label))
            else:
                meaning = "negatives" if k == "pcd" else k
                line = k in ("boundary", "contours", "arrows", "class_boundary", "trails")
                entries.append((theme.COLORS[meaning], "line" if line else "dot", theme.LABELS[k]))
        self.set_legend(entries)

    def set_legend(self, entries) -> None:
        """The legend under the plot: [(colour, style, label)] (see legend_row.legend_html)."""
        entries = normalise(entries)
        if entries != self._legend_entries:
            self._legend_entries = entries
            self.legend.setText(legend_html(entries))
            self.legend.setVisible(bool(entries))

    def legend_entries(self) -> tuple:
        return self._legend_entries
