"""What the lessons' notes name is on screen: w = sigmoid(t) beside t (02), the chains' mean energy against
the exact one with its error band (07), the classifier's decision boundary (10)."""

import numpy as np
import pytest

from ebmlab.config.bundled import BUNDLED_DIR
from ebmlab.config.presets import load_preset
from ebmlab.core.trainer import Trainer
from ebmlab.gui.views.landscape import LandscapeView
from ebmlab.gui.views.plots import MetricsPlots


def trained(name: str, steps: int) -> Trainer:
    t = Trainer(load_preset(BUNDLED_DIR / f"{name}.json").experiment)
    for _ in range(steps):
        assert t.step()
    return t


@pytest.fixture
def plots(qtbot):
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.resize(900, 420)
    m.show()
    return m


def test_lesson_02_shows_t_and_w_and_the_formula(plots):
    t = trained("02_cd_vs_pcd", 50)
    snap = t.snapshot()
    plots.set_plots(snap.experiment.view.plots)
    plots.set_snapshot(snap)
    assert plots.visible_plots()[0] == "params"
    assert set(plots.plots["params"].curves) == {"param:t", "param:w"}
    w = snap.derived["w"]
    assert f"w = sigmoid(t) = {w:.4g}" in plots.params.text()
    legend = [e[2] for e in plots.plots["params"].legend.entries()]
    assert f"w {w:.3g}" in legend and any(label.startswith("t ") for label in legend)


def test_lesson_07_band_and_range_follow_the_chains_not_their_burn_in(plots):
    t = trained("07_samplers", 300)
    snap = t.snapshot()
    plots.set_plots(snap.experiment.view.plots)
    plots.set_snapshot(snap)
    mp = plots.plots["chain_energy"]
    steps, values, se = snap.history["chain_energy"]
    assert values[0] > 5 and values[-1] < 2  # chains start uniform on the box, far hotter than the banana
    lower, upper, _ = mp.bands["chain_energy"]
    np.testing.assert_allclose(upper.yData - lower.yData, 4 * se)  # ±2 SE
    lo, hi = mp.y_range
    exact = snap.history["chain_energy_exact"][1][-1]
    assert lo < exact < hi and hi < 3.0, mp.y_range  # the burn-in does not flatten the claim
    legend = [e[2] for e in mp.legend.entries()]
    assert legend == [f"chains ±2 SE {values[-1]:.3g}", f"exact {exact:.3g}"]


def test_lesson_10_draws_the_decision_boundary_with_a_legend(qtbot):
    t = trained("10_classifier_is_an_ebm", 100)
    view = LandscapeView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    snap = t.snapshot()
    view.set_snapshot(snap)
    view.set_landscape(t.landscape(grid=64))
    assert len(view.class_item.xData) > 10
    assert any("decision boundary" in e[2] for e in view.legend_entries())


def test_view_plots_menu_chooses_plots_live_and_the_choice_is_saved(qtbot, tmp_path):
    from ebmlab.config.presets import load_preset as load
    from ebmlab.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=20_000)
    menu = w.plots_menu
    menu.sync()
    assert menu.entries["loss"].isChecked() and not menu.entries["rhat"].isChecked()
    menu.entries["rhat"].trigger()  # tick R-hat: appended, shown at once, no reset
    assert w.plots.visible_plots()[-1] == "rhat" and w.experiment.view.plots[-1] == "rhat"
    menu.entries["loss"].trigger()  # untick the loss
    assert "loss" not in w.plots.visible_plots()
    qtbot.wait(300)
    assert w._shown_snapshot.step == 0 and w.banner.isHidden()
    path = tmp_path / "mine.json"
    w.save_to(path)
    qtbot.waitUntil(path.exists, timeout=20_000)
    assert load(path).experiment.view.plots == list(w.plots.visible_plots())
    menu.automatic.trigger()
    assert w.experiment.view.plots is None and "loss" in w.plots.visible_plots()
    w.close()
