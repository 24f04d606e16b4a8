"""Fast drawing primitives for the views: a drawPoints point cloud, a fading trails image, and numpy
line segments (iso-contours by marching squares, score arrows) for one connect='pairs' curve each."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from . import theme


class PointsItem(pg.GraphicsObject):
    """Thousands of dots of a fixed pixel size, drawn with one QPainter.drawPoints per colour group."""

    def __init__(self, colors: list[QColor], size: float = 2.0):
        super().__init__()
        self._colors = colors
        self._size = size
        self._pens: list[QPen] = []
        self._views: list[np.ndarray] = []
        self._dev_polys: list = []
        self._dev_views: list[np.ndarray] = []
        self._rect = QRectF()
        self._pad = (0.0, 0.0)
        self._n = 0
        self._last_xy: np.ndarray | None = None
        self._last_groups: np.ndarray | None = None
        self._make_pens()

    def _make_pens(self) -> None:
        self._pens = []
        for c in self._colors:
            p = QPen(c)
            p.setWidthF(self._size)
            p.setCapStyle(Qt.SquareCap)
            self._pens.append(p)

    def set_style(self, colors: list[QColor] | None = None, size: float | None = None) -> None:
        self._colors = colors if colors is not None else self._colors
        self._size = size if size is not None else self._size
        self._make_pens()
        self._last_xy = None
        self.update()

    def count(self) -> int:
        return self._n

    def set_points(self, xy: np.ndarray | None, groups: np.ndarray | None = None) -> None:
        """Positions (n, >=2) (first two columns drawn); groups: (n,) colour indices into the colours.
        The arrays are kept by reference (snapshots are immutable); device coordinates are computed at paint.
        The same arrays as last time (e.g. the training data, shared by every snapshot) change nothing."""
        if xy is not None and xy is self._last_xy and groups is self._last_groups:
            return
        self._last_xy, self._last_groups = xy, groups
        rect = QRectF()
        parts: list[np.ndarray] = []
        if xy is not None and len(xy):
            xy = np.asarray(xy)[:, :2]
            ok = np.isfinite(xy).all(axis=1)
            if not ok.all():
                xy, groups = xy[ok], (None if groups is None else groups[ok])
            if len(xy):
                lo, hi = xy.min(axis=0), xy.max(axis=0)
                rect = QRectF(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
            if groups is None or len(self._colors) == 1:
                parts = [xy]
            else:
                g = np.clip(groups.astype(np.intp), 0, len(self._colors) - 1)
                order = np.argsort(g, kind="stable")
                ends = np.cumsum(np.bincount(g, minlength=len(self._colors)))
                parts = np.split(xy[order], ends[:-1])
        self._views = parts
        while len(self._dev_views) < len(parts):
            self._dev_polys.append(None)
            self._dev_views.append(np.empty((0, 2)))
        self._n = sum(len(p) for p in parts)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def viewTransformChanged(self) -> None:  # noqa: N802 (Qt naming)
        self.prepareGeometryChange()
        pw, ph = self.pixelWidth(), self.pixelHeight()
        self._pad = (4 * self._size * (pw or 0.0), 4 * self._size * (ph or 0.0))

    def boundingRect(self) -> QRectF:  # noqa: N802
        if not self._n:
            return QRectF()
        px, py = self._pad
        return self._rect.adjusted(-px, -py, px, py)

    def paint(self, p: QPainter, *args) -> None:
        # Map to device pixels in numpy and draw with an identity transform: Qt's fastest path (~400 fps
        # for 10k square dots), and dots stay square at any zoom or aspect ratio.
        t = p.transform()
        a, b, c, d, dx, dy = t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()
        p.resetTransform()
        p.setRenderHint(QPainter.Antialiasing, False)
        for i, (view, pen) in enumerate(zip(self._views, self._pens)):
            if not len(view):
                continue
            if len(self._dev_views[i]) != len(view):
                self._dev_polys[i] = fn.create_qpolygonf(len(view))
                self._dev_views[i] = fn.ndarray_from_qpolygonf(self._dev_polys[i])
            dev = self._dev_views[i]
            np.multiply(view[:, 0], a, out=dev[:, 0])
            dev[:, 0] += view[:, 1] * c + dx
            np.multiply(view[:, 0], b, out=dev[:, 1])
            dev[:, 1] += view[:, 1] * d + dy
            np.clip(dev, -1e6, 1e6, out=dev)
            p.setPen(pen)
            p.drawPoints(self._dev_polys[i])
        p.setTransform(t)


class TrailsImage(pg.GraphicsObject):
    """Fading trails of the chains: a float32 count image acc[iy, ix] over the box, multiplied by `decay` and
    splatted each time with the path of up to `chains` chains since the previous splat (each move drawn as a
    line, one point per pixel of the longest move), so a trail shows where a chain went, not only where the
    cloud is. Drawn as one premultiplied ARGB image (no per-frame conversion in Qt); ~1 ms of numpy per splat."""

    MAX_SAMPLES = 256  # points per move: one per pixel of the longest move (a move across the box at most)

    def __init__(self, res: int = 256, decay: float = 0.9, chains: int = 48):
        super().__init__()
        self.res, self.decay, self.chains = res, decay, chains
        self.acc = np.zeros((res, res), np.float32)
        self._buf = np.zeros((res, res, 4), np.ubyte)
        self._qimg = QImage(self._buf.data, res, res, 4 * res, QImage.Format_ARGB32_Premultiplied)
        self._rect = QRectF(0.0, 0.0, 1.0, 1.0)
        self._prev: np.ndarray | None = None
        self.set_color(theme.color("trails"))

    def set_color(self, c: QColor) -> None:
        """256-entry premultiplied BGRA table: transparent for no visits, up to alpha 210 for many."""
        alpha = np.linspace(0.0, 1.0, 256) ** 0.6 * 210
        lut = np.zeros((256, 4), np.float64)
        lut[:, 0], lut[:, 1], lut[:, 2] = c.blue(), c.green(), c.red()
        lut[:, :3] *= alpha[:, None] / 255.0
        lut[:, 3] = alpha
        self._lut = lut.round().astype(np.ubyte)
        self.update()

    def set_box(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self.reset()

    def reset(self) -> None:
        self.acc[:] = 0
        self._buf[:] = 0
        self._prev = None
        self.update()

    def splat(self, xy: np.ndarray) -> None:
        """Add the moves from the previous positions to xy (chains, >= 2) of the first `chains` chains."""
        cur = np.asarray(xy[: self.chains, :2], np.float32)
        prev = self._prev if self._prev is not None and self._prev.shape == cur.shape else cur
        self._prev = cur.copy()
        x0, y0, w, h = self._rect.x(), self._rect.y(), self._rect.width(), self._rect.height()
        r = self.res
        step = np.abs(cur - prev) * np.array([r / w, r / h], np.float32)
        longest = float(np.nanmax(step, initial=0.0)) if np.isfinite(step).any() else 0.0
        n = int(min(max(longest, 1.0), self.MAX_SAMPLES)) + 1  # one point per pixel of the longest move
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)[None, :, None]
        path = (prev[:, None, :] + (cur - prev)[:, None, :] * t).reshape(-1, 2)
        self.acc *= self.decay
        ok = np.isfinite(path).all(axis=1)
        ix = ((path[ok, 0] - x0) * (r / w)).astype(np.intp, copy=False)
        iy = ((path[ok, 1] - y0) * (r / h)).astype(np.intp, copy=False)
        ok = (ix >= 0) & (ix < r) & (iy >= 0) & (iy < r)
        counts = np.bincount(iy[ok] * r + ix[ok], minlength=r * r)
        self.acc += counts.reshape(r, r).astype(np.float32, copy=False)
        hot = self.acc[self.acc > 0.05]
        top = max(1.0, 2.5 * float(hot.mean())) if hot.size else 1.0
        idx = np.minimum(self.acc * (255.0 / top), 255.0).astype(np.ubyte)
        np.take(self._lut, idx, axis=0, out=self._buf)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._rect

    def paint(self, p: QPainter, *args) -> None:
        p.drawImage(self._rect, self._qimg)  # row 0 = lowest y: the view's flipped y axis puts it at the bottom


def iso_segments(f: np.ndarray, levels, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marching squares on f[i, j] (at xs[i], ys[j]): every level's contour as segment end points for
    connect='pairs' (x, y arrays of even length). Vectorised numpy, a few ms for 256x256."""
    a, b, c, d = f[:-1, :-1], f[1:, :-1], f[1:, 1:], f[:-1, 1:]
    x0, x1 = xs[:-1, None], xs[1:, None]
    y0, y1 = ys[None, :-1], ys[None, 1:]
    shape = a.shape
    sx, sy, tx, ty = [], [], [], []
    for lev in levels:
        ex, ey, em = [], [], []
        for (p, q), fx, fy in (
            ((a, b), lambda t: x0 + t * (x1 - x0), lambda t: y0),
            ((b, c), lambda t: x1, lambda t: y0 + t * (y1 - y0)),
            ((d, c), lambda t: x0 + t * (x1 - x0), lambda t: y1),
            ((a, d), lambda t: x0, lambda t: y0 + t * (y1 - y0)),
        ):
            m = (p - lev) * (q - lev) < 0
            t = np.where(m, (lev - p) / np.where(m, q - p, 1.0), 0.0)
            ex.append(np.broadcast_to(fx(t), shape).ravel())
            ey.append(np.broadcast_to(fy(t), shape).ravel())
            em.append(m.ravel())
        EX, EY, M = np.stack(ex), np.stack(ey), np.stack(em)
        cnt = M.sum(axis=0)
        two, four = np.flatnonzero(cnt == 2), np.flatnonzero(cnt == 4)
        first = np.argsort(~M[:, two], axis=0, kind="stable")[:2]  # the two crossed edges of each cell
        pairs = [(first[0], first[1], two), (0, 1, four), (2, 3, four)]  # saddles: two segments
        for e0, e1, cells in pairs:
            sx.append(EX[e0, cells])
            sy.append(EY[e0, cells])
            tx.append(EX[e1, cells])
            ty.append(EY[e1, cells])
    if not sx:
        return np.empty(0), np.empty(0)
    xs_ = np.column_stack([np.concatenate(sx), np.concatenate(tx)]).ravel()
    ys_ = np.column_stack([np.concatenate(sy), np.concatenate(ty)]).ravel()
    return xs_, ys_


def score_segments(e: np.ndarray, xs: np.ndarray, ys: np.ndarray, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Score arrows -grad E on an n x n sub-grid (numpy finite differences), as connect='pairs' segments:
    a shaft and two head strokes each; length saturates (tanh) so steep walls do not swamp the view."""
    gx, gy = np.gradient(e, xs, ys)
    ii = np.linspace(0, len(xs) - 1, n + 2)[1:-1].round().astype(int)
    jj = np.linspace(0, len(ys) - 1, n + 2)[1:-1].round().astype(int)
    sx, sy = -gx[np.ix_(ii, jj)].ravel(), -gy[np.ix_(ii, jj)].ravel()
    px, py = (m.ravel() for m in np.meshgrid(xs[ii], ys[jj], indexing="ij"))
    mag = np.hypot(sx, sy)
    good = np.isfinite(mag) & (mag > 0)
    if not good.any():
        return np.empty(0), np.empty(0)
    sx, sy, px, py, mag = sx[good], sy[good], px[good], py[good], mag[good]
    ref = float(np.median(mag))
    step = 0.8 * min(xs[-1] - xs[0], ys[-1] - ys[0]) / n
    length = step * np.tanh(mag / (2 * ref))
    ux, uy = sx / mag, sy / mag
    tx, ty = px + 0.5 * length * ux, py + 0.5 * length * uy
    segs_x = [px - 0.5 * length * ux, tx]
    segs_y = [py - 0.5 * length * uy, ty]
    h = 0.35 * length
    for ang in (0.45, -0.45):
        ca, sa = np.cos(ang), np.sin(ang)
        segs_x += [tx, tx - h * (ca * ux - sa * uy)]
        segs_y += [ty, ty - h * (sa * ux + ca * uy)]
    return np.column_stack(segs_x).ravel(), np.column_stack(segs_y).ravel()


def class_boundary_segments(margin, shape: tuple, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments (x, y for connect='pairs') of a classifier's decision boundary: the zero level set of
    extras['class_margin'] ((H, W) for two classes, (K, H, W) one field per class); empty without one."""
    if margin is None:
        return np.zeros(0), np.zeros(0)
    fields = np.asarray(margin, float)
    fields = fields[None] if fields.ndim == 2 else fields
    if fields.shape[1:] != tuple(shape):
        return np.zeros(0), np.zeros(0)
    parts = [iso_segments(f, [0.0], xs, ys) for f in fields]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
