"""The window on a 1280x720 projector and a 1920x1080 monitor (offscreen screens from tests/gui/screens.json):
every part of the main layout lies on the screen, in normal and in presenter mode, and nothing is squashed."""

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

from ebmlab.gui.main_window import MainWindow
from ebmlab.gui.screen_fit import GEOMETRY_KEY, clamp_rect, fit_rect, place_window
from ebmlab.gui.views.plots import MIN_PLOT_H

TIMEOUT = 30_000


def screen(size: tuple[int, int]):
    for s in QGuiApplication.screens():
        if (s.geometry().width(), s.geometry().height()) == size:
            return s
    pytest.fail(f"no {size} screen: tests/conftest.py configures the offscreen screens")


def global_rect(w) -> QRect:
    return QRect(w.mapToGlobal(w.rect().topLeft()), w.size())


def main_parts(win):
    parts = {
        "transport": win.transport,
        "tabs": win.tabs,
        "landscape": win.stack.currentWidget(),
        "plots": win.plots,
        "notes": win.notes,
        "notes text": win.notes.notes_browser,
    }
    if win.settings_scroll.isVisible():
        parts["settings"] = win.settings_scroll
    for name, b in (("play", win.transport.play), ("speed", win.transport.speed), ("show", win.transport.show_mode)):
        parts[name] = b
    return parts


def assert_fits(win, scr, qtbot):
    qtbot.wait(200)  # let splitters and the flow layout settle
    area = scr.geometry()
    assert area.contains(win.frameGeometry()) or area.contains(win.geometry()), (win.geometry(), area)
    for name, w in main_parts(win).items():
        r = global_rect(w)
        assert w.isVisible(), name
        assert r.width() > 20 and r.height() > 20, (name, r)
        assert area.contains(r), (name, r, area)
    for name in ("speed", "show"):  # combos show their whole text
        combo = getattr(win.transport, "speed" if name == "speed" else "show_mode")
        assert combo.width() >= combo.sizeHint().width(), name
    plots = win.plots
    for key in plots.visible_plots():
        vb = plots.plots[key].item.vb
        assert vb.height() >= 0.35 * MIN_PLOT_H, (key, vb.height())  # data area readable, never zero height
        assert vb.width() >= 60, (key, vb.width())


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_window_fits_the_screen_in_normal_and_presenter_mode(qtbot, size):
    scr = screen(size)
    w = MainWindow()
    qtbot.addWidget(w)
    w.setScreen(scr)
    place_window(w, w.settings)
    w.show()
    qtbot.waitUntil(lambda: w._shown_landscape is not None and w.experiment is not None, timeout=TIMEOUT)
    assert_fits(w, scr, qtbot)
    base_pt = w.transport.play.font().pointSizeF()
    w.toggle_presenter()
    qtbot.wait(300)
    assert w.geometry() == scr.geometry()  # fills the screen even without a window manager
    assert not w.settings_scroll.isVisible()
    assert_fits(w, scr, qtbot)
    assert w.transport.play.font().pointSizeF() > base_pt
    w.toggle_presenter()
    qtbot.wait(300)
    assert w.transport.play.font().pointSizeF() == pytest.approx(base_pt)  # restored, not shrunk
    assert w.transport.speed.font().pointSizeF() == pytest.approx(base_pt)
    assert_fits(w, scr, qtbot)
    w.close()


def test_geometry_is_fitted_to_the_screen_and_saved(qtbot):
    avail = QRect(0, 0, 1280, 720)
    from PySide6.QtCore import QSize

    assert fit_rect(QSize(1500, 950), avail) == avail
    assert fit_rect(QSize(800, 600), avail) == QRect(240, 60, 800, 600)
    assert clamp_rect(QRect(1500, 900, 1600, 1000), avail) == avail  # from a bigger monitor: clamped
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None, timeout=TIMEOUT)
    w.setGeometry(60, 10, 1150, 700)
    w.close()
    assert w.settings.value(GEOMETRY_KEY) is not None
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert (w2.geometry().width(), w2.geometry().height()) == (1150, 700)  # the last geometry is restored
    w2.close()


def test_an_ais_run_and_a_lesson_load_do_not_change_the_layout(qtbot):
    """Issue 16: after an AIS run the window grew and the notes shrank to a ~90 px column for the session."""
    from ebmlab.config.presets import bundled_presets

    scr = screen((1280, 720))
    paths = {p.stem[:2]: p for p, _, _ in bundled_presets()}
    w = MainWindow(paths["09"])
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_landscape is not None and w.experiment is not None, timeout=TIMEOUT)
    qtbot.wait(300)
    geometry, sizes, notes_w = w.geometry(), w.main_splitter.sizes(), w.notes.width()
    panel = w.ais_tab
    w.tabs.setCurrentWidget(panel)
    panel.set_settings(particles=200, temps=5)
    panel.speed_combo.setCurrentIndex(panel.speed_combo.count() - 1)
    panel.start()
    qtbot.waitUntil(lambda: panel.finished, timeout=60_000)
    qtbot.wait(500)  # the result, warnings and result plot are shown
    assert panel.warnings_label.isVisible()  # 5 temperatures: the long warnings are on screen
    assert w.geometry() == geometry and scr.geometry().contains(w.geometry())
    assert w.notes.width() >= notes_w - 2, (w.notes.width(), notes_w)
    w.tabs.setCurrentIndex(0)
    w.open_preset(paths["08"])
    qtbot.waitUntil(lambda: w.experiment.name.startswith("AIS estimates"), timeout=TIMEOUT)
    qtbot.wait(300)
    assert w.geometry() == geometry and w.main_splitter.sizes() == sizes
    assert panel.status == "idle" and panel.latest is None  # the AIS tab forgot lesson 09's run
    assert "Press Run" in panel.result_text and not panel.warnings_label.isVisible()
    w.close()


def test_benchmarks_and_scripts_keep_to_settings_of_their_own(tmp_path):
    from ebmlab.gui.app_settings import app_settings, use_private_settings

    folder = use_private_settings(str(tmp_path / "private"))
    s = app_settings()
    s.setValue("window/geometry", [1, 2, 3, 4])
    s.sync()
    assert s.fileName().startswith(folder)
    assert (tmp_path / "private").exists()
    assert use_private_settings() != folder  # by default a fresh temporary folder
