"""The preset's name, description and notes (notes may be simple markdown)."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import QApplication, QLabel, QTextBrowser, QVBoxLayout, QWidget

from ...config.schema import Experiment

TITLE_SCALE = 1.6
PRESENTER_SCALE = 1.5
PRESENTER_TITLE_SCALE = 1.25  # the notes' body is already 1.5x: a 2.4x title would not fit the column


class NotesPanel(QWidget):
    """Title (bold, large), one-line description, and the notes rendered from markdown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base_font = QFont(QApplication.font())
        self._presenter = False
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        self.description_label = QLabel()
        self.description_label.setWordWrap(True)
        italic = QFont()
        italic.setItalic(True)
        self.description_label.setFont(italic)
        self.notes_browser = QTextBrowser()
        self.notes_browser.setOpenLinks(False)  # links open outside; the notes stay
        self.notes_browser.anchorClicked.connect(self._open_link)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title_label)
        layout.addWidget(self.description_label)
        layout.addWidget(self.notes_browser, 1)
        self.set_presenter(False)

    def set_experiment(self, exp: Experiment) -> None:
        self.title_label.setText(exp.name)
        self.description_label.setText(exp.description)
        self.description_label.setVisible(bool(exp.description))
        self.notes_browser.setMarkdown(exp.notes or "*No notes for this preset.*")

    def set_presenter(self, on: bool) -> None:
        """Larger fonts for a projector."""
        self._presenter = on
        size = self._base_font.pointSizeF()
        font = QFont(self._base_font)
        if size > 0:
            font.setPointSizeF(size * (PRESENTER_SCALE if on else 1.0))
        self.setFont(font)
        title = QFont()
        title.setBold(True)
        if size > 0:
            title.setPointSizeF(font.pointSizeF() * (PRESENTER_TITLE_SCALE if on else TITLE_SCALE))
        self.title_label.setFont(title)

    @staticmethod
    def _open_link(url: QUrl) -> None:
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)
