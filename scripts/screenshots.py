"""Make real screenshots of the window: load a preset, train N steps, save PNGs.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py --preset 00_welcome --steps 400 --out assets
Works offscreen or under Xvfb (then it grabs the real window).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import window_wait  # scripts/window_wait.py (this folder is on sys.path when a script runs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default=None)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", default="assets")
    ap.add_argument("--name", default="window")
    ap.add_argument("--size", nargs=2, type=int, default=(1500, 950))
    ap.add_argument("--presenter", action="store_true")
    ap.add_argument("--tab", default=None, help="tab to show, e.g. AIS")
    ap.add_argument("--ais", action="store_true", help="run AIS in the AIS tab before grabbing")
    args = ap.parse_args()

    from ebmlab.config.presets import find_preset
    from ebmlab.gui.app import make_app
    from ebmlab.gui.main_window import MainWindow

    app = make_app()
    win = MainWindow(find_preset(args.preset) if args.preset else None)
    win.resize(*args.size)
    win.show()
    if args.presenter and hasattr(win, "toggle_presenter"):
        win.toggle_presenter()

    def wait(cond, timeout=120.0):
        window_wait.wait(app, cond, timeout)

    wait(lambda: win._shown_snapshot is not None)
    if args.steps:
        win.transport.play.click()
        wait(lambda: win._shown_snapshot.step >= args.steps or win._shown_snapshot.status == "error")
        win.transport.play.click()
    wait(lambda: win._shown_snapshot.status != "running")
    window_wait.pump(app, 1.5)  # let the full-resolution landscape arrive
    if args.tab:
        for i in range(win.tabs.count()):
            if win.tabs.tabText(i) == args.tab:
                win.tabs.setCurrentIndex(i)
    if args.ais and win.ais_tab is not None:
        win.ais_tab.start()
        wait(lambda: win.ais_tab.finished, timeout=300)
        window_wait.pump(app, 1.0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out / f"{args.name}.png"))
    print(f"saved {out / (args.name + '.png')} at step {win._shown_snapshot.step}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
