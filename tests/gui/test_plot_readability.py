"""Plots that show the claim: padded ranges for constant series, no absurd ticks, legends off the data, the
notes' numbers on screen (n/a for binary chains, R-hat capped), and a grid that fits its area."""

import math

import numpy as np
import pytest

from ebmlab.gui.views.axis_fit import EMPTY_RANGE, data_range, grid_shape, padded_range
from ebmlab.gui.views.plots import NA_BINARY, MetricsPlots, fmt_value


def significant_digits(text: str) -> int:
    digits = text.replace("−", "-").lstrip("-").replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) if "." in text else len(digits.rstrip("0") or "0")


def tick_labels(plot_item, axis: str = "left") -> list[str]:
    ax = plot_item.getAxis(axis)
    lo, hi = ax.range
    size = ax.height() if axis in ("left", "right") else ax.width()
    out = []
    for spacing, values in ax.tickValues(lo, hi, max(size, 100)):
        out += ax.tickStrings(values, ax.autoSIPrefixScale * ax.scale, spacing)
    return out


def test_padded_range_rules():
    assert padded_range(None) == EMPTY_RANGE
    lo, hi = padded_range((2.4718, 2.4718))
    assert lo < 2.4718 < hi and hi - lo >= 0.04 * 2.4718  # a few per cent, not 1e-15
    lo, hi = padded_range((0.0, 0.0))
    assert hi - lo >= 0.02
    lo, hi = padded_range((0.2, 0.9), floor=0.0)
    assert lo >= 0.0 and hi > 0.9
    assert data_range(np.array([np.nan, 1.0, np.inf, 3.0])) == (1.0, 3.0)
    assert data_range(np.array([np.nan])) is None


def test_grid_shape_fits_the_area():
    assert grid_shape(6, 900, 300) == (2, 3)
    assert grid_shape(6, 450, 600) == (3, 2)
    assert grid_shape(4, 1200, 200) == (1, 4)
    assert grid_shape(6, 1200, 300, max_cols=2) == (3, 2)
    assert grid_shape(0, 100, 100) == (0, 0)
    rows, cols = grid_shape(5, 800, 400)
    assert rows * cols >= 5 and (rows - 1) * cols < 5  # no empty row


def test_step_ticks_are_compact():
    from ebmlab.gui.views.plots import step_label

    assert [step_label(v) for v in (0, 800, 2000, 2500, 1_200_000)] == ["0", "800", "2k", "2.5k", "1.2M"]


def test_titles_carry_readable_values():
    assert fmt_value(7e14, clip=100.0) == "> 100"
    assert fmt_value(1.0234) == "1.023"
    assert fmt_value(math.nan) == "—"


def steps_history(n=40, value=2.4718):
    steps = np.arange(0, n * 25, 25, dtype=float)
    return {
        "log_z_exact": (steps, np.full(n, value)),
        "loss": (steps, np.linspace(1, 0.5, n)),
        "nll_exact": (steps, np.full(n, 1.3)),
    }


def test_constant_series_gets_sensible_ticks_and_empty_plots_no_tiny_ones(qtbot):
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.resize(900, 420)
    m.show()
    qtbot.wait(50)
    for key in m.visible_plots():  # nothing yet: every plot has a unit range and plain ticks
        labels = tick_labels(m.plots[key].item)
        assert labels and all(significant_digits(t) <= 3 for t in labels), (key, labels)
        assert not any("e-" in t for t in labels), (key, labels)
    m.update_history(steps_history())
    qtbot.wait(50)
    for key in ("logz", "nll"):
        lo, hi = m.plots[key].item.viewRange()[1]
        assert hi - lo >= 0.04 * 1.3, (key, lo, hi)
        labels = tick_labels(m.plots[key].item)
        assert labels and all(significant_digits(t) <= 6 for t in labels), (key, labels)
    assert "2.472" in m.plots["logz"].latest  # the exact value is in the title


def test_ranges_reset_on_clear(qtbot):
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.show()
    m.update_history(steps_history(value=250.0))
    assert m.plots["logz"].item.viewRange()[1][0] > 200
    m.clear()
    assert m.plots["logz"].item.viewRange()[1] == pytest.approx(list(EMPTY_RANGE))
    assert m.plots["logz"].item.viewRange()[0] == pytest.approx(list(EMPTY_RANGE))


def test_binary_models_say_na_and_rhat_is_capped(qtbot):
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.show()
    m.set_binary(True)
    m.update_history(steps_history())
    for key in ("ess", "rhat"):
        note = m.plots[key].note
        assert note.isVisible() and note.toPlainText() == NA_BINARY
    m.set_binary(False)
    steps = np.arange(5, dtype=float) * 50
    m.update_history({"rhat": (steps, np.array([7e14, 40.0, 3.0, 1.2, 1.05]))})
    mp = m.plots["rhat"]
    assert not mp.note.isVisible()
    assert mp.item.viewRange()[1][1] < 200  # the absurd value does not flatten the rest
    assert float(np.max(mp.curves["rhat"].yData)) <= 100.0
    m.update_history({"rhat": (steps[:1], np.array([7e14]))})
    assert mp.latest == "> 100"


def test_chosen_plots_and_automatic_extras(qtbot):
    m = MetricsPlots()
    qtbot.addWidget(m)
    m.show()
    assert m.visible_plots() == ("loss", "nll", "logz", "accept", "ess", "rhat")
    m.update_history({**steps_history(), "param:t": (np.arange(3.0), np.zeros(3))})
    assert "params" in m.visible_plots()
    m.set_plots(["nll", "params"])
    assert m.visible_plots() == ("nll", "params")
    labels = [lab for _, _, lab in m.plots["params"].legend.entries()]
    assert labels == ["t"]


def test_log_z_legend_never_covers_data_in_the_window(qtbot):
    """Issue 16: in lessons 01, 03-06, 08 and 09 the log Z legend covered most of the curve."""
    from ebmlab.config.presets import bundled_presets
    from ebmlab.gui.main_window import MainWindow

    path = next(p for p, _, _ in bundled_presets() if p.stem.startswith("08_"))
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=30_000)
    w.transport.play.click()
    qtbot.waitUntil(lambda: len(w._shown_snapshot.history.get("logz_estimate", ((),))[0]) >= 3, timeout=60_000)
    w.transport.play.click()
    qtbot.waitUntil(lambda: w._shown_snapshot.status == "paused", timeout=30_000)
    qtbot.wait(300)
    mp = w.plots.plots["logz"]
    assert mp.legend.isVisible() and {lab for _, _, lab in mp.legend.entries()} >= {"exact", "estimate ±2 SE"}
    legend = mp.legend.sceneBoundingRect()
    view = mp.item.vb.sceneBoundingRect()
    items = [*mp.curves.values(), mp.points, mp.bars]
    assert len(mp.points.data) >= 3 and len(mp.curves["log_z_exact"].xData) >= 1
    for item in items:
        shown = item.sceneBoundingRect().intersected(view)  # the part of the item the view draws
        assert not shown.intersects(legend), (item, shown, legend)
    w.close()


def test_long_titles_shrink_to_fit_a_narrow_plot(qtbot, monkeypatch):
    from PySide6.QtGui import QFontMetrics

    from ebmlab.gui.views import theme
    from ebmlab.gui.views.plots import MIN_TITLE_PT, TITLE_PT

    m = MetricsPlots()
    qtbot.addWidget(m)
    m.show()
    m.update_history(steps_history())
    mp = m.plots["nll"]
    text = m._title(mp)  # 'Exact NLL, held-out · 1.3'
    natural = QFontMetrics(theme.font(TITLE_PT)).horizontalAdvance(text)
    monkeypatch.setattr(mp.item.vb, "width", lambda: natural * 0.8)  # a plot narrower than its title
    pt = m._title_pt(mp)
    assert MIN_TITLE_PT <= pt < TITLE_PT
    assert QFontMetrics(theme.font(pt)).horizontalAdvance(text) <= natural * 0.8 - 12 or pt == MIN_TITLE_PT
    monkeypatch.setattr(mp.item.vb, "width", lambda: natural + 40)  # room enough: the normal size
    assert m._title_pt(mp) == TITLE_PT
