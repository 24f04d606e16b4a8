"""A layout that places its items left to right and wraps to a new row when the width runs out.

The transport bar uses it so that every control keeps its full size (no truncated combo boxes) on any
screen: at 1280 px in presenter fonts it simply takes two rows. Items are kept in insertion order; the
height follows the width (`heightForWidth`), so the owner's layout gives it as many rows as it needs.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget, QWidgetItem


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, h_spacing: int = 10, v_spacing: int = 4):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h, self._v = h_spacing, v_spacing
        self.setContentsMargins(QMargins(6, 4, 6, 4))

    # ------------------------------------------------------------------ QLayout API
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt name)
        self._items.append(item)

    def insertWidget(self, index: int, widget: QWidget) -> None:  # noqa: N802 (Qt name)
        """Insert before position `index` (clamped to the item count)."""
        self.addChildWidget(widget)  # reparents only: the item is ours to place
        self._items.insert(max(0, min(index, len(self._items))), QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt name)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt name)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt name)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt name)
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """One row of every item (the width the bar would like)."""
        m = self.contentsMargins()
        visible = [it for it in self._items if not it.isEmpty()]
        w = sum(it.sizeHint().width() for it in visible) + self._h * max(0, len(visible) - 1)
        h = max((it.sizeHint().height() for it in visible), default=0)
        return QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt name)
        """As narrow as the widest single item: everything else wraps."""
        m = self.contentsMargins()
        size = QSize()
        for it in self._items:
            if not it.isEmpty():
                size = size.expandedTo(it.sizeHint())
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # ------------------------------------------------------------------ placement
    def _arrange(self, rect: QRect, apply: bool) -> int:
        """Place the items row by row inside `rect`; returns the total height used."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_h = area.x(), area.y(), 0
        row: list[tuple[QLayoutItem, QPoint, QSize]] = []

        def flush() -> None:
            for it, pos, size in row:  # centre each item vertically in its row
                it.setGeometry(QRect(QPoint(pos.x(), pos.y() + (row_h - size.height()) // 2), size))
            row.clear()

        for it in self._items:
            if it.isEmpty():
                continue
            size = it.sizeHint()
            if x > area.x() and x + size.width() > area.right() + 1:
                if apply:
                    flush()
                row.clear()
                x, y = area.x(), y + row_h + self._v
                row_h = 0
            row.append((it, QPoint(x, y), size))
            x += size.width() + self._h
            row_h = max(row_h, size.height())
        if apply:
            flush()
        return y + row_h - rect.y() + m.bottom()
