"""A settings form generated from a params dataclass: one row per field, widgets chosen by type and metadata.

The dataclass's `param(...)` metadata (lo, hi, lo_open, log, choices, help) gives each row its range,
tooltip and widget. A value that does not parse or is out of range is not emitted: the field gets a red
border and the reason under it, in the core's own words (`must be > 0.0, got -1.0`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QMargins, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.params import check_value, coerce, field_meta

INT32 = (-(2**31) + 1, 2**31 - 1)
ERROR_COLOR = "#c62828"  # palettes, not style sheets: a style sheet freezes a widget's font (presenter mode)
LABELS = {"lr": "Learning rate"}


def readable(name: str) -> str:
    """'step_size' -> 'Step size'."""
    if name in LABELS:
        return LABELS[name]
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def range_text(meta: Mapping[str, Any]) -> str:
    """A short human description of a field's range, e.g. '> 0, <= 10, log scale'."""
    lo, hi = meta.get("lo"), meta.get("hi")
    parts = [f"{'>' if meta.get('lo_open') else '>='} {lo:g}" if lo is not None else ""]
    parts += [f"<= {hi:g}" if hi is not None else "", "log scale" if meta.get("log") else ""]
    return ", ".join(p for p in parts if p)


def nice_step(value: float, up: bool) -> float | None:
    """The next value of the 1-2-5 sequence above (or below) a positive value; None for value <= 0."""
    if not (value > 0 and math.isfinite(value)):
        return None
    e = math.floor(math.log10(value))
    cands = [float(f"{m * 10.0**k:.12g}") for k in (e - 1, e, e + 1) for m in (1, 2, 5)]
    if up:
        return min(c for c in cands if c > value * (1 + 1e-9))
    below = [c for c in cands if c < value * (1 - 1e-9)]
    return max(below) if below else None


def format_value(value: Any, kind: str) -> str:
    """How a value is shown in a text field."""
    if value is None:
        return ""
    return json.dumps(value) if kind == "json" else f"{float(value):.10g}" if kind == "float" else str(value)


def _split_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        return (args[0] if len(args) == 1 else tp), optional
    return tp, False


def paint_red(widget: QWidget) -> QWidget:
    """Draw a widget's text (and plain frame lines) in the error colour."""
    pal = widget.palette()
    pal.setColor(QPalette.ColorRole.WindowText, QColor(ERROR_COLOR))
    widget.setPalette(pal)
    return widget


def error_label() -> QLabel:
    """A hidden, red, word-wrapped label for an error message."""
    label = QLabel(wordWrap=True, visible=False)
    paint_red(label)
    return label


class ErrorFrame(QWidget):
    """Holds an editor; `set_error(True)` draws a red box around it (the editor does not move)."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self._error = False
        QVBoxLayout(self, contentsMargins=QMargins(2, 2, 2, 2)).addWidget(editor)

    def set_error(self, on: bool) -> None:
        self._error = on
        self.update()

    def has_error(self) -> bool:
        return self._error

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if self._error:
            painter = QPainter(self)
            painter.setPen(QPen(QColor(ERROR_COLOR), 2))
            painter.drawRect(self.rect().adjusted(1, 1, -1, -1))


class NumberEdit(QLineEdit):
    """A line edit for numbers; Up/Down arrow keys ask the form for a step (`stepped(+1 | -1)`)."""

    stepped = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.stepped.emit(1 if event.key() == Qt.Key.Key_Up else -1)
            return
        super().keyPressEvent(event)


class WheelGuard(QObject):
    """Wheel events reach spin boxes and combos only when they have focus (so scrolling a panel edits nothing)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True
        return False


@dataclasses.dataclass
class _Field:
    name: str
    tp: Any
    optional: bool
    meta: dict
    kind: str  # bool | spin | int | float | choice | str | json
    editor: QWidget
    frame: ErrorFrame
    error: QLabel
    label: QLabel
    shown: str = ""  # text last shown in a text editor (unchanged text is not re-emitted)


class ParamsForm(QWidget):
    """A form for one params dataclass. `edited(name, value)` carries parsed, range-checked values only."""

    edited = Signal(str, object)

    def __init__(
        self,
        params_cls: type,
        parent: QWidget | None = None,
        *,
        exclude: Collection[str] = (),
        choices: Mapping[str, Sequence[str] | Mapping[str, str]] | None = None,
    ):
        """`exclude`: fields left out; `choices`: fields shown as a combo of these values (or value -> tooltip)."""
        super().__init__(parent)
        self.params_cls = params_cls
        self._fields: dict[str, _Field] = {}
        self._values: dict[str, Any] = {}
        self._guard = WheelGuard(self)
        layout = QFormLayout(self, contentsMargins=QMargins(0, 0, 0, 0))
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        hints = typing.get_type_hints(params_cls)
        for f in dataclasses.fields(params_cls):
            if f.name in exclude or not f.init:
                continue
            self._add_row(layout, f.name, hints[f.name], field_meta(f), (choices or {}).get(f.name))
        try:
            self.set_values(params_cls())
        except TypeError:  # a class without defaults: rows stay empty until set_values
            pass

    def _add_row(self, layout: QFormLayout, name: str, tp: Any, meta: dict, extra: Any) -> None:
        base, optional = _split_optional(tp)
        options: Sequence[str] | None = meta.get("choices")
        tips: Mapping[str, str] = {}
        if typing.get_origin(base) is typing.Literal:
            options = options or typing.get_args(base)
        if extra is not None:
            options, tips = (list(extra), extra) if isinstance(extra, Mapping) else (list(extra), {})
        editor: QWidget
        if options is not None:
            kind, editor = "choice", QComboBox()
            for opt in options:
                editor.addItem(str(opt), opt)
                if tips.get(opt):
                    editor.setItemData(editor.count() - 1, tips[opt], Qt.ItemDataRole.ToolTipRole)
            editor.currentIndexChanged.connect(lambda _i, n=name: self._commit_choice(n))
        elif base is bool:
            kind, editor = "bool", QCheckBox()
            editor.toggled.connect(lambda on, n=name: self._emit_if_changed(n, bool(on)))
        elif base is int and not optional and self._spin_range(meta) is not None:
            kind, editor = "spin", QSpinBox()
            editor.setRange(*self._spin_range(meta))
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(lambda v, n=name: self._emit_if_changed(n, int(v)))
        elif base in (int, float):
            kind, editor = ("int" if base is int else "float"), NumberEdit()
            editor.stepped.connect(lambda d, n=name: self._step(n, d))
        elif base is str:
            kind, editor = "str", QLineEdit()
        else:
            kind, editor = "json", QLineEdit()
        if isinstance(editor, QLineEdit):
            editor.setPlaceholderText("empty: automatic" if optional else "JSON" if kind == "json" else "")
            editor.editingFinished.connect(lambda n=name: self._commit_text(n))
            editor.textEdited.connect(lambda _t, n=name: self._clear(n))
        if isinstance(editor, (QSpinBox, QComboBox)):
            editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            editor.installEventFilter(self._guard)
        editor.setObjectName(name)
        tip = "\n".join(t for t in (meta.get("help", ""), range_text(meta)) if t)
        label = QLabel(readable(name), toolTip=tip)
        editor.setToolTip(tip)
        error = error_label()
        box = QWidget(sizePolicy=QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed))
        col = QVBoxLayout(box, spacing=0, contentsMargins=QMargins(0, 0, 0, 0))
        frame = ErrorFrame(editor)
        col.addWidget(frame)
        col.addWidget(error)
        layout.addRow(label, box)
        self._fields[name] = _Field(name, tp, optional, meta, kind, editor, frame, error, label)

    @staticmethod
    def _spin_range(meta: Mapping[str, Any]) -> tuple[int, int] | None:
        lo = meta.get("lo")
        lo = INT32[0] if lo is None else math.floor(lo) + 1 if meta.get("lo_open") else math.ceil(lo)
        hi = INT32[1] if meta.get("hi") is None else math.floor(meta["hi"])
        return (int(lo), int(hi)) if INT32[0] <= lo <= hi <= INT32[1] else None

    # -- public API ------------------------------------------------------------------------------------

    def field_names(self) -> list[str]:
        return list(self._fields)

    def editor(self, name: str) -> QWidget:
        """The editing widget of a field (QSpinBox, QLineEdit, QComboBox or QCheckBox)."""
        return self._fields[name].editor

    def has_error(self, name: str) -> bool:
        """Whether a field shows an error (red box and message)."""
        return self._fields[name].frame.has_error()

    def error_text(self, name: str) -> str:
        """The error shown under a field ('' when none)."""
        f = self._fields[name]
        return f.error.text() if not f.error.isHidden() else ""

    def values(self) -> dict:
        """The form's current valid values (what was last set or emitted)."""
        return dict(self._values)

    def set_values(self, instance: Any) -> None:
        """Show a params instance (or a mapping) without emitting; clears errors."""
        get = instance.get if isinstance(instance, Mapping) else lambda n, d=None: getattr(instance, n, d)
        for name, f in self._fields.items():
            value = get(name, self._values.get(name))
            self._values[name] = value
            ed = f.editor
            ed.blockSignals(True)
            try:
                if isinstance(ed, QComboBox):
                    i = ed.findData(value)
                    if i < 0 and value is not None:
                        ed.addItem(str(value), value)
                        i = ed.count() - 1
                    ed.setCurrentIndex(i)
                elif isinstance(ed, QCheckBox):
                    ed.setChecked(bool(value))
                elif isinstance(ed, QSpinBox):
                    ed.setValue(int(value))
                elif isinstance(ed, QLineEdit):
                    f.shown = format_value(value, f.kind)
                    ed.setText(f.shown)
                    ed.setCursorPosition(0)
            finally:
                ed.blockSignals(False)
        self.clear_errors()

    def mark_error(self, field: str, message: str) -> bool:
        """Show `message` under a field with a red border; False if the form has no such field."""
        f = self._fields.get(field)
        if f is None:
            return False
        f.error.setText(message)
        f.error.show()
        f.frame.set_error(True)
        return True

    def clear_errors(self) -> None:
        for name in self._fields:
            self._clear(name)

    # -- editing ---------------------------------------------------------------------------------------

    def _clear(self, name: str) -> None:
        f = self._fields[name]
        if not f.error.isHidden():
            f.error.clear()
            f.error.hide()
            f.frame.set_error(False)

    def _emit_if_changed(self, name: str, value: Any) -> None:
        reason = check_value(value, self._fields[name].meta) if value is not None else None
        if reason:
            self.mark_error(name, reason)
            return
        self._clear(name)
        if value != self._values.get(name) or type(value) is not type(self._values.get(name)):
            self._values[name] = value
            self.edited.emit(name, value)

    def _commit_choice(self, name: str) -> None:
        self._emit_if_changed(name, self._fields[name].editor.currentData())  # type: ignore[attr-defined]

    def parse(self, name: str, text: str) -> tuple[Any, str | None]:
        """(value, None) or (None, reason) for a text typed into a field."""
        f = self._fields[name]
        t = text.strip()
        if not t:
            if f.optional:
                return None, None
            if f.kind == "str":
                return "", None
            return None, "a value is required"
        value: Any
        if f.kind == "int":
            try:
                x = float(t)
                value = int(t) if t.lstrip("+-").isdigit() else int(x) if x.is_integer() else None
            except (ValueError, OverflowError):
                value = None
            if value is None:
                return None, f"must be an integer, got {t!r}"
        elif f.kind == "float":
            try:
                value = float(t)
            except ValueError:
                return None, f"must be a number (e.g. 0.01 or 1e-3), got {t!r}"
        elif f.kind == "json":
            try:
                raw = json.loads(t)
            except ValueError as e:
                return None, f"not valid JSON: {e.msg} at column {e.colno}"
            value, err = coerce(raw, f.tp, name)
            if err:
                rest = err[len(name) :] if err.startswith(name) else err
                return None, rest[2:] if rest.startswith(": ") else f"value{rest}"
        else:
            value = text
        return value, check_value(value, f.meta) if value is not None else None

    def _commit_text(self, name: str) -> None:
        f = self._fields[name]
        text = f.editor.text()  # type: ignore[attr-defined]
        if text == f.shown:
            self._clear(name)
            return
        value, reason = self.parse(name, text)
        if reason:
            self.mark_error(name, reason)
            return
        f.shown = text
        self._emit_if_changed(name, value)

    def _step(self, name: str, direction: int) -> None:
        """Up/Down in a number field: integers by 1, log-scale numbers along 1-2-5."""
        f = self._fields[name]
        current = self._values.get(name)
        if not isinstance(current, (int, float)):
            return
        if f.kind == "int":
            new: Any = int(current) + direction
        elif f.meta.get("log"):
            new = nice_step(float(current), direction > 0)
            if new is None:
                return
        else:
            return
        if check_value(new, f.meta):
            return
        f.shown = format_value(new, f.kind)
        f.editor.setText(f.shown)  # type: ignore[attr-defined]
        self._emit_if_changed(name, new)
