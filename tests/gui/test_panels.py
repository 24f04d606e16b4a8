"""Settings panels: forms generated from the config dataclasses, the expression editor, the settings panel."""

from __future__ import annotations

import json
import pathlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from ebmlab.config.schema import experiment_from_dict, with_overrides
from ebmlab.core.errors import ConfigError
from ebmlab.core.estimators.nce import NCEParams
from ebmlab.core.estimators.pcd import PCDParams
from ebmlab.core.samplers.langevin import MALAParams
from ebmlab.gui.panels import ExpressionEditor, NotesPanel, ParamsForm, SettingsPanel
from ebmlab.gui.panels.expression_editor import caret_lines
from ebmlab.gui.panels.form import nice_step

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ring_experiment():
    return experiment_from_dict(json.loads((ROOT / "presets" / "01_partition_function.json").read_text()))


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def record(signal) -> list:
    got: list = []
    signal.connect(lambda *args: got.append(args if len(args) > 1 else args[0]))
    return got


# -- ParamsForm --------------------------------------------------------------------------------------


def test_form_widgets_follow_types_and_metadata(qtbot):
    form = ParamsForm(PCDParams)
    qtbot.addWidget(form)
    assert isinstance(form.editor("n_chains"), QSpinBox)
    assert (form.editor("k").minimum(), form.editor("k").maximum()) == (1, 10000)
    assert isinstance(form.editor("init"), QComboBox)  # Literal + choices
    assert isinstance(form.editor("reinit"), QLineEdit)
    assert form.values() == {"n_chains": 256, "k": 1, "init": "data", "reinit": 0.0}
    assert "number of persistent chains" in form.editor("n_chains").toolTip()
    nce = ParamsForm(NCEParams)
    qtbot.addWidget(nce)
    assert nce.editor("noise_mean").text() == "[]"  # list[float] as JSON


def test_form_emits_parsed_valid_value(qtbot):
    form = ParamsForm(MALAParams)
    qtbot.addWidget(form)
    form.show()
    got = record(form.edited)
    type_into(qtbot, form.editor("step_size"), "1e-3")
    assert got == [("step_size", 0.001)]
    assert form.values()["step_size"] == 0.001
    assert form.error_text("step_size") == ""


def test_form_rejects_out_of_range_value_with_message(qtbot):
    form = ParamsForm(MALAParams)
    qtbot.addWidget(form)
    form.show()
    got = record(form.edited)
    type_into(qtbot, form.editor("step_size"), "-1")
    assert got == []
    assert "must be > 0" in form.error_text("step_size")
    assert "-1" in form.error_text("step_size")
    assert form.has_error("step_size")
    type_into(qtbot, form.editor("step_size"), "abc")
    assert got == [] and "must be a number" in form.error_text("step_size")
    type_into(qtbot, form.editor("step_size"), "0.2")
    assert got == [("step_size", 0.2)]
    assert form.error_text("step_size") == "" and not form.has_error("step_size")


def test_form_choices_spin_bool_and_json(qtbot):
    form = ParamsForm(PCDParams)
    qtbot.addWidget(form)
    got = record(form.edited)
    combo = form.editor("init")
    combo.setCurrentIndex(combo.findData("uniform"))
    spin = form.editor("k")
    spin.setValue(7)
    assert got == [("init", "uniform"), ("k", 7)]
    nce = ParamsForm(NCEParams)
    qtbot.addWidget(nce)
    nce.show()
    got = record(nce.edited)
    type_into(qtbot, nce.editor("noise_mean"), "[0.5, -1]")
    assert got == [("noise_mean", [0.5, -1.0])]
    type_into(qtbot, nce.editor("noise_mean"), "[0.5,")
    assert len(got) == 1 and "not valid JSON" in nce.error_text("noise_mean")
    type_into(qtbot, nce.editor("noise_mean"), '["a"]')
    assert len(got) == 1 and "must be a number" in nce.error_text("noise_mean")


def test_form_optional_empty_means_none_and_set_values_is_silent(qtbot):
    from ebmlab.core.estimators.dsm import DSMParams
    from ebmlab.core.estimators.mle import MLEParams

    form = ParamsForm(MLEParams)
    qtbot.addWidget(form)
    form.show()
    got = record(form.edited)
    type_into(qtbot, form.editor("grid_points"), "64")
    type_into(qtbot, form.editor("grid_points"), "")
    assert got == [("grid_points", 64), ("grid_points", None)]
    form.set_values(MLEParams(grid_points=32))
    assert form.editor("grid_points").text() == "32" and len(got) == 2
    dsm = ParamsForm(DSMParams)
    qtbot.addWidget(dsm)
    got = record(dsm.edited)
    assert isinstance(dsm.editor("antithetic"), QCheckBox)
    dsm.set_values(DSMParams(antithetic=False))
    assert got == []
    dsm.editor("antithetic").setChecked(True)
    assert got == [("antithetic", True)]
    assert dsm.mark_error("sigma", "too small") and dsm.error_text("sigma") == "too small"
    dsm.clear_errors()
    assert dsm.error_text("sigma") == "" and not dsm.mark_error("nope", "x")


def test_log_fields_step_along_1_2_5(qtbot):
    assert (nice_step(0.05, True), nice_step(0.05, False), nice_step(1.0, True)) == (0.1, 0.02, 2.0)
    form = ParamsForm(MALAParams)
    qtbot.addWidget(form)
    form.show()
    got = record(form.edited)
    form.editor("step_size").setFocus()
    qtbot.keyClick(form.editor("step_size"), Qt.Key.Key_Up)
    assert got == [("step_size", 0.1)] and form.editor("step_size").text() == "0.1"


# -- ExpressionEditor --------------------------------------------------------------------------------


def test_expression_error_shows_reason_and_caret_then_fix_emits(qtbot):
    ed = ExpressionEditor()
    qtbot.addWidget(ed)
    ed.show()
    ed.set_model("x**2", {}, None)
    got = record(ed.changed)
    type_into(qtbot, ed.line_edit, "x**2 + yy")
    assert got == []
    assert "unknown name 'yy'" in ed.message_label.text()
    assert ed.echo_label.text() == "x**2 + yy"
    assert ed.caret_label.text().index("^") == 7
    assert ed.caret_label.font().family() == ed.line_edit.font().family()
    type_into(qtbot, ed.line_edit, "x**2 + y")
    assert got == [("x**2 + y", {}, None)]
    assert ed.error_area.isHidden()


def test_expression_parameter_table_and_trainable(qtbot):
    ed = ExpressionEditor()
    qtbot.addWidget(ed)
    ed.show()
    ed.set_model("a*(x**2 + y**2 - r**2)**2", {"a": 0.5, "r": 1.0}, None)
    got = record(ed.changed)
    ed.table.item(1, 2).setCheckState(Qt.CheckState.Unchecked)  # r fixed
    assert got[-1] == ("a*(x**2 + y**2 - r**2)**2", {"a": 0.5, "r": 1.0}, ["a"])
    ed.table.item(0, 1).setText("oops")
    assert len(got) == 1 and "value must be a number" in ed.message_label.text()
    ed.table.item(0, 1).setText("2")
    assert got[-1][1] == {"a": 2.0, "r": 1.0}
    ed.table.selectRow(0)
    ed.remove_button.click()  # 'a' is still used: error, nothing emitted
    assert len(got) == 2 and "unknown name 'a'" in ed.message_label.text()
    ed.add_button.click()
    ed.table.item(1, 0).setText("a")
    assert got[-1][1] == {"r": 1.0, "a": 1.0}


def test_caret_window_for_long_expressions():
    text = "x" + " + x" * 30 + " + qq"
    echo, caret = caret_lines(text, len(text) - 1)
    assert echo.startswith("…") and echo[caret.index("^")] == "q"


# -- SettingsPanel -----------------------------------------------------------------------------------


@pytest.fixture
def panel(qtbot):
    w = SettingsPanel()
    qtbot.addWidget(w)
    w.set_devices(["cpu", "cuda"])
    w.set_experiment(ring_experiment())
    w.show()
    return w


def test_panel_switching_estimator_emits_name(panel):
    got = record(panel.changeRequested)
    combo = panel.boxes["estimator"].combo
    assert set(panel.boxes["estimator"].options()) >= {"mle", "sm", "dsm", "nce", "cd", "pcd"}
    combo.setCurrentIndex(combo.findData("dsm"))
    assert got == [[(["estimator", "name"], "dsm")]]
    assert panel.boxes["estimator"].form().field_names() == ["sigma", "antithetic"]


def test_panel_editing_sampler_step_size_emits_path(panel, qtbot):
    got = record(panel.changeRequested)
    type_into(qtbot, panel.boxes["sampler"].form().editor("step_size"), "0.2")
    assert got == [[(["sampler", "step_size"], 0.2)]]
    exp = with_overrides(ring_experiment(), got[0])
    assert exp.sampler.settings.step_size == 0.2


def test_panel_plain_sections_run_and_expression(panel, qtbot):
    got = record(panel.changeRequested)
    panel.forms["chains"].editor("n").setValue(100)
    panel.seed_box.setValue(3)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cuda"))
    ed = panel.boxes["model"].editor
    type_into(qtbot, ed.line_edit, "a*(x**2 + y**2 - r**2)**2 + 0.1*x")
    assert got[:3] == [[(["chains", "n"], 100)], [(["seed"], 3)], [(["device"], "cuda")]]
    assert got[3][0] == (["model", "expression"], "a*(x**2 + y**2 - r**2)**2 + 0.1*x")
    base = ring_experiment()
    assert with_overrides(base, got[3]).model.settings.params == base.model.settings.params


def test_panel_show_problems_marks_fields(panel):
    panel.boxes["estimator"].set_component("cd", None)
    panel.show_problems(["estimator.k: must be >= 1, got 0", "sampler.step_size: must be > 0.0, got 0", "huh"])
    assert panel.boxes["estimator"].form().error_text("k") == "must be >= 1, got 0"
    assert panel.boxes["sampler"].form().error_text("step_size").startswith("must be > 0")
    assert panel.error_label.text() == "huh" and not panel.error_label.isHidden()
    panel.clear_problems()
    assert panel.boxes["estimator"].form().error_text("k") == "" and panel.error_label.isHidden()


def test_panel_binary_model_filters_estimators_and_samplers(panel):
    got = record(panel.changeRequested)
    combo = panel.boxes["model"].combo
    combo.setCurrentIndex(combo.findData("boltzmann"))
    opts = panel.boxes["estimator"].options()
    assert not {"sm", "dsm", "nce"} & set(opts) and "cd" in opts
    assert panel.boxes["sampler"].options() == ["gibbs"]
    (overrides,) = got
    assert overrides[0] == (["model", "kind"], "boltzmann")
    assert (["data", "kind"], "bars_and_stripes") in overrides and (["sampler", "name"], "gibbs") in overrides
    exp = with_overrides(ring_experiment(), overrides)  # one consistent request
    assert exp.model.kind == "boltzmann" and exp.sampler.kind == "gibbs"
    binary = with_overrides(ring_experiment(), overrides + [(["estimator", "name"], "pcd")])
    panel.set_experiment(binary)
    assert not {"sm", "dsm", "nce"} & set(panel.boxes["estimator"].options())


def test_panel_set_experiment_is_silent_and_toy_names_are_a_combo(panel):
    got = record(panel.changeRequested)
    panel.set_experiment(ring_experiment())
    assert got == []
    welcome = experiment_from_dict(json.loads((ROOT / "presets" / "00_welcome.json").read_text()))
    panel.set_experiment(welcome)
    assert got == []
    name = panel.boxes["data"].form().editor("name")
    assert isinstance(name, QComboBox) and name.currentData() == "two_moons" and name.findData("rings") >= 0


def test_panel_real_config_error_round_trip(panel):
    try:
        with_overrides(ring_experiment(), [(["optimiser", "lr"], -1.0)])
    except ConfigError as e:
        panel.show_problems(e.problems)
    assert "must be > 0" in panel.forms["optimiser"].error_text("lr")
    assert panel.sections["optimiser"].is_expanded()


def test_presenter_mode_enlarges_fonts(panel, qtbot):
    before = panel.boxes["sampler"].form().editor("step_size").font().pointSizeF()
    panel.set_presenter(True)
    assert panel.boxes["sampler"].form().editor("step_size").font().pointSizeF() > before
    mono = panel.boxes["model"].editor.line_edit.font().pointSizeF()
    assert mono > before * 1.2
    panel.set_presenter(False)
    assert panel.boxes["sampler"].form().editor("step_size").font().pointSizeF() == before
    notes = NotesPanel()
    qtbot.addWidget(notes)
    notes.set_experiment(ring_experiment())
    assert notes.title_label.text() == "The partition function problem"
    assert notes.title_label.font().bold() and notes.title_label.font().pointSizeF() > before
    notes.set_presenter(True)
    assert notes.notes_browser.font().pointSizeF() > before


def test_screenshot(panel, qtbot):
    panel.resize(420, 1000)
    qtbot.wait(10)
    assert panel.grab().save("/tmp/panels.png")
