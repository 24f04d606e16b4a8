"""`ebmlab` / `ebmlab gui`: open the window (or say in one line why it cannot)."""

from __future__ import annotations

import argparse
import os
import sys

HEADLESS_HINT = "use the headless commands instead: ebmlab run | logz | sample | bench"


def add_parser(sub) -> None:
    p = sub.add_parser("gui", help="open the laboratory window (the default)")
    p.add_argument("preset", nargs="?", default=None, help="preset file to open")


def display_problem() -> str | None:
    """Why no window can be shown here, or None when a display looks available."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display available (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return None


def run(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem:
        print(f"ebmlab: {problem}; {HEADLESS_HINT}", file=sys.stderr)
        return 2
    from ..gui.app import launch

    return launch(getattr(args, "preset", None))
