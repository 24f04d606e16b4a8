"""An editor for a typed energy expression and its named parameters, validated as the user types.

The expression is checked with the core's parser (`check_expression`, no torch math) against the names in
the parameter table. An error shows its reason and, for positional errors, the expression echoed on a
monospace line with a caret `^` under the offending column. Only valid states are emitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.energies.expression import check_expression
from ...core.errors import ExpressionError
from .form import ErrorFrame, paint_red

ECHO_WIDTH = 48  # characters of the expression echoed around a far-right error column
MAX_TABLE_ROWS = 6

State = tuple[str, dict, "list[str] | None"]


def monospace() -> QFont:
    """A fixed-pitch font that sets only the family, so its size follows the parent's (presenter mode)."""
    font = QFont()
    font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "Courier New", "monospace"])
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font


def caret_lines(text: str, column: int, width: int = ECHO_WIDTH) -> tuple[str, str]:
    """(echo, caret): the expression (windowed with '…' when long) and a line with '^' under 1-based `column`."""
    start = 0 if column <= width - 8 else column - (width - 8)
    echo = ("…" if start else "") + text[start:]
    pos = column - 1 - start + (1 if start else 0)
    return echo, " " * max(pos, 0) + "^"


class ExpressionEditor(QWidget):
    """Expression line + error area + parameter table (name, value, trainable) with +/- buttons.

    `changed(expression, params, trainable)` is emitted when the user commits a valid state that differs
    from the last one (Enter/focus-out in the expression, any table edit); trainable is None when every
    parameter is trained. An invalid state shows its error and keeps the last valid one.
    """

    changed = Signal(str, dict, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._dim: int | None = None
        self._last: State = ("", {}, None)
        mono = monospace()
        self.line_edit = QLineEdit()
        self.line_edit.setFont(mono)
        self.line_edit.setPlaceholderText("E(x, y), e.g. a*(x**2 + y**2 - r**2)**2")
        self.line_edit.setToolTip("energy E(x); variables x, y, z or x1..xd; parameters from the table below")
        self.message_label = paint_red(QLabel(wordWrap=True))
        self.echo_label = QLabel()
        self.caret_label = QLabel()
        for lab in (self.echo_label, self.caret_label):
            lab.setFont(mono)
            lab.setTextFormat(Qt.TextFormat.PlainText)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        paint_red(self.caret_label)
        self.error_area = QWidget()
        err = QVBoxLayout(self.error_area)
        err.setContentsMargins(4, 0, 0, 0)
        err.setSpacing(0)
        for lab in (self.message_label, self.echo_label, self.caret_label):
            err.addWidget(lab)
        self.error_area.hide()

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["parameter", "value", "train", "learned"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "named parameters of the expression: 'value' starts the run, 'train' lets the estimator learn it, "
            "'learned' is its value in the running model (live)"
        )
        self.add_button = QPushButton("+")
        self.remove_button = QPushButton("−")
        self.add_button.setToolTip("add a parameter")
        self.remove_button.setToolTip("remove the selected parameter (or the last one)")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(QLabel("Parameters"))
        buttons.addStretch(1)
        for b in (self.add_button, self.remove_button):
            b.setFixedWidth(b.fontMetrics().horizontalAdvance("M") * 3 + 8)
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.frame = ErrorFrame(self.line_edit)
        layout.addWidget(self.frame)
        layout.addWidget(self.error_area)
        layout.addLayout(buttons)
        layout.addWidget(self.table)

        self.line_edit.textEdited.connect(lambda _t: self.validate())
        self.line_edit.editingFinished.connect(self._commit)
        self.table.itemChanged.connect(lambda _item: self._commit())
        self.add_button.clicked.connect(self._add_param)
        self.remove_button.clicked.connect(self._remove_param)
        self._fit_table()

    # -- public API ------------------------------------------------------------------------------------

    def set_model(self, expression: str, params: Mapping[str, float], trainable: Sequence[str] | None) -> None:
        """Show an expression model's settings without emitting."""
        self.line_edit.setText(expression)
        self.line_edit.setCursorPosition(0)
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(0)
            for name, value in params.items():
                self._append_row(name, float(value), trainable is None or name in trainable)
        finally:
            self.table.blockSignals(False)
        self._fit_table()
        state = self.validate()
        self._last = state if state is not None else (expression, dict(params), self._norm(params, trainable))

    def set_learned(self, values: Mapping[str, float]) -> None:
        """Show the running model's values of the parameters (the 'learned' column; never emits)."""
        self.table.blockSignals(True)
        try:
            for row in range(self.table.rowCount()):
                name_item, cell = self.table.item(row, 0), self.table.item(row, 3)
                if name_item is None or cell is None:
                    continue
                v = values.get(name_item.text().strip())
                text = "" if v is None else f"{v:.5g}"
                if cell.text() != text:
                    cell.setText(text)
        finally:
            self.table.blockSignals(False)

    def learned(self) -> dict[str, str]:
        """The 'learned' column as shown: name -> text."""
        return {
            self.table.item(r, 0).text(): self.table.item(r, 3).text()
            for r in range(self.table.rowCount())
            if self.table.item(r, 0) is not None and self.table.item(r, 3) is not None
        }

    def set_dim(self, dim: int | None) -> None:
        """The model's declared dimension (None: inferred from the variables); revalidates."""
        self._dim = dim
        self.validate()

    def expression(self) -> str:
        return self.line_edit.text()

    def state(self) -> State:
        """The last valid (expression, params, trainable)."""
        return self._last

    def show_error(self, message: str, column: int | None = None) -> None:
        """Show an error (with a caret under `column` when given) and a red border on the expression."""
        self.message_label.setText(message if column is None else f"{message} (column {column})")
        echo, caret = caret_lines(self.line_edit.text(), column) if column else ("", "")
        self.echo_label.setText(echo)
        self.caret_label.setText(caret)
        self.echo_label.setVisible(bool(column))
        self.caret_label.setVisible(bool(column))
        self.error_area.show()
        self.frame.set_error(True)

    def clear_error(self) -> None:
        self.error_area.hide()
        self.message_label.clear()
        self.echo_label.clear()
        self.caret_label.clear()
        self.frame.set_error(False)

    def validate(self) -> State | None:
        """Check the current text and table; show the error (None) or clear it (the valid state)."""
        try:
            params, trainable = self._read_table()
            check_expression(self.line_edit.text(), params, self._dim)
        except ExpressionError as e:
            self.show_error(e.reason, e.column)
            return None
        self.clear_error()
        return self.line_edit.text(), params, trainable

    # -- internals -------------------------------------------------------------------------------------

    @staticmethod
    def _norm(params: Mapping[str, float], trainable: Sequence[str] | None) -> list[str] | None:
        if trainable is None or set(params) <= set(trainable):
            return None
        return [n for n in params if n in trainable]

    def _append_row(self, name: str, value: float, train: bool) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        self.table.setItem(row, 1, QTableWidgetItem(f"{value:.10g}"))
        check = QTableWidgetItem("")
        check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        check.setCheckState(Qt.CheckState.Checked if train else Qt.CheckState.Unchecked)
        self.table.setItem(row, 2, check)
        learned = QTableWidgetItem("")
        learned.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)  # read-only: the run's value
        learned.setForeground(self.palette().placeholderText())
        self.table.setItem(row, 3, learned)

    def _read_table(self) -> tuple[dict[str, float], list[str] | None]:
        params: dict[str, float] = {}
        train: list[str] = []
        for row in range(self.table.rowCount()):
            name_item, value_item, check = (self.table.item(row, c) for c in range(3))
            name = name_item.text().strip() if name_item else ""
            if not name:
                raise ExpressionError(f"parameter {row + 1}: the name is empty")
            if name in params:
                raise ExpressionError(f"parameter '{name}' is listed twice")
            text = value_item.text().strip() if value_item else ""
            try:
                value = float(text)
            except ValueError:
                raise ExpressionError(f"parameter '{name}': value must be a number, got {text!r}") from None
            if not math.isfinite(value):
                raise ExpressionError(f"parameter '{name}': value must be finite, got {text}")
            params[name] = value
            if check is not None and check.checkState() == Qt.CheckState.Checked:
                train.append(name)
        return params, self._norm(params, train)

    def _commit(self) -> None:
        state = self.validate()
        if state is not None and state != self._last:
            self._last = state
            self.changed.emit(*state)

    def _add_param(self) -> None:
        names = {self.table.item(r, 0).text() for r in range(self.table.rowCount()) if self.table.item(r, 0)}
        i = 1
        while f"p{i}" in names:
            i += 1
        self.table.blockSignals(True)
        self._append_row(f"p{i}", 1.0, True)
        self.table.blockSignals(False)
        self._fit_table()
        self._commit()

    def _remove_param(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        row = min(rows) if rows else self.table.rowCount() - 1
        if row < 0:
            return
        self.table.removeRow(row)
        self._fit_table()
        self._commit()

    def _fit_table(self) -> None:
        """Size the table to its rows (up to MAX_TABLE_ROWS, then it scrolls)."""
        rows = max(1, min(self.table.rowCount(), MAX_TABLE_ROWS))
        row_h = self.table.verticalHeader().defaultSectionSize()
        height = self.table.horizontalHeader().sizeHint().height() + rows * row_h + 2 * self.table.frameWidth() + 2
        self.table.setFixedHeight(height)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Refit the table when the font changes (presenter mode)."""
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
            self._fit_table()
