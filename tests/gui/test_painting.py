"""Painting data on the landscape: strokes, erase, undo/redo, live application, save/load, and where it is off."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from ebmlab.config.presets import load_preset, save_preset
from ebmlab.config.schema import experiment_to_dict
from ebmlab.gui import painting
from ebmlab.gui.main_window import MainWindow

TIMEOUT = 30_000
WELCOME = "presets/00_welcome.json"


def open_window(qtbot, path=WELCOME) -> MainWindow:
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    return w


@pytest.fixture
def win(qtbot):
    from ebmlab.config.presets import BUNDLED_DIR

    w = open_window(qtbot, BUNDLED_DIR / "00_welcome.json")
    qtbot.waitUntil(lambda: w.painter.supported, timeout=TIMEOUT)
    yield w
    w.close()


def painter_on(win):
    p = win.painter
    p.set_active(True)
    assert p.active and win.painter.button.isChecked()
    return p


def within(points, c, r):
    return np.hypot(points[:, 0] - c[0], points[:, 1] - c[1]) <= r + 1e-9


def test_starts_from_the_drawn_data_and_each_event_adds_density_points_in_the_disc(win):
    p = painter_on(win)
    shown = win._shown_snapshot.data
    assert len(p.points) == len(shown) <= 2000
    assert np.allclose(p.points, shown, atol=1e-6)
    assert "subset" in win.statusBar().currentMessage()
    p.radius, p.density = 0.3, 7
    assert p.radius_box.value() == pytest.approx(0.3) and p.density_box.value() == 7
    centres = [(0.5, 0.5), (0.6, 0.55), (0.7, 0.6)]
    n = len(p.points)
    p.press(*centres[0])
    for i, c in enumerate(centres):
        if i:
            p.drag(*c)
        assert len(p.points) == n + 7 * (i + 1)
        assert within(p.points[-7:], c, 0.3).all()
    p.release()
    assert p.can_undo() and not p.can_redo()
    assert len(p.points) == n + 21


def test_shift_erase_removes_exactly_the_points_within_the_radius(win):
    p = painter_on(win)
    before = p.points.copy()
    c, r = (0.0, 0.25), 0.4
    p.radius = r
    p.press(*c, erase=True)
    p.release()
    inside = within(before, c, r)
    assert inside.any() and not inside.all()
    assert np.array_equal(p.points, before[~inside])


def test_undo_redo_restore_exact_arrays_and_clear_empties(win):
    p = painter_on(win)
    s0 = p.points.copy()
    p.press(1.0, 1.0)
    p.drag(1.1, 1.0)
    p.release()
    s1 = p.points.copy()
    p.press(1.0, 0.0, erase=True)  # on the upper moon
    p.release()
    s2 = p.points.copy()
    assert len(s1) == len(s0) + 2 * p.density and len(s2) < len(s1)
    p.undo()
    assert np.array_equal(p.points, s1)
    p.undo()
    assert np.array_equal(p.points, s0)
    assert not p.can_undo()
    p.redo()
    assert np.array_equal(p.points, s1)
    p.redo()
    assert np.array_equal(p.points, s2)
    assert not p.can_redo()
    p.clear()
    assert p.points.shape == (0, 2)
    assert "paint at least" in win.statusBar().currentMessage()
    assert win.experiment.data.kind == "points" and len(win.experiment.data.settings.points) == len(s2)  # kept
    p.undo()
    assert np.array_equal(p.points, s2)
    # the keyboard shortcuts are registered on the window
    assert p.undo_action in win.actions() and p.redo_action in win.actions()
    assert "Ctrl+Z" in [s.toString() for s in p.undo_action.shortcuts()]
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= {s.toString() for s in p.redo_action.shortcuts()}
    p.undo_action.trigger()
    assert np.array_equal(p.points, s1)


def test_a_new_stroke_drops_the_redo_branch(win):
    p = painter_on(win)
    p.press(1.0, 1.0)
    p.release()
    p.undo()
    assert p.can_redo()
    p.press(-1.0, -1.0)
    p.release()
    assert not p.can_redo()


def test_painted_data_trains_live_without_reset(win, qtbot):
    p = painter_on(win)
    run = win.run_id
    win.transport.play.click()
    qtbot.waitUntil(lambda: win._shown_snapshot.step >= 5, timeout=TIMEOUT)
    p.clear()
    p.radius, p.density = 0.5, 40
    p.press(-1.0, 1.0)
    for x in np.linspace(-1.0, 1.0, 9):
        p.drag(float(x), 1.0 - float(x) ** 2)
    win.grab().save("/tmp/painting.png")  # mid-stroke: the brush outline and the painted points
    step_before = win._shown_snapshot.step
    p.release()
    assert win.experiment.data.kind == "points"
    assert win.experiment.data.settings.points == p.points.tolist()
    assert win.settings_panel.boxes["data"].kind == "points"
    qtbot.waitUntil(lambda: win._shown_snapshot.experiment.data.kind == "points", timeout=TIMEOUT)
    snap = win._shown_snapshot
    assert snap.run_id == run and win.run_id == run  # no reset: the same run goes on
    assert snap.step >= step_before > 0
    assert len(snap.data) == len(p.points) - round(0.2 * len(p.points))  # the training part (20% held out)
    qtbot.waitUntil(lambda: win._shown_snapshot.step >= snap.step + 5, timeout=TIMEOUT)
    assert win._shown_snapshot.run_id == run and not win.banner.isVisible()
    win.transport.play.click()


def test_painted_points_round_trip_through_a_saved_preset(win, qtbot, tmp_path):
    p = painter_on(win)
    p.press(0.3, -0.2)
    p.drag(0.4, -0.2)
    p.release()
    path = tmp_path / "painted.json"
    save_preset(win.experiment, path)
    raw = json.loads(path.read_text())
    assert raw["data"]["kind"] == "points" and len(raw["data"]["points"]) == len(p.points)
    loaded = load_preset(path).experiment
    assert loaded.data.kind == "points"
    assert np.array_equal(np.asarray(loaded.data.settings.points), p.points)
    assert experiment_to_dict(loaded) == experiment_to_dict(win.experiment)
    # opened in the window, painting starts from the saved points
    painted = p.points.copy()
    p.set_active(False)
    run = win.run_id
    assert win.open_preset(path)
    qtbot.waitUntil(lambda: win.run_id != run and win._shown_snapshot.run_id == win.run_id, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not p.can_undo(), timeout=TIMEOUT)  # a new run: the history is dropped
    p.set_active(True)
    assert np.array_equal(p.points, painted)
    assert "points of the data" in win.statusBar().currentMessage()


def test_loading_other_data_restarts_painting(win, qtbot):
    p = painter_on(win)
    p.press(2.0, 2.0)
    p.release()
    win.request_change([(["data", "kind"], "energy")])  # exact samples of a double well
    assert win.experiment.data.kind == "energy"
    qtbot.waitUntil(lambda: win._shown_snapshot.experiment is win.experiment, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not p.can_undo(), timeout=TIMEOUT)
    p.set_active(False)
    p.set_active(True)  # starts from the data on screen, now the double well
    assert np.allclose(p.points, win._shown_snapshot.data, atol=1e-6)


def test_the_painted_set_is_capped(win, monkeypatch):
    monkeypatch.setattr(painting, "MAX_POINTS", 50)
    p = painter_on(win)
    p.clear()
    p.density = 30
    p.press(0.0, 0.0)
    p.drag(0.0, 0.0)
    p.drag(0.0, 0.0)
    p.release()
    assert len(p.points) == 50
    assert "capped" in win.statusBar().currentMessage()


def test_real_mouse_strokes_paint_and_shift_erases_without_panning(win, qtbot):
    p = painter_on(win)
    p.clear()
    p.radius, p.density = 0.25, 5
    vb = win.landscape.map.vb
    view, viewport = win.landscape.map_widget, win.landscape.map_widget.viewport()
    before_range = vb.viewRange()

    def at(x, y):
        return view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))

    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, at(-0.5, 0.0))
    for x in (-0.25, 0.0, 0.25, 0.5):
        QTest.mouseMove(viewport, at(x, 0.0))
    assert p.brush.isVisible()
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, at(0.5, 0.0))
    assert len(p.points) == 5 * 5  # press + 4 moves
    assert (np.abs(p.points[:, 1]) <= 0.25 + 0.02).all() and (np.abs(p.points[:, 0]) <= 0.75 + 0.02).all()
    assert np.allclose(vb.viewRange(), before_range)  # the drag painted, it did not pan
    assert win.experiment.data.kind == "points" and len(win.experiment.data.settings.points) == 25
    QTest.mousePress(viewport, Qt.LeftButton, Qt.ShiftModifier, at(-0.5, 0.0))
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.ShiftModifier, at(-0.5, 0.0))
    assert 0 < len(p.points) < 25
    p.undo()
    assert len(p.points) == 25
    p.set_active(False)  # painting off: the left button pans again
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, at(0.0, 0.0))
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, at(0.0, 0.0))
    assert len(p.points) == 25


def test_painting_is_disabled_for_a_binary_model(qtbot, tmp_path):
    preset = {
        "schema_version": 1,
        "name": "binary",
        "model": {"kind": "boltzmann", "units": 9},
        "data": {"kind": "bars_and_stripes", "size": 3},
        "estimator": {"name": "pl"},
        "sampler": {"name": "gibbs"},
    }
    path = tmp_path / "binary.json"
    path.write_text(json.dumps(preset))
    w = open_window(qtbot, path)
    try:
        qtbot.waitUntil(lambda: w._shown_landscape is not None, timeout=TIMEOUT)
        w.painter.sync()
        assert not w.painter.button.isEnabled()
        assert "binary" in w.painter.button.toolTip()
        w.painter.set_active(True)
        assert not w.painter.active and not w.painter.button.isChecked()
        assert not w.painter.undo_action.isEnabled()
    finally:
        w.close()


def test_disabled_reasons_name_the_dimension():
    assert painting._why("image") is None
    assert "1-D" in painting._why("curve")
    assert "3-D" in painting._why("slice")
    assert "binary" in painting._why("states")
    assert "wait" in painting._why(None)
