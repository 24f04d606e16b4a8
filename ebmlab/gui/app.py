"""Start the Qt application and show the main window."""

from __future__ import annotations

import sys


def make_app():
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, useOpenGL=False)
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
