"""The window's persistent settings (recent files, export folders, geometry) in one place.

QSettings("ebmlab", "ebmlab") would always use the native format and ignore `QSettings.setDefaultFormat`,
so a test could not point it at a folder of its own; this one follows the default format and its path.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings


def app_settings() -> QSettings:
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, "ebmlab", "ebmlab")
