"""View ▸ Plots: choose the metrics plots shown (writes the experiment's view.plots, saved with the preset)."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from ..config.schema import PLOT_NAMES
from .views.plot_specs import SPECS


class PlotsMenu(QMenu):
    """One checkable entry per plot plus 'Automatic'. Ticking adds a plot at the end of the current list,
    unticking removes it; 'Automatic' returns to the run's own choice (view.plots = null)."""

    def __init__(self, win, parent=None):
        super().__init__("Plots", parent)
        self.win = win
        self.automatic = QAction("Automatic (what the run has)", self, checkable=True)
        self.automatic.triggered.connect(lambda: self.choose(None))
        self.addAction(self.automatic)
        self.addSeparator()
        self.entries: dict[str, QAction] = {}
        for key in PLOT_NAMES:
            act = QAction(SPECS[key].title, self, checkable=True)
            act.triggered.connect(lambda on, k=key: self.toggle(k, on))
            self.addAction(act)
            self.entries[key] = act
        self.aboutToShow.connect(self.sync)

    def sync(self) -> None:
        """Tick what is on screen now."""
        exp = self.win.experiment
        self.automatic.setChecked(exp is None or exp.view.plots is None)
        shown = set(self.win.plots.visible_plots())
        for key, act in self.entries.items():
            act.setChecked(key in shown)

    def toggle(self, key: str, on: bool) -> None:
        current = list(self.win.plots.visible_plots())
        if on and key not in current:
            current.append(key)
        elif not on and key in current:
            current.remove(key)
        self.choose(current or None)

    def choose(self, plots: list[str] | None) -> None:
        self.win.request_change([(["view", "plots"], plots)])
        self.sync()
