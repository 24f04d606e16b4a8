"""Start the Qt application and show the main window."""

from __future__ import annotations

import sys


def launch(preset: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel(
        "ebmlab\n\nThe laboratory window is being built.\nHeadless commands work now: ebmlab logz | sample | bench"
    )
    label.setWindowTitle("ebmlab")
    label.resize(640, 360)
    label.show()
    return app.exec()
