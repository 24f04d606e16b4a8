"""A translucent overlay listing the keyboard shortcuts; any key or click closes it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from .menus import SHORTCUTS


class HelpOverlay(QLabel):
    def __init__(self, parent: QWidget):
        super().__init__(parent)
        from .views import theme

        size = theme.pt(14)  # follows presenter mode, like every other text
        rows = "".join(f"<tr><td align='right'><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        self.setText(
            f"<div align='center'><h2>Keyboard shortcuts</h2>"
            f"<table align='center' cellspacing='3' style='font-size:{size}'>{rows}</table>"
            f"<p>(any key closes)</p></div>"
        )
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet(f"background: rgba(20, 20, 30, 225); color: white; font-size: {size};")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @classmethod
    def show_over(cls, parent: QWidget) -> HelpOverlay:
        for child in parent.findChildren(HelpOverlay):
            child.close()
            child.deleteLater()
        o = cls(parent)
        o.setGeometry(parent.rect())
        o.show()
        o.raise_()
        o.setFocus()
        return o

    def keyPressEvent(self, event) -> None:  # noqa: N802
        self.close()
        self.deleteLater()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.close()
        self.deleteLater()
