"""The views render real Snapshots / Landscapes from a Trainer (offscreen) and never touch torch."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import types

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ebmlab.config.presets import load_preset
from ebmlab.config.schema import experiment_from_dict
from ebmlab.core.trainer import Trainer
from ebmlab.gui.views import LandscapeView, MetricsPlots, StateView, theme
from ebmlab.gui.views.items import iso_segments, score_segments
from ebmlab.gui.views.states import mosaic, pattern_shape, state_codes

ROOT = pathlib.Path(__file__).resolve().parents[2]
RING = ROOT / "presets" / "01_partition_function.json"
ONE_D = {
    "schema_version": 1,
    "model": {"kind": "expression", "expression": "(x**2-1)**2"},
    "data": {"kind": "energy", "expression": "(x**2-1)**2"},
    "estimator": {"name": "mle"},
    "sampler": {"name": "mala"},
}
BINARY = {
    "schema_version": 1,
    "model": {"kind": "boltzmann", "units": 9},
    "data": {"kind": "bars_and_stripes", "size": 3},
    "estimator": {"name": "pl"},
    "sampler": {"name": "gibbs"},
}


def ring_trainer(steps: int = 5, **overrides) -> Trainer:
    if not overrides:
        lp = load_preset(RING)
        t = Trainer(lp.experiment, resolve=lp.resolve)
    else:
        raw = {**json.loads(RING.read_text()), **overrides}
        t = Trainer(experiment_from_dict(raw))
    for _ in range(steps):
        t.step()
    return t


def trained(raw: dict, steps: int = 5) -> Trainer:
    t = Trainer(experiment_from_dict(raw))
    for _ in range(steps):
        t.step()
    return t


def assert_not_blank(widget, path: pathlib.Path) -> None:
    widget.show()
    pix = widget.grab()
    assert pix.save(str(path))
    img = pix.toImage().convertToFormat(QImage.Format_RGB32)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), -1)
    assert arr.var() > 0, f"{path.name} is blank"


@pytest.fixture(autouse=True)
def _normal_mode():
    theme.set_presenter(False)
    yield
    theme.set_presenter(False)


def test_views_never_import_torch():
    for path in (ROOT / "ebmlab" / "gui" / "views").glob("*.py"):
        text = path.read_text()
        assert "import torch" not in text and "from torch" not in text, path.name


def test_landscape_image_points_and_trails(qtbot, tmp_path):
    t = ring_trainer()
    v = LandscapeView()
    qtbot.addWidget(v)
    v.resize(600, 500)
    land, snap = t.landscape(64), t.snapshot()
    v.set_landscape(land)
    v.set_snapshot(snap)
    assert v.image.image.shape == (64, 64)
    assert v.image.image.dtype == np.float32
    rect = v.image.mapRectToParent(v.image.boundingRect())  # the image covers the box exactly
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((-3, -3, 6, 6))
    lo, hi = v.image.levels
    assert hi - lo == pytest.approx(12.0)  # log-density: the top 12 nats
    assert v.points["chains"].count() == len(snap.chains) == 500
    assert v.points["data"].count() == len(snap.data)
    assert v.points["negatives"].count() == 0  # MLE has no negatives
    assert v.trails.acc.sum() > 0
    assert_not_blank(v, tmp_path / "landscape.png")
    v.set_snapshot(snap)
    first = float(v.trails.acc.sum())  # a first splat: each trailed chain at rest (two points each)
    assert first == min(len(snap.chains), v.trails.chains) * 2
    assert v.trails.acc.sum() == pytest.approx(first)  # the same chains again (paused): no new trail
    from ebmlab.gui.views.landscape import TRAIL_EVERY

    for _ in range(TRAIL_EVERY):  # splatted every TRAIL_EVERY-th new frame
        t.step()
        v.set_snapshot(t.snapshot())
    assert v.trails.acc.sum() > 1.5 * first  # the previous frame fades, the new one adds
    v.set_options(trails=False)
    v.set_options(trails=True)  # toggling clears the trails; the redraw splats the current frame once
    assert v.trails.acc.sum() == pytest.approx(first)
    for _ in range(TRAIL_EVERY):
        v.set_snapshot(dataclasses.replace(snap, chains=np.array([[2.0, -2.0]] * 5, np.float32)))
    iy, ix = np.unravel_index(np.argmax(v.trails.acc), v.trails.acc.shape)  # acc[iy, ix] over the box
    assert (ix, iy) == (int((2 + 3) / 6 * 256), int((-2 + 3) / 6 * 256))
    assert v.points["chains"].count() == 5


def test_snapshot_before_landscape(qtbot):
    t = ring_trainer(2)
    v = LandscapeView()
    qtbot.addWidget(v)
    v.set_snapshot(t.snapshot())  # the worker's first snapshot may beat the first landscape
    assert v.points["chains"].count() == 500
    v.set_landscape(t.landscape(32))
    v.set_snapshot(t.snapshot())
    assert v.trails.acc.sum() > 0


def test_landscape_options_contours_arrows_layers(qtbot):
    t = ring_trainer()
    v = LandscapeView()
    qtbot.addWidget(v)
    v.set_landscape(t.landscape(64))
    v.set_snapshot(t.snapshot())
    assert v.contour_item.xData is None or len(v.contour_item.xData) == 0
    v.set_options(show="energy", contours=True, arrows=True, layers={"chains": False})
    assert len(v.contour_item.xData) > 0 and len(v.contour_item.xData) % 2 == 0
    assert len(v.arrow_item.xData) == 16 * 16 * 6  # shaft + two head strokes, as point pairs
    assert v.points["chains"].count() == 0
    lo, hi = v.image.levels
    e = t.landscape(64).energy
    emin, p60 = float(e.min()), float(np.percentile(e, 60))
    q = 10.0 ** np.floor(np.log10(p60 - emin)) / 4  # the levels are rounded outward to a quarter decade
    assert lo <= emin < lo + q and p60 <= hi < p60 + q
    with pytest.raises(ValueError):
        v.set_options(show="banana")
    v.set_options(layers={"chains": True}, trails=False)
    assert v.points["chains"].count() == 500
    assert not v.trails.isVisible()
    v.clear()
    assert v.points["data"].count() == 0 and v.image.image is None


@pytest.mark.parametrize("est,layer", [("cd", "negatives"), ("pcd", "negatives"), ("dsm", "noisy"), ("nce", "noise")])
def test_estimator_layers(qtbot, est, layer):
    t = ring_trainer(3, estimator={"name": est})
    snap = t.snapshot()
    v = LandscapeView()
    qtbot.addWidget(v)
    v.set_landscape(t.landscape(32))
    v.set_snapshot(snap)
    assert v.points[layer].count() == len(getattr(snap, layer)) > 0
    labels = [label for _, _, label in v.legend_entries()]
    assert any(("PCD" if est == "pcd" else theme.LABELS[layer]) in s for s in labels)


def test_nce_boundary_from_landscape_extras(qtbot):
    t = ring_trainer(2)
    land = t.landscape(64)
    x, y = np.meshgrid(*land.axes, indexing="ij")
    ratio = 1.0 - (x**2 + y**2)  # boundary: the unit circle
    fields = {k: v for k, v in vars(land).items() if k != "extras"}  # works with or without Landscape.extras
    with_extras = types.SimpleNamespace(**fields, extras={"nce_log_ratio": ratio})
    v = LandscapeView()
    qtbot.addWidget(v)
    v.set_landscape(with_extras)
    r = np.hypot(v.boundary_item.xData, v.boundary_item.yData)
    assert len(r) > 0 and np.allclose(r, 1.0, atol=0.1)
    v.set_landscape(land)
    assert len(v.boundary_item.xData) == 0


def test_slice_view_for_3d_model(qtbot):
    raw = {
        "schema_version": 1,
        "model": {"kind": "expression", "expression": "(x**2 + y**2 + z**2 - r**2)**2"},  # r: trained
        "data": {"kind": "points", "points": np.random.default_rng(0).normal(size=(40, 3)).round(3).tolist()},
        "estimator": {"name": "dsm"},
        "sampler": {"name": "mala"},
    }
    t = trained(raw, 2)
    land = t.landscape(32)
    assert land.kind == "slice"
    v = LandscapeView()
    qtbot.addWidget(v)
    v.set_landscape(land)
    v.set_snapshot(t.snapshot())
    assert v.image.image.shape == (32, 32)
    assert f"z = {land.slice_at:.2f}" in v.map.titleLabel.text
    assert v.points["noisy"].count() > 0  # 3-D points are drawn by their (x, y)


def test_iso_segments_and_score_arrows():
    xs = ys = np.linspace(-2, 2, 101)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    f = x**2 + y**2
    sx, sy = iso_segments(f, [1.0], xs, ys)
    assert len(sx) > 100 and np.allclose(np.hypot(sx, sy), 1.0, atol=2e-3)
    ax, ay = score_segments(0.5 * f, xs, ys, n=8)
    tail, tip = np.c_[ax[0::6], ay[0::6]], np.c_[ax[1::6], ay[1::6]]
    centre = 0.5 * (tail + tip)
    assert np.all(np.sum((tip - tail) * centre, axis=1) < 0)  # the score points downhill, toward 0


def test_curve_view_for_1d_model(qtbot, tmp_path):
    t = trained(ONE_D)
    v = LandscapeView()
    qtbot.addWidget(v)
    v.resize(600, 400)
    land, snap = t.landscape(64), t.snapshot()
    assert land.kind == "curve"
    v.set_landscape(land)
    v.set_snapshot(snap)
    assert v._stack.currentWidget() is v.curve_widget
    assert len(v.model_curve.yData) == 64
    dx = np.diff(v.data_hist.xData)
    assert np.sum(v.data_hist.yData * dx) == pytest.approx(1.0, abs=0.02)  # density-normalised
    assert v.rugs["chains"].count() == len(snap.chains)
    assert_not_blank(v, tmp_path / "curve.png")


def test_state_view_for_binary_model(qtbot, tmp_path):
    t = trained(BINARY, 20)
    land, snap = t.landscape(), t.snapshot()
    v = StateView()
    qtbot.addWidget(v)
    v.resize(800, 500)
    v.set_landscape(land)
    v.set_snapshot(snap)
    exact = v.bars["exact"].opts["height"]
    assert len(exact) == 24
    assert exact[0] == pytest.approx(np.exp(land.log_density.max()))
    assert np.all(np.diff(exact) <= 1e-12)
    data_f = v.bars["data"].opts["height"]
    assert len(data_f) == 24 and 0 < np.sum(data_f) <= 1 + 1e-9
    assert len(v.bars["chains"].opts["height"]) == 24
    assert v.samples_img.image.shape == (16 * 4 - 1, 3)  # 16 patterns of 3x3 with 1-px gaps
    assert "TV(samples, model)" in v.bars_plot.titleLabel.text
    assert_not_blank(v, tmp_path / "states.png")
    v.clear()
    assert len(v.bars["exact"].opts["height"]) == 0


def test_state_helpers():
    rows = np.array([[0, 0, 1], [1, 0, 0], [-1, 1, 1]], float)
    assert list(state_codes(rows)) == [4, 1, 6]
    assert pattern_shape(9) == (3, 3) and pattern_shape(10) == (1, 10)
    img = mosaic(np.array([[1, 0, 0, 0]]), (2, 2))
    assert img.shape == (2, 2) and img[0, 1] == 2 and img.sum() == 5  # unit 0: top-left, drawn with y up


def test_metrics_plots(qtbot, tmp_path):
    t = ring_trainer(60)
    snap = t.snapshot()
    history = dict(snap.history)
    history["logz_estimate"] = (np.array([10, 20, 30]), np.array([1.0, 1.1, 1.2]), np.array([0.05, 0.1, np.nan]))
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.resize(900, 500)
    m.show()
    m.update_history(history)
    loss, logz = m.plots["loss"], m.plots["logz"]
    assert len(loss.curves["loss"].yData) == 60
    assert len(logz.curves["log_z_exact"].yData) == len(history["log_z_exact"][0])
    assert "c" not in logz.curves  # no NCE: no curve at all
    assert list(logz.bars.opts["x"]) == [10, 20, 30]
    assert np.allclose(logz.bars.opts["height"], [0.2, 0.4, 0.0])  # ±2 SE; NaN stderr -> no bar
    assert len(logz.points.data) == 3
    labels = [label for _, _, label in logz.legend.entries()]
    assert "estimate ±2 SE" in labels and "exact" in labels and not any("NCE" in s for s in labels)
    assert_not_blank(m, tmp_path / "metrics.png")

    calls = []
    orig = loss.curves["loss"].setData
    loss.curves["loss"].setData = lambda *a, **k: (calls.append(1), orig(*a, **k))
    m.update_history(history)
    assert calls == []  # unchanged series are not re-set
    m.clear()
    assert loss.curves["loss"].yData is None or len(loss.curves["loss"].yData) == 0
    assert not logz.bars.isVisible()


def test_presenter_mode_enlarges(qtbot):
    v = LandscapeView()
    qtbot.addWidget(v)
    small = v.points["chains"]._size
    v.set_presenter(True)
    assert theme.scale() > 1 and v.points["chains"]._size > small
    v.set_presenter(False)
    assert v.points["chains"]._size == small


def test_metrics_plots_fit_the_step_axis_without_a_loss_series_and_show_log_z_warnings(qtbot):
    import dataclasses

    from ebmlab.core.snapshot import Snapshot
    from ebmlab.gui.views.plots import MetricsPlots

    w = MetricsPlots()
    qtbot.addWidget(w)
    w.show()
    steps = np.arange(0, 500, 10)
    hist = {"logz_estimate": (steps, np.full(len(steps), 2.47), np.full(len(steps), 0.01))}
    snap = Snapshot(0, 490, "running", None, "cd", "mala", {}, {}, hist, np.zeros((0, 2), np.float32))
    w.set_snapshot(snap)
    lo, hi = w.plots["logz"].item.viewRange()[0]
    assert lo <= 0 and hi >= 490
    assert w.warning.isHidden()
    w.set_snapshot(dataclasses.replace(snap, extras={"logz_warning": "ESS is only 3 of 500"}))
    assert not w.warning.isHidden() and "ESS is only 3" in w.warning.text()
    assert w.params.isHidden()
    w.set_snapshot(dataclasses.replace(snap, params={"a": 1.94213, "r": 1.5}))
    assert not w.params.isHidden() and "a = 1.942" in w.params.text() and "r = 1.5" in w.params.text()


def test_a_trail_is_the_path_of_a_move_not_only_its_end(qtbot):
    from PySide6.QtCore import QRectF

    from ebmlab.gui.views.items import TrailsImage

    tr = TrailsImage(res=100)
    tr.set_box(QRectF(-3, -3, 6, 6))
    tr.splat(np.array([[-2.0, -2.0]], np.float32))
    tr.splat(np.array([[2.0, 2.0]], np.float32))  # one move along the diagonal
    lit = np.argwhere(tr.acc > 0)
    assert len(lit) >= 60  # a streak of pixels from (-2, -2) to (2, 2), not two dots
    np.testing.assert_array_equal(lit[:, 0], lit[:, 1])  # on the diagonal iy == ix
    assert tr._buf[..., 3].max() > 0
