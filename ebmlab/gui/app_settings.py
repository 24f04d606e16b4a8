"""The window's persistent settings (recent files, export folders, geometry) in one place.

QSettings("ebmlab", "ebmlab") would always use the native format and ignore `QSettings.setDefaultFormat`,
so a test could not point it at a folder of its own; this one follows the default format and its path.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings


def app_settings() -> QSettings:
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, "ebmlab", "ebmlab")


def use_private_settings(folder: str | None = None) -> str:
    """Point app_settings() at a folder of its own (a temporary one by default) for this process: benchmarks and
    scripts that open the window must neither read nor overwrite the user's geometry and recent files."""
    import tempfile

    folder = folder or tempfile.mkdtemp(prefix="ebmlab-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
    return folder
