"""Start the Qt application and show the main window."""

from __future__ import annotations

import sys


def make_app():
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, useOpenGL=False)
    # The worker's torch ops drop and retake the GIL all the time; with Python's default 5 ms switch
    # interval it waits behind the GUI thread far longer than it needs to. 1 ms: measured 0.75 -> 0.84 of
    # headless steps/s for the default lesson on 2 cores, with the same frame rate (`ebmlab bench --only gui`).
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ebmlab")
    app.setOrganizationName("ebmlab")
    try:
        from .views.theme import apply_theme

        apply_theme(app)
    except ImportError:
        pass
    return app


def launch(preset: str | None = None) -> int:
    app = make_app()
    from .main_window import MainWindow

    win = MainWindow(preset)
    win.show()
    return app.exec()
