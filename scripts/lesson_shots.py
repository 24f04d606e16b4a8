"""Screenshots of every lesson after its run, on a real screen (run under Xvfb at the projector size):

    Xvfb :9 -screen 0 1280x720x24 &  DISPLAY=:9 QT_QPA_PLATFORM=xcb python scripts/lesson_shots.py --out assets/lessons

One window opens each bundled lesson in turn (File > Open, as a lecturer would), trains it for its own
training.steps (capped by --max-steps), and saves the whole screen as NN_name.png; --presenter also saves
the first lesson in presenter mode. Prints the step each shot was taken at.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import window_wait  # scripts/window_wait.py (this folder is on sys.path when a script runs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="assets/lessons")
    ap.add_argument("--only", nargs="*", default=None, help="lesson file stems (default: all bundled)")
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--presenter", action="store_true")
    args = ap.parse_args()

    from ebmlab.config.bundled import BUNDLED_DIR
    from ebmlab.gui.app import make_app
    from ebmlab.gui.app_settings import use_private_settings
    from ebmlab.gui.main_window import MainWindow

    app = make_app()
    use_private_settings()  # the default placement on this screen, and the user's settings untouched
    win = MainWindow()
    win.show()

    def pump(seconds: float) -> None:
        window_wait.pump(app, seconds)

    def wait(cond, timeout: float = 300.0) -> None:
        window_wait.wait(app, cond, timeout)

    def shoot(path: Path) -> None:
        pump(1.5)  # the full-resolution landscape and the plots arrive
        app.primaryScreen().grabWindow(0).save(str(path))
        print(f"saved {path} at step {win._shown_snapshot.step}", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lessons = sorted(BUNDLED_DIR.glob("*.json"))
    if args.only:
        lessons = [p for p in lessons if p.stem in args.only]
    for i, path in enumerate(lessons):
        old_run = win.run_id
        win.open_preset(path)
        wait(
            lambda old_run=old_run: (
                win.run_id != old_run and win._shown_snapshot is not None and win._shown_snapshot.run_id == win.run_id
            )
        )
        steps = min(win.experiment.training.steps or args.max_steps, args.max_steps)
        win.transport.play.click()
        wait(lambda steps=steps: win._shown_snapshot.step >= steps or win._shown_snapshot.status == "error")
        if win._shown_snapshot.status == "running":
            win.transport.play.click()
        wait(lambda: win._shown_snapshot.status != "running")
        shoot(out / f"{path.stem}.png")
        if args.presenter and i == 0:
            win.toggle_presenter()
            shoot(out / f"{path.stem}_presenter.png")
            win.toggle_presenter()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
