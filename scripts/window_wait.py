"""Event-loop helpers for the screenshot scripts: pump the Qt loop for a while, or until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable


def pump(app, seconds: float) -> None:
    """Process events for `seconds`."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        app.processEvents()
        time.sleep(0.005)


def wait(app, cond: Callable[[], bool], timeout: float = 300.0) -> None:
    """Process events until cond() is true; exit with a message after `timeout` seconds."""
    t0 = time.time()
    while not cond():
        app.processEvents()
        time.sleep(0.005)
        if time.time() - t0 > timeout:
            raise SystemExit("timed out waiting for the window")
