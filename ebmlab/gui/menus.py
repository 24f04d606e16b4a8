"""Menus and keyboard shortcuts of the main window (shortcuts are listed in the help overlay)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from ..config.presets import bundled_presets
from ..core.loop import Reset, Step
from .sweep_dialog import open_sweep_results

SHORTCUTS: list[tuple[str, str]] = [
    ("Space", "play / pause"),
    ("S or Right", "one training step"),
    ("R", "reset to step 0"),
    ("+ / -", "faster / slower"),
    ("F", "full screen"),
    ("P", "presenter mode (large fonts, notes)"),
    ("Ctrl+B", "show / hide the settings panel"),
    ("1 … 9, 0", "load bundled preset 1 … 10"),
    ("Ctrl+O / Ctrl+S", "open / save preset"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo a paint stroke (Paint: drag adds data, Shift+drag erases)"),
    ("H or F1", "this help"),
]


def lesson_number(stem: str) -> int | None:
    """'03_score_matching' -> 3 (lessons 1-10 get the number keys 1-9, 0); others -> None."""
    head = stem.split("_", 1)[0]
    if head.isdigit() and 1 <= int(head) <= 10:
        return int(head)
    return None


def _action(win, text: str, slot, shortcuts: tuple[str, ...] = ()) -> QAction:
    act = QAction(text, win)
    if shortcuts:
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
    act.triggered.connect(slot)
    win.addAction(act)  # shortcuts work even when the menu bar is hidden (full screen)
    return act


def build_menus(win) -> None:
    bar = win.menuBar()
    file = bar.addMenu("&File")
    file.addAction(_action(win, "&Open preset…", win.open_dialog, ("Ctrl+O",)))
    file.addAction(_action(win, "&Save preset", win.save, ("Ctrl+S",)))
    file.addAction(_action(win, "Save preset &as…", win.save_as, ("Ctrl+Shift+S",)))
    win.recent_menu = file.addMenu("Recent files")
    win.refresh_recent_menu()
    file.addSeparator()
    file.addAction(_action(win, "Sweep &results…", lambda: open_sweep_results(win)))
    file.addSeparator()
    if hasattr(win, "export_menu_actions"):
        for act in win.export_menu_actions():
            file.addAction(act)
        file.addSeparator()
    file.addAction(_action(win, "&Quit", win.close, ("Ctrl+Q",)))

    presets = bar.addMenu("&Presets")
    presets.setToolTipsVisible(True)
    for path, name, desc in bundled_presets():
        number = lesson_number(path.stem)
        key = (str(number % 10),) if number is not None else ()
        label = f"{number}. {name}" if number is not None else name
        act = _action(win, label, lambda _=False, p=path: win.open_preset(p), key)
        act.setToolTip(desc)
        act.setStatusTip(desc)
        presets.addAction(act)

    run = bar.addMenu("&Run")
    run.addAction(_action(win, "Play / pause", lambda: win.transport.play.toggle(), ("Space",)))
    run.addAction(_action(win, "Step", lambda: win.worker.send(Step(1)), ("S", "Right")))
    run.addAction(_action(win, "Reset", lambda: win.worker.send(Reset()), ("R",)))
    run.addAction(_action(win, "Faster", lambda: win.transport.change_speed(+1), ("+", "=")))
    run.addAction(_action(win, "Slower", lambda: win.transport.change_speed(-1), ("-",)))

    view = bar.addMenu("&View")
    view.addAction(_action(win, "Full screen", win.toggle_full_screen, ("F", "F11")))
    if hasattr(win, "toggle_presenter"):
        view.addAction(_action(win, "Presenter mode", win.toggle_presenter, ("P",)))
    view.addAction(_action(win, "Show settings", win.toggle_settings, ("Ctrl+B",)))
    if hasattr(win, "plots"):
        from .plots_menu import PlotsMenu

        win.plots_menu = PlotsMenu(win, view)
        view.addMenu(win.plots_menu)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(win, "Keyboard shortcuts", win.show_help, ("H", "F1")))
