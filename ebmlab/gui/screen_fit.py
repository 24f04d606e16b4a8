"""Fitting the window to the screen it is on: the first size, the saved geometry, full screen without a WM.

Projectors are often 1280x720: the window must never open larger than the available screen, a saved
geometry from a bigger monitor is clamped to this one, and full screen sets the geometry to the screen's
own (a bare X server with no window manager ignores showFullScreen's request).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1500, 950)
GEOMETRY_KEY = "window/geometry"


def screen_of(widget: QWidget) -> QScreen | None:
    return widget.screen() or QGuiApplication.primaryScreen()


def fit_rect(preferred: QSize, available: QRect) -> QRect:
    """`preferred` shrunk to fit `available`, centred in it."""
    w, h = min(preferred.width(), available.width()), min(preferred.height(), available.height())
    x = available.x() + (available.width() - w) // 2
    y = available.y() + (available.height() - h) // 2
    return QRect(x, y, w, h)


def clamp_rect(rect: QRect, available: QRect) -> QRect:
    """A saved rectangle moved and shrunk until it lies inside `available`."""
    w, h = min(rect.width(), available.width()), min(rect.height(), available.height())
    x = min(max(rect.x(), available.x()), available.x() + available.width() - w)
    y = min(max(rect.y(), available.y()), available.y() + available.height() - h)
    return QRect(x, y, w, h)


def saved_rect(settings: QSettings) -> QRect | None:
    """The window rectangle saved by `remember_rect`, or None (missing or malformed)."""
    v = settings.value(GEOMETRY_KEY)
    try:
        x, y, w, h = (int(a) for a in v)
    except (TypeError, ValueError):
        return None
    return QRect(x, y, w, h) if w > 0 and h > 0 else None


def place_window(win: QWidget, settings: QSettings) -> None:
    """The saved rectangle clamped to this screen, else the preferred size fitted to it."""
    screen = screen_of(win)
    avail = screen.availableGeometry() if screen is not None else QRect(0, 0, PREFERRED.width(), PREFERRED.height())
    saved = saved_rect(settings)
    win.setGeometry(clamp_rect(saved, avail) if saved is not None else fit_rect(PREFERRED, avail))


def remember_rect(settings: QSettings, rect: QRect) -> None:
    """Save the window's normal (not full-screen) rectangle for the next start."""
    settings.setValue(GEOMETRY_KEY, [rect.x(), rect.y(), rect.width(), rect.height()])


def keep_frame_on_screen(win: QWidget) -> None:
    """Once shown (frame margins are known only then): shrink and move so the frame too lies on the screen."""
    screen = screen_of(win)
    if screen is None or win.isFullScreen():
        return
    avail, frame, geo = screen.availableGeometry(), win.frameGeometry(), win.geometry()
    if avail.contains(frame):
        return
    left, top = geo.x() - frame.x(), geo.y() - frame.y()
    right, bottom = frame.right() - geo.right(), frame.bottom() - geo.bottom()
    inner = avail.adjusted(left, top, -right, -bottom)
    win.setGeometry(clamp_rect(geo, inner))


def fill_screen(win: QWidget) -> None:
    """Full screen that holds with or without a window manager: the screen's geometry, then showFullScreen."""
    screen = screen_of(win)
    if screen is not None:
        win.setGeometry(screen.geometry())
    win.showFullScreen()
