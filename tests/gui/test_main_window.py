"""The laboratory window, driven like a user would (offscreen)."""

import sys

import pytest

from ebmlab.config.presets import bundled_presets
from ebmlab.gui.main_window import MainWindow

TIMEOUT = 20_000


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    yield w
    w.close()


def shown(w):
    return w._shown_snapshot


def test_opens_with_default_preset_and_play_trains(win, qtbot):
    assert shown(win).step == 0
    assert win.experiment.name.startswith("Welcome")
    qtbot.waitUntil(lambda: win._shown_landscape is not None, timeout=TIMEOUT)
    win.transport.play.click()
    qtbot.waitUntil(lambda: shown(win).step >= 120, timeout=TIMEOUT)
    win.transport.play.click()
    qtbot.waitUntil(lambda: shown(win).status == "paused", timeout=TIMEOUT)
    assert len(shown(win).history["loss"][0]) > 50
    assert "nll_exact" in shown(win).history
    assert "steps/s" in win.status_label.text() and "frames/s" in win.status_label.text()


def test_step_is_exactly_one_and_reset_returns_to_zero(win, qtbot):
    win.transport.step.click()
    qtbot.waitUntil(lambda: shown(win).step == 1, timeout=TIMEOUT)
    qtbot.wait(300)
    assert shown(win).step == 1
    win.transport.step.click()
    qtbot.waitUntil(lambda: shown(win).step == 2, timeout=TIMEOUT)
    old_run = win.run_id
    win.transport.reset.click()
    qtbot.waitUntil(lambda: win.run_id != old_run and shown(win).run_id == win.run_id, timeout=TIMEOUT)
    assert shown(win).step == 0


def test_switch_estimator_mid_run(win, qtbot):
    win.transport.play.click()
    qtbot.waitUntil(lambda: shown(win).step >= 20, timeout=TIMEOUT)
    win.request_change([(["estimator", "name"], "dsm")])
    qtbot.waitUntil(lambda: shown(win).estimator == "dsm", timeout=TIMEOUT)
    step = shown(win).step
    qtbot.waitUntil(lambda: shown(win).step >= step + 20, timeout=TIMEOUT)
    assert shown(win).noisy is not None
    win.transport.play.click()


def test_invalid_setting_is_marked_and_not_applied(win, qtbot):
    win.request_change([(["sampler", "step_size"], -1.0)])
    assert win.settings_panel.boxes["sampler"].form().has_error("step_size")
    assert win.experiment.sampler.settings.step_size == 0.02


def test_expression_error_keeps_the_old_energy(qtbot):
    path = next(p for p, _, _ in bundled_presets() if p.stem.startswith("01_"))
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    editor = w.settings_panel.boxes["model"].editor
    old = w.experiment.model.settings.expression
    editor.line_edit.setText("a*(x**2 + yy - r**2)**2")
    editor.line_edit.editingFinished.emit()
    assert "unknown name 'yy'" in editor.message_label.text()
    qtbot.wait(200)
    assert w.experiment.model.settings.expression == old
    assert shown(w).experiment.model.settings.expression == old
    w.close()


def test_refused_change_in_worker_shows_message_and_keeps_run(win, qtbot):
    # A change that validates but cannot be built (a binary sampler on a continuous model).
    win.request_change([(["sampler", "name"], "gibbs")])
    qtbot.waitUntil(lambda: win.banner.isVisible(), timeout=TIMEOUT)
    assert "gibbs" in win.banner.text()
    qtbot.waitUntil(lambda: win.experiment.sampler.kind == "mala", timeout=TIMEOUT)
    win.transport.step.click()
    qtbot.waitUntil(lambda: shown(win).step == 1, timeout=TIMEOUT)


def test_close_during_training_leaves_no_thread(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None, timeout=TIMEOUT)
    w.transport.play.click()
    qtbot.waitUntil(lambda: w._shown_snapshot.step > 5, timeout=TIMEOUT)
    w.close()
    assert not w.worker_thread.thread.isRunning()


def test_bad_preset_file_keeps_current_experiment(win, qtbot, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "model": {"kind": "nope"}}')
    before = win.experiment
    assert not win.open_preset(bad)
    assert "bad.json" in win.banner.text()
    qtbot.wait(200)
    assert win.experiment is before


@pytest.mark.parametrize("path", [p for p, _, _ in bundled_presets()], ids=lambda p: p.stem)
def test_every_bundled_preset_runs_50_steps_in_the_window(qtbot, path):
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.run_id >= 1, timeout=TIMEOUT)
    w.transport.play.click()
    qtbot.waitUntil(lambda: w._shown_snapshot.step >= 50 or w._shown_snapshot.status == "error", timeout=60_000)
    snap = w._shown_snapshot
    assert snap.status != "error", snap.message
    assert not w.banner.isVisible(), w.banner.text()
    w.close()


def test_refcount_of_none_does_not_fall_while_window_runs(win, qtbot):
    before = sys.getrefcount(None)
    win.transport.play.click()
    qtbot.wait(1500)
    win.transport.play.click()
    assert sys.getrefcount(None) >= before - 100
