"""The AIS tab, driven like a user would (offscreen): run to the end, pause / step, stop mid-run."""

import json
from pathlib import Path

import numpy as np
import pytest

from ebmlab.gui.main_window import MainWindow
from ebmlab.gui.views.ais_plots import exact_path, log_f_beta, weight_classes
from ebmlab.gui.views.ais_view import AISPanel

TIMEOUT = 20_000
PRESET = Path(__file__).resolve().parents[2] / "presets" / "01_partition_function.json"


@pytest.fixture
def win(qtbot):
    w = MainWindow(PRESET)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    w.tabs.setCurrentWidget(w.ais_tab)
    yield w
    w.close()


def test_panel_is_the_ais_tab_with_watching_defaults(win):
    panel = win.ais_tab
    assert isinstance(panel, AISPanel)
    assert panel.settings == {"particles": 1000, "temps": 300, "record_every": 0}
    assert set(panel.forms) == {"particles", "temps", "schedule", "kernel", "steps_per_temp", "step_size"}
    assert not panel.finished and panel.status == "idle"
    assert "Press Run" in panel.result_text


def test_form_edits_are_kept_and_sent(win):
    panel = win.ais_tab
    panel.forms["temps"].editor("temps").setValue(120)
    panel.forms["schedule"].editor("schedule").setCurrentText("linear")
    assert panel.settings["temps"] == 120 and panel.settings["schedule"] == "linear"


def test_run_to_the_end_shows_estimate_exact_and_reverse(win, qtbot):
    panel = win.ais_tab
    panel.set_settings(particles=300, temps=100)
    panel.speed_combo.setCurrentIndex(panel.speed_combo.count() - 1)  # max
    panel.start()
    qtbot.waitUntil(lambda: panel.finished, timeout=60_000)
    qtbot.waitUntil(lambda: panel._shown is panel.latest, timeout=TIMEOUT)
    upd = win.worker.latest_ais()
    assert upd.status == "done" and upd.token == panel._token
    est = upd.frame.result.estimate
    assert est.n == 300 and upd.frame.n_temps == 100
    exact = est.exact_log_z
    assert exact is not None
    assert abs(est.log_z - exact) < 4 * est.stderr
    text = panel.result_text
    assert "AIS log Z" in text and "exact" in text and f"{est.log_z:.4f}" in text
    assert upd.reverse is not None and "reverse AIS" in text and f"{upd.reverse.log_z:.4f}" in text
    assert panel.warnings_label.text()  # the warnings, or "no warnings: ESS ..."
    assert panel.path.has_data() and len(panel.path.estimate.xData) == len(upd.history[0])
    assert panel.path.exact.xData is not None and len(panel.path.exact.xData) > 10
    assert panel.weights.has_data()
    assert len(panel.density.scatter.data) == len(upd.frame.particles)
    assert panel.result_plot.points.data["x"].tolist() == [0.0, 1.0]  # AIS and reverse AIS
    assert panel.result_plot.exact.isVisible() and panel.result_plot.exact.value() == pytest.approx(exact)
    assert not panel.stop_button.isEnabled() and panel.run_button.isEnabled()
    win.resize(1500, 950)
    qtbot.wait(100)
    assert panel.grab().save("/tmp/ais_panel.png")


def test_pause_then_step_advances_exactly_one_record(win, qtbot):
    panel = win.ais_tab
    panel.set_settings(particles=200, temps=300)  # 3 temperatures per frame
    panel.speed_combo.setCurrentIndex(0)  # 5 frames/s: pause well before the end
    panel.start()
    qtbot.waitUntil(lambda: panel.latest is not None, timeout=TIMEOUT)
    panel.play_button.click()
    assert panel.play_button.text() == "Play"
    qtbot.waitUntil(lambda: win.worker.latest_ais().status == "paused", timeout=TIMEOUT)
    qtbot.wait(400)
    upd = win.worker.latest_ais()
    index = upd.frame.index
    assert index < upd.frame.n_temps and upd.status == "paused"
    panel.step_button.click()
    qtbot.waitUntil(lambda: win.worker.latest_ais().frame.index != index, timeout=TIMEOUT)
    qtbot.wait(400)
    after = win.worker.latest_ais()
    assert after.frame.index == index + 3
    assert after.status == "paused"
    qtbot.waitUntil(lambda: panel.latest is after, timeout=TIMEOUT)
    assert panel.latest.frame.index == index + 3
    panel.speed_combo.setCurrentIndex(panel.speed_combo.count() - 1)
    panel.play_button.click()  # play to the end
    qtbot.waitUntil(lambda: panel.finished and panel.status == "done", timeout=60_000)


def test_stop_mid_run_leaves_the_window_usable(win, qtbot):
    panel = win.ais_tab
    panel.set_settings(particles=200, temps=300)
    panel.speed_combo.setCurrentIndex(0)
    panel.start()
    qtbot.waitUntil(lambda: panel.latest is not None, timeout=TIMEOUT)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.finished, timeout=TIMEOUT)
    assert panel.status == "stopped" and "stopped" in panel.result_text
    step = win._shown_snapshot.step
    win.transport.step.click()
    qtbot.waitUntil(lambda: win._shown_snapshot.step == step + 1, timeout=TIMEOUT)
    panel.set_settings(particles=200, temps=50)  # a new run after a stop works and ignores the old one
    panel.speed_combo.setCurrentIndex(panel.speed_combo.count() - 1)
    panel.start()
    assert not panel.finished
    qtbot.waitUntil(lambda: panel.finished, timeout=60_000)
    assert panel.status == "done" and panel.latest.frame.n_temps == 50


def test_refused_settings_end_the_run_with_the_reason(win, qtbot):
    panel = win.ais_tab
    panel.set_settings(kernel="hmc", step_size=0.1, particles=100, temps=20, n_leapfrog=0)  # n_leapfrog >= 1
    panel.start()
    qtbot.waitUntil(lambda: panel.finished, timeout=TIMEOUT)
    assert panel.status == "error" and "n_leapfrog" in panel.warnings_label.text()


def test_presenter_mode_restyles(win, qtbot):
    panel = win.ais_tab
    size = panel.result_label.font().pointSizeF()
    panel.set_presenter(True)
    try:
        assert panel.result_label.font().pointSizeF() > size
    finally:
        panel.set_presenter(False)


def test_numpy_helpers():
    class Bg:  # a 1-D standard normal target with a uniform-ish base on [-6, 6]
        axes = (np.linspace(-6, 6, 2001),)
        energy = 0.5 * axes[0] ** 2
        log_q = np.full_like(axes[0], -np.log(12.0))

    lz = exact_path(Bg, np.array([0.0, 1.0]))
    assert lz[0] == 0.0 and lz[1] == pytest.approx(0.5 * np.log(2 * np.pi), abs=1e-6)
    assert np.allclose(log_f_beta(Bg, 0.0), Bg.log_q) and np.allclose(log_f_beta(Bg, 1.0), -Bg.energy)
    cls = weight_classes(np.array([0.0, -1.0, -50.0, -np.inf, np.nan]))
    assert cls[0] == cls.max() and cls[0] > cls[1] > cls[2] == cls[3] == cls[4] == 0


ONE_D = {
    "schema_version": 1,
    "name": "double well",
    "model": {"kind": "expression", "expression": "(x**2-1)**2"},
    "data": {"kind": "energy", "expression": "(x**2-1)**2"},
    "estimator": {"name": "mle"},
    "sampler": {"name": "mala"},
}
BINARY = {
    "schema_version": 1,
    "name": "binary",
    "model": {"kind": "boltzmann", "units": 9},
    "data": {"kind": "bars_and_stripes", "size": 3},
    "estimator": {"name": "pl"},
    "sampler": {"name": "gibbs"},
}


@pytest.mark.parametrize("preset", [ONE_D, BINARY], ids=["1d-curve", "binary"])
def test_other_spaces_run_to_the_end(preset, qtbot, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(preset))
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
        w.tabs.setCurrentWidget(w.ais_tab)
        panel = w.ais_tab
        panel.set_settings(particles=300, temps=60)
        panel.speed_combo.setCurrentIndex(panel.speed_combo.count() - 1)
        panel.start()
        qtbot.waitUntil(lambda: panel.finished, timeout=60_000)
        qtbot.waitUntil(lambda: panel._shown is panel.latest, timeout=TIMEOUT)
        assert panel.status == "done", panel.warnings_label.text()
        upd = w.worker.latest_ais()
        est = upd.frame.result.estimate
        assert est.exact_log_z is not None and abs(est.log_z - est.exact_log_z) <= 4 * est.stderr + 1e-9
        assert "AIS log Z" in panel.result_text and "exact" in panel.result_text
        assert panel.path.has_data() and panel.weights.has_data()
        if preset is BINARY:
            assert panel.settings["kernel"] == "gibbs" and upd.background.kind == "none"
            assert panel.density.note.isVisible()
        else:
            assert upd.background.kind == "curve"
            assert len(panel.density.curve.getData()[0]) > 100 and len(panel.density.hist.getData()[1]) > 0
    finally:
        w.close()
