"""File > Sweep results…: a finished `ebmlab sweep` folder's summary table (mean ± SE over seeds) and its plots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import EbmlabError
from ..sweep.results import SweepResults, load_sweep_results, metric_cell

COLUMNS = (
    ("setting", None),
    ("ok / runs", None),
    ("exact NLL", "nll_exact"),
    ("exact log Z", "log_z_exact"),
    ("loss", "loss"),
    ("steps/s", "steps_per_s"),
)


class ScaledPicture(QLabel):
    """A PNG drawn as large as the label allows, keeping its aspect ratio."""

    def __init__(self, path: Path):
        super().__init__()
        self.original = QPixmap(str(path))
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        if self.original.isNull():
            self.setText(f"{path.name}: not a readable PNG")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.original.isNull():
            self.setPixmap(self.original.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))
        super().resizeEvent(event)


class SweepResultsDialog(QDialog):
    def __init__(self, results: SweepResults, parent: QWidget | None = None):
        super().__init__(parent)
        self.results = results
        self.setWindowTitle(f"Sweep results — {results.folder}")
        layout = QVBoxLayout(self)
        head = QLabel(results.headline)
        head.setWordWrap(True)
        head.setStyleSheet("font-weight: 600;")
        layout.addWidget(head)
        split = QSplitter(Qt.Vertical)
        self.table = self._table(results.summary["settings"])
        split.addWidget(self.table)
        self.tabs = QTabWidget()
        for title, path in results.plots:
            self.tabs.addTab(ScaledPicture(path), title)
        if not results.plots:
            self.tabs.addTab(QLabel("no plots in this folder (plots/*.png)"), "Plots")
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        screen = (parent.screen() if parent else QGuiApplication.primaryScreen()).availableGeometry()
        self.resize(int(screen.width() * 0.9), int(screen.height() * 0.9))

    def _table(self, settings: list[dict]) -> QTableWidget:
        table = QTableWidget(len(settings), len(COLUMNS))
        table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        for row, entry in enumerate(settings):
            cells = [entry.get("label", "?"), f"{entry.get('ok', 0)} / {entry.get('runs', 0)}"]
            cells += [metric_cell(entry, m) for _, m in COLUMNS[2:]]
            reasons = entry.get("reasons") or []
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if reasons:
                    item.setToolTip("failed runs:\n" + "\n".join(str(r) for r in reasons))
                    if col == 1:
                        item.setForeground(Qt.red)
                table.setItem(row, col, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        return table


def open_sweep_results(win, folder: str | None = None) -> SweepResultsDialog | None:
    """Ask for a sweep's folder (unless given) and show it; a folder that is not one becomes a banner message."""
    if folder is None:
        folder = QFileDialog.getExistingDirectory(win, "Open a sweep's results folder (ebmlab sweep --out)")
        if not folder:
            return None
    try:
        results = load_sweep_results(folder)
    except EbmlabError as e:
        win.show_error(f"Sweep results: {e}")
        return None
    dialog = SweepResultsDialog(results, win)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.show()
    return dialog
