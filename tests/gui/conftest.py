"""GUI test fixtures: isolated settings per test, and no test may leave a thread running."""

import threading

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(autouse=True)
def no_dangling_threads(qapp):
    from ebmlab.gui.worker import running_threads

    before = {t.ident for t in threading.enumerate()}
    yield
    qapp.processEvents()
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
    running = running_threads()
    for t in running:  # do not let one failure cascade into every later test
        t.quit()
        t.wait(5000)
    assert not running, f"QThreads left running: {running}"
    assert not leftover, f"threads left running: {leftover}"
