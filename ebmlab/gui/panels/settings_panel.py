"""The settings panel: collapsible sections generated from the experiment's component configs.

The panel never changes the experiment itself: every edit becomes `changeRequested([(path, value), ...])`
(the paths of `ebmlab.config.schema.with_overrides`); the owner validates, then calls `set_experiment`
with the new experiment, or `show_problems` with the ConfigError's lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QFrame,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...config.schema import COMPONENT_SECTIONS, PLAIN_SECTIONS, Experiment
from ...core.data import TOY_SETS
from ...core.datasources import DATA_KINDS
from ...core.estimators import ESTIMATORS
from ...core.models import MODEL_KINDS
from ...core.samplers import SAMPLERS
from .expression_editor import ExpressionEditor
from .form import ParamsForm, WheelGuard, error_label

BINARY_MODEL_KINDS = ("boltzmann", "rbm")
EXPRESSION_FIELDS = ("expression", "params", "trainable")
PREFERRED = {"data": ("toy", "bars_and_stripes"), "sampler": ("mala", "gibbs")}
PLAIN_TITLES = {"optimiser": "Optimiser", "training": "Training", "chains": "Chains", "logz": "Log Z", "view": "View"}
PRESENTER_SCALE = 1.5
Override = tuple[list[str], Any]


def model_space(kind: str) -> str:
    """'binary' for Boltzmann machines and RBMs, else 'continuous'."""
    return "binary" if kind in BINARY_MODEL_KINDS else "continuous"


def compatible(section: str, space: str) -> list[str]:
    """Names of a component section's registered kinds that work on `space`."""
    if section == "model":
        return MODEL_KINDS.names()
    if section == "data":
        return [n for n in DATA_KINDS.names() if DATA_KINDS.get(n).space == space]
    if section == "estimator":
        return [n for n in ESTIMATORS.names() if space in ESTIMATORS.get(n).spaces]
    return [n for n in SAMPLERS.names() if SAMPLERS.get(n).space in (space, "any")]


def description(section: str, name: str) -> str:
    reg: Any = {"model": MODEL_KINDS, "data": DATA_KINDS, "estimator": ESTIMATORS, "sampler": SAMPLERS}[section]
    return getattr(reg.get(name), "description", "") if name in reg else ""


def scrollable(panel: QWidget) -> QScrollArea:
    """Wrap a panel in a vertical scroll area that resizes it to the available width."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(panel)
    return area


class Section(QWidget):
    """A collapsible section: a bold header button with an arrow, and a body."""

    def __init__(self, title: str, expanded: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        style = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        self.header = QToolButton(text=title, checkable=True, autoRaise=True, toolButtonStyle=style)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        bold = QFont()
        bold.setBold(True)
        self.header.setFont(bold)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(14, 2, 4, 8)
        self.body_layout.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.header.toggled.connect(self.set_expanded)
        self.set_expanded(expanded)

    def set_expanded(self, on: bool) -> None:
        self.header.blockSignals(True)
        self.header.setChecked(on)
        self.header.blockSignals(False)
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)

    def is_expanded(self) -> bool:
        return self.header.isChecked()


class ComponentBox(QWidget):
    """A kind/name combo over a registry plus the chosen kind's form (forms are made lazily, kept per kind)."""

    def __init__(self, section: str, emit: Callable[[list[Override]], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.section = section
        self.key, self._lookup = COMPONENT_SECTIONS[section]
        self._emit = emit
        self.kind = ""
        self.forms: dict[str, ParamsForm] = {}
        self.editor: ExpressionEditor | None = None
        self.combo = QComboBox()
        self.combo.setObjectName(f"{section}.{self.key}")
        self.combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._guard = WheelGuard(self)
        self.combo.installEventFilter(self._guard)
        self.combo_error = error_label()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addRow(self.key.capitalize(), self.combo)
        self._layout.addLayout(top)
        self._layout.addWidget(self.combo_error)
        self.combo.currentIndexChanged.connect(self._on_combo)

    def set_options(self, names: Sequence[str]) -> None:
        """The kinds offered (the current kind stays listed even when it is not among them)."""
        names = list(names) + ([self.kind] if self.kind and self.kind not in names else [])
        self.combo.blockSignals(True)
        self.combo.clear()
        for n in names:
            self.combo.addItem(n, n)
            self.combo.setItemData(self.combo.count() - 1, description(self.section, n), Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(self.combo.findData(self.kind))
        self.combo.blockSignals(False)

    def options(self) -> list[str]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def set_component(self, kind: str, settings: Any) -> None:
        """Show `kind` with `settings` (without emitting)."""
        self.kind = kind
        self.combo.blockSignals(True)
        i = self.combo.findData(kind)
        if i < 0:
            self.combo.addItem(kind, kind)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(i)
        self.combo.blockSignals(False)
        self.combo.setToolTip(description(self.section, kind))
        form = self._form(kind)
        for k, f in self.forms.items():
            f.setVisible(k == kind)
        if self.editor is not None:
            self.editor.setVisible(kind == "expression" and self.section == "model")
        if settings is not None:
            form.set_values(settings)
            if self.editor is not None and kind == "expression":
                self.editor.set_dim(settings.dim)
                self.editor.set_model(settings.expression, settings.params, settings.trainable)
        self.clear_errors()

    def _form(self, kind: str) -> ParamsForm:
        if kind not in self.forms:
            cls = self._lookup(kind)
            exclude: tuple[str, ...] = ()
            if self.section == "model" and kind == "expression":
                exclude = EXPRESSION_FIELDS
                self.editor = ExpressionEditor()
                self.editor.changed.connect(self._on_expression)
                self._layout.addWidget(self.editor)
            choices = {"name": {n: s.description for n, s in TOY_SETS.items()}} if self.section == "data" else None
            form = ParamsForm(cls, exclude=exclude, choices=choices if kind == "toy" else None)
            form.setObjectName(f"{self.section}:{kind}")
            form.edited.connect(self._on_field)
            self._layout.addWidget(form)
            self.forms[kind] = form
        return self.forms[kind]

    def form(self) -> ParamsForm:
        """The current kind's form."""
        return self._form(self.kind)

    def default_settings(self, kind: str) -> Any:
        return self._lookup(kind)()

    def _on_combo(self, _index: int) -> None:
        kind = self.combo.currentData()
        if kind and kind != self.kind:
            self.set_component(kind, self.default_settings(kind))
            self._emit([([self.section, self.key], kind)])

    def _on_field(self, name: str, value: Any) -> None:
        if self.section == "model" and name == "dim" and self.editor is not None and self.kind == "expression":
            self.editor.set_dim(value)
        self._emit([([self.section, name], value)])

    def _on_expression(self, text: str, params: dict, trainable: object) -> None:
        sec = self.section
        self._emit([([sec, "expression"], text), ([sec, "params"], params), ([sec, "trainable"], trainable)])

    def mark_error(self, field: str, message: str) -> bool:
        if field == self.key:
            self.combo_error.setText(message)
            self.combo_error.show()
            return True
        if self.editor is not None and self.kind == "expression" and field in EXPRESSION_FIELDS:
            self.editor.show_error(f"{field}: {message}" if field != "expression" else message)
            return True
        return self.form().mark_error(field, message)

    def clear_errors(self) -> None:
        self.combo_error.hide()
        if self.kind in self.forms:
            self.forms[self.kind].clear_errors()
        if self.editor is not None and self.kind == "expression":
            self.editor.validate()


class SettingsPanel(QWidget):
    """Every setting of an experiment, one collapsible section per config section.

    Signals: changeRequested(list of (path_list, value)). Put it in `scrollable(panel)` in a window.
    """

    changeRequested = Signal(list)  # noqa: N815 (Qt naming)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._exp: Experiment | None = None
        self._base_font = QFont(QApplication.font())
        self.error_label = error_label()
        self.error_label.setFrameShape(QFrame.Shape.Box)
        self.error_label.setMargin(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(2)
        layout.addWidget(self.error_label)
        self.sections: dict[str, Section] = {}
        self.boxes: dict[str, ComponentBox] = {}
        for name in COMPONENT_SECTIONS:
            self.boxes[name] = ComponentBox(name, self._model_request if name == "model" else self._request)
            self._add_section(layout, name, name.capitalize(), self.boxes[name], True)
        self.forms: dict[str, ParamsForm] = {}
        for name, cls in PLAIN_SECTIONS.items():
            self.forms[name] = ParamsForm(cls)
            self.forms[name].setObjectName(name)
            self.forms[name].edited.connect(lambda f, v, s=name: self._request([([s, f], v)]))
            self._add_section(layout, name, PLAIN_TITLES.get(name, name.capitalize()), self.forms[name], False)
        self._add_section(layout, "run", "Run", self._make_run(), True)
        layout.addStretch(1)

    def _add_section(self, layout: QVBoxLayout, key: str, title: str, content: QWidget, expanded: bool) -> None:
        sec = Section(title, expanded)
        sec.setObjectName(f"section:{key}")
        sec.body_layout.addWidget(content)
        self.sections[key] = sec
        layout.addWidget(sec)

    def _make_run(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setToolTip("one seed reproduces the run bit for bit on the same device")
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("where the model trains (availability is detected when the window opens)")
        self.run_error = error_label()
        form.addRow("Seed", self.seed_box)
        form.addRow("Device", self.device_combo)
        form.addRow(self.run_error)
        self.set_devices(["cpu"])
        self.seed_box.valueChanged.connect(lambda v: self._request([(["seed"], int(v))]))
        self.device_combo.currentIndexChanged.connect(lambda _i: self._request([(["device"], self.device())]))
        return w

    # -- public API ------------------------------------------------------------------------------------

    def experiment(self) -> Experiment | None:
        return self._exp

    def set_experiment(self, exp: Experiment) -> None:
        """Show an experiment (rebuilding forms whose kind changed) without emitting; clears problems."""
        self._exp = exp
        space = model_space(exp.model.kind)
        for name, box in self.boxes.items():
            comp = getattr(exp, name)
            box.kind = comp.kind
            box.set_options(compatible(name, space))
            box.set_component(comp.kind, comp.settings)
        for name, form in self.forms.items():
            form.set_values(getattr(exp, name))
        self.seed_box.blockSignals(True)
        self.seed_box.setValue(min(exp.seed, self.seed_box.maximum()))
        self.seed_box.blockSignals(False)
        self._select_device(exp.device)
        self.clear_problems()

    def set_learned(self, params: dict[str, float]) -> None:
        """The running model's parameter values beside the starting ones (expression models)."""
        editor = self.boxes["model"].editor
        if editor is not None and self.boxes["model"].kind == "expression":
            editor.set_learned(params)

    def set_devices(self, devices: list[str]) -> None:
        """The devices this machine offers ('cpu' is always listed)."""
        current = self.device() or (self._exp.device if self._exp else "cpu")
        names = ["cpu"] + [d for d in devices if d != "cpu"]
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for d in names:
            self.device_combo.addItem(d, d)
        self.device_combo.blockSignals(False)
        self._select_device(current)

    def device(self) -> str:
        return self.device_combo.currentData() or ""

    def _select_device(self, device: str) -> None:
        self.device_combo.blockSignals(True)
        i = self.device_combo.findData(device)
        if i < 0:  # the preset asks for a device this machine lacks: show it, marked
            self.device_combo.addItem(f"{device} (not available)", device)
            i = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(i)
        self.device_combo.blockSignals(False)

    def show_problems(self, problems: list[str]) -> None:
        """Map 'section.field: reason' lines to their fields; the rest go to the panel's error label."""
        unmapped: list[str] = []
        for line in problems:
            path, sep, reason = line.partition(": ")
            parts = path.split(".")
            section = parts[0].split("[")[0]
            field = parts[1].split("[")[0] if len(parts) > 1 else ""
            rest = ".".join(parts[1:])
            msg = reason if rest == field else f"{rest}: {reason}"
            ok = False
            if sep and section in self.boxes and field:
                ok = self.boxes[section].mark_error(field, msg)
            elif sep and section in self.forms and field:
                ok = self.forms[section].mark_error(field, msg)
            elif sep and section in ("seed", "device"):
                self.run_error.setText(f"{section}: {reason}")
                self.run_error.show()
                ok, section = True, "run"
            if ok:
                self.sections[section].set_expanded(True)
            else:
                unmapped.append(line)
        self.error_label.setText("\n".join(unmapped))
        self.error_label.setVisible(bool(unmapped))
        for lay in self.findChildren(QLayout):  # re-measure rows even when shown before the panel is
            lay.invalidate()

    def clear_problems(self) -> None:
        self.error_label.hide()
        self.error_label.clear()
        self.run_error.hide()
        for box in self.boxes.values():
            box.clear_errors()
        for form in self.forms.values():
            form.clear_errors()

    def set_presenter(self, on: bool) -> None:
        """Larger fonts for a projector."""
        font = QFont(self._base_font)
        size = self._base_font.pointSizeF()
        if size > 0:
            font.setPointSizeF(size * (PRESENTER_SCALE if on else 1.0))
        self.setFont(font)

    # -- internals -------------------------------------------------------------------------------------

    def _request(self, overrides: list[Override]) -> None:
        self.changeRequested.emit(overrides)

    def _model_request(self, overrides: list[Override]) -> None:
        """A model switch re-filters the other components; incompatible ones are switched in the same request."""
        if overrides and overrides[0][0] == ["model", "kind"]:
            space = model_space(overrides[0][1])
            for name in ("data", "estimator", "sampler"):
                box = self.boxes[name]
                names = compatible(name, space)
                if box.kind not in names and names:
                    pick = next((p for p in PREFERRED.get(name, ()) if p in names), names[0])
                    box.kind = pick
                    box.set_component(pick, box.default_settings(pick))
                    overrides = overrides + [([name, box.key], pick)]
                box.set_options(names)
        self._request(overrides)
