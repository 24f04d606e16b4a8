"""File > Sweep results…: a sweep folder's summary and plots in the window; a wrong folder is a message, not a crash."""

import pytest
from PySide6.QtWidgets import QLabel

from ebmlab.gui.main_window import MainWindow
from ebmlab.gui.sweep_dialog import ScaledPicture, open_sweep_results
from ebmlab.sweep.plots import write_plots
from ebmlab.sweep.store import SweepStore, write_json
from ebmlab.sweep.summary import summarise

TIMEOUT = 20_000


def fake_sweep(folder):
    """A small sweep folder written by the real store, summary and plot code (no cluster needed)."""
    records = []
    for k, base in ((1, 1.5), (10, 1.3)):
        for seed in range(3):
            hist = [{"step": s, "nll_exact": base + 1.0 / (s + 1) + 0.01 * seed, "loss": 0.5} for s in range(0, 50, 10)]
            records.append(
                {
                    "run_id": f"r{k}-{seed}",
                    "setting": {"estimator.k": k},
                    "seed": seed,
                    "status": "ok",
                    "nll_exact": hist[-1]["nll_exact"],
                    "log_z_exact": 0.7,
                    "loss": 0.5,
                    "steps_per_s": 500.0 + seed,
                    "history": hist,
                }
            )
    records.append(
        {"run_id": "bad", "setting": {"estimator.k": 10}, "seed": 3, "status": "failed", "reason": "diverged"}
    )
    store = SweepStore(folder)
    store.prepare({"preset": "/x/02_cd_vs_pcd.json", "grid": {"estimator.k": [1, 10]}, "seeds": [0, 1, 2, 3]})
    store.write_tables(records, ["estimator.k"])
    summary = {"runs": 7, "finished": 7, "ok": 6, "failed": 1, "settings": summarise(records, ["estimator.k"])}
    write_json(folder / "summary.json", summary)
    write_plots(records, ["estimator.k"], folder / "plots")
    return folder


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None, timeout=TIMEOUT)
    yield w
    w.close()


def test_the_dialog_shows_the_summary_table_and_every_plot(win, qtbot, tmp_path):
    d = open_sweep_results(win, str(fake_sweep(tmp_path / "sw")))
    qtbot.addWidget(d)
    assert d.table.rowCount() == 2
    assert d.table.item(0, 0).text() == "estimator.k=1"
    assert d.table.item(0, 1).text() == "3 / 3" and d.table.item(1, 1).text() == "3 / 4"
    assert d.table.item(0, 2).text().startswith("1.5") and " ± " in d.table.item(0, 2).text()
    assert d.table.item(0, 3).text() == "0.7 ± 0"  # the same for every seed: no rounding noise shown
    assert "seed 3: diverged" in d.table.item(1, 1).toolTip()
    titles = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    assert titles[:2] == ["Exact NLL vs step", "Final exact NLL"]
    pictures = [d.tabs.widget(i) for i in range(d.tabs.count())]
    assert all(isinstance(p, ScaledPicture) and not p.original.isNull() for p in pictures)
    qtbot.waitUntil(lambda: pictures[0].pixmap() is not None and not pictures[0].pixmap().isNull(), timeout=TIMEOUT)
    assert "1 failed" in d.findChildren(QLabel)[0].text()
    d.close()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "no summary.json here"),
        (lambda p: (p / "summary.json").write_text("{not json") and p, "not valid JSON"),
        (lambda p: (p / "summary.json").write_text('{"settings": 3}') and p, "not a sweep summary"),
    ],
)
def test_a_folder_that_is_not_a_sweep_is_a_clear_message(win, tmp_path, make, message):
    folder = make(tmp_path)
    assert open_sweep_results(win, str(folder)) is None
    assert win.banner.isVisible() and message in win.banner.text()
    assert win.experiment is not None  # nothing lost


def test_the_file_menu_offers_it(win):
    texts = [a.text() for a in win.menuBar().actions()[0].menu().actions()]
    assert "Sweep &results…" in texts
