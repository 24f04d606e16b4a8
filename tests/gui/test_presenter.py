"""Lecture controls: presenter mode, number keys for the lessons, the shortcut overlay."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ebmlab.gui.help_overlay import HelpOverlay
from ebmlab.gui.main_window import MainWindow
from ebmlab.gui.menus import lesson_number

TIMEOUT = 30_000


def test_lesson_numbers():
    assert lesson_number("03_score_matching") == 3
    assert lesson_number("10_classifier_is_an_ebm") == 10
    assert lesson_number("00_welcome") is None and lesson_number("notes") is None


def test_number_keys_presenter_mode_and_help(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    run_before = w.run_id
    QTest.keyClick(w, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: w.experiment.name.startswith("Score matching"), timeout=TIMEOUT)
    assert w.run_id != run_before and w.preset_path.stem.startswith("03_")
    QTest.keyClick(w, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: w.preset_path.stem.startswith("10_"), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: w.experiment.name.startswith("A classifier"), timeout=TIMEOUT)
    size_before = w.transport.font().pointSizeF()
    QTest.keyClick(w, Qt.Key.Key_P)
    assert w.presenter_on()
    assert w.transport.font().pointSizeF() > size_before
    assert w.settings_scroll.isHidden() and w.notes.isVisible() and w.isFullScreen()
    QTest.keyClick(w, Qt.Key.Key_H)
    overlays = w.findChildren(HelpOverlay)
    assert overlays and "presenter mode" in overlays[-1].text()
    QTest.keyClick(overlays[-1], Qt.Key.Key_Escape)
    QTest.keyClick(w, Qt.Key.Key_P)
    assert not w.presenter_on() and not w.settings_scroll.isHidden()
    w.close()
