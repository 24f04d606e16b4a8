"""File ▸ Export: PNG, SVG, GIF/MP4 recordings and metrics CSV, with explicit paths (no dialogs)."""

import csv
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ebmlab.gui import export as export_mod
from ebmlab.gui.export import metrics_csv, metrics_table
from ebmlab.gui.main_window import MainWindow
from ebmlab.gui.recorder import GIF_MAX_SIDE, ffmpeg_available

TIMEOUT = 20_000


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.exporter.show_popups = False
    qtbot.waitUntil(lambda: w._shown_snapshot is not None and w.experiment is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: w._shown_landscape is not None, timeout=TIMEOUT)
    yield w
    w.close()


def no_temp_files(folder):
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def play_until(win, qtbot, step):
    win.transport.play.click()
    qtbot.waitUntil(lambda: win._shown_snapshot.step >= step, timeout=TIMEOUT)


def test_menu_has_the_export_actions(win):
    texts = [a.text() for a in win.menuBar().actions()[0].menu().actions()]
    for t in (
        "Export landscape as PNG…",
        "Export window as PNG…",
        "Export plots as SVG…",
        "Record landscape animation…",
        "Export metrics as CSV…",
    ):
        assert t in texts


def test_png_exports_exist_and_open(win, tmp_path):
    for fn, name in (
        (win.exporter.export_landscape_png, "landscape.png"),
        (win.exporter.export_window_png, "window.png"),
        (win.exporter.export_plots_png, "plots.png"),
    ):
        out = fn(tmp_path / name)
        assert out == tmp_path / name, win.exporter.last_error
        img = QImage(str(out))
        assert not img.isNull() and img.width() > 0 and img.height() > 0
        assert str(out) in win.exporter.last_message
    window = QImage(str(tmp_path / "window.png"))
    land = QImage(str(tmp_path / "landscape.png"))
    assert (window.width(), window.height()) == (win.width(), win.height())  # the window, pixel for pixel
    assert land.width() >= win.stack.width() and land.height() >= win.stack.height()
    assert no_temp_files(tmp_path) == []


def test_plots_svg_is_xml(win, qtbot, tmp_path):
    play_until(win, qtbot, 30)
    out = win.exporter.export_plots_svg(tmp_path / "plots.svg")
    assert out is not None, win.exporter.last_error
    text = out.read_text()
    assert "<svg" in text
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")


def test_metrics_csv_has_a_row_per_step(win, qtbot, tmp_path):
    play_until(win, qtbot, 60)
    win.transport.play.click()
    qtbot.waitUntil(lambda: win._shown_snapshot.status == "paused", timeout=TIMEOUT)
    snap, _ = win.worker.latest()
    out = win.exporter.export_metrics_csv(tmp_path / "m.csv")
    assert out is not None, win.exporter.last_error
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header[0] == "step" and "loss" in header
    steps = np.unique(np.concatenate([np.asarray(s[0]) for s in snap.history.values()]))
    assert len(body) == len(steps) > 50
    assert [int(r[0]) for r in body] == steps.tolist()
    loss = dict(zip(*snap.history["loss"][:2]))
    i = header.index("loss")
    r = next(r for r in body if int(r[0]) in loss)
    assert float(r[i]) == pytest.approx(loss[int(r[0])])


def test_metrics_table_aligns_series_and_error_bars():
    history = {
        "loss": (np.array([0, 1, 2, 3]), np.array([4.0, 3.0, 2.0, np.nan])),
        "logz_estimate": (np.array([1, 3]), np.array([0.5, 0.7]), np.array([0.1, 0.2])),
        "nll_exact": (np.array([2, 5]), np.array([1.5, 1.4])),
    }
    header, steps, cols, present = metrics_table(history)
    assert header == ["step", "loss", "logz_estimate", "logz_estimate_stderr", "nll_exact"]
    assert steps.tolist() == [0, 1, 2, 3, 5]
    text, n = metrics_csv(history)
    lines = text.strip().split("\n")
    assert n == 5 and len(lines) == 6
    assert lines[2] == "1,3.0,0.5,0.1,"
    assert lines[4] == "3,nan,0.7,0.2,"  # a NaN value is written; a missing one is empty
    assert lines[5] == "5,,,,1.4"
    assert metrics_csv({}) == ("step\n", 0)


def test_gif_recording_keeps_training_and_rendering(win, qtbot, tmp_path):
    import imageio.v3 as iio

    play_until(win, qtbot, 5)
    renders = []
    win.timer.timeout.connect(lambda: renders.append(1))
    step0 = win.worker.latest()[0].step
    path = tmp_path / "anim.gif"
    rec = win.exporter.start_recording(path, fps=15, seconds=2)
    assert rec is not None, win.exporter.last_error
    assert win.exporter.indicator.isVisible()
    qtbot.wait(1000)
    assert rec.capturing and win.exporter.recording is rec  # still recording after 1 s ...
    mid = win.worker.latest()[0].step
    assert mid > step0  # ... and the worker kept training
    assert len(renders) >= 3  # ... and the GUI timer kept drawing (a slow 2-core CI box draws ~10/s anyway)
    qtbot.waitUntil(lambda: win.exporter.recording is None, timeout=TIMEOUT)
    assert win.worker.latest()[0].step > mid
    assert path.exists(), win.exporter.last_error
    assert str(path) in win.exporter.last_message
    frames = iio.imread(path, index=None)
    img = win.stack.grab().toImage()
    scale = min(1.0, GIF_MAX_SIDE / max(img.width(), img.height()))
    assert frames.shape[0] >= 5
    assert frames.shape[1:3] == (round(img.height() * scale), round(img.width() * scale))
    assert not win.exporter.indicator.isVisible()
    assert no_temp_files(tmp_path) == []
    n_file = frames.shape[0]
    assert f"{n_file} frames" in win.exporter.last_message  # the message states what the file holds


def test_gif_message_counts_the_frames_in_the_file(tmp_path):
    """Pillow merges identical consecutive frames: 6 captured (3 unchanged pairs) play as 3 frames."""
    import numpy as np

    from ebmlab.gui.recorder import FrameEncoder, gif_frames_and_seconds

    path = tmp_path / "same.gif"
    enc = FrameEncoder(path, fps=10)
    for v in (0, 0, 120, 120, 240, 240):
        assert enc.offer(np.full((8, 8, 3), v, np.uint8))
    enc.finish()
    assert enc.join(10) and enc.saved, enc.error
    assert enc.encoded == 6 and enc.file_frames == 3
    assert gif_frames_and_seconds(path) == (3, pytest.approx(0.6))


def test_landscape_png_is_at_least_on_screen_size(win, tmp_path):
    out = win.exporter.export_landscape_png(tmp_path / "land.png")
    img = QImage(str(out))
    shown = win.stack.size()
    assert img.width() >= max(shown.width(), 1600) and img.height() >= shown.height()
    assert img.width() % shown.width() == 0  # a whole multiple: redrawn larger, not resampled


@pytest.mark.skipif(not ffmpeg_available(), reason="imageio-ffmpeg (the ffmpeg binary) is not installed")
def test_mp4_recording_stopped_early(win, qtbot, tmp_path):
    import imageio.v2 as imageio

    play_until(win, qtbot, 5)
    path = tmp_path / "anim.mp4"
    rec = win.exporter.start_recording(path, fps=20, seconds=30)
    assert rec is not None, win.exporter.last_error
    qtbot.waitUntil(lambda: rec.captured >= 8, timeout=TIMEOUT)
    win.exporter.stop_recording()
    qtbot.waitUntil(lambda: win.exporter.recording is None, timeout=TIMEOUT)
    assert path.exists(), win.exporter.last_error
    reader = imageio.get_reader(str(path))
    try:
        n = reader.count_frames()
        w, h = reader.get_meta_data()["size"]
    finally:
        reader.close()
    img = win.stack.grab().toImage()
    assert n == rec.encoder.encoded >= 8
    assert (w, h) == (img.width() - img.width() % 2, img.height() - img.height() % 2)
    assert no_temp_files(tmp_path) == []


def test_cancelled_recording_writes_nothing(win, qtbot, tmp_path):
    path = tmp_path / "anim.gif"
    path.write_bytes(b"old")
    rec = win.exporter.start_recording(path, fps=15, seconds=30)
    qtbot.waitUntil(lambda: rec.captured >= 3, timeout=TIMEOUT)
    win.exporter.indicator.cancel_button.click()
    qtbot.waitUntil(lambda: win.exporter.recording is None, timeout=TIMEOUT)
    assert path.read_bytes() == b"old"
    assert "cancelled" in win.exporter.last_message
    assert win.exporter.last_error is None
    assert no_temp_files(tmp_path) == []


def test_closing_the_window_finishes_the_recording(qtbot, tmp_path):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.exporter.show_popups = False
    qtbot.waitUntil(lambda: w._shown_snapshot is not None, timeout=TIMEOUT)
    rec = w.exporter.start_recording(tmp_path / "a.gif", fps=15, seconds=30)
    qtbot.waitUntil(lambda: rec.captured >= 3, timeout=TIMEOUT)
    w.close()  # joins the encoder thread (the fixture fails the test otherwise)
    assert not rec.encoder.thread.is_alive()
    assert (tmp_path / "a.gif").exists()


@pytest.fixture
def read_only_dir(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    if os.access(d, os.W_OK):  # root ignores permissions
        d.chmod(0o755)
        pytest.skip("running as root: a read-only folder is still writable")
    yield d
    d.chmod(0o755)


def test_unwritable_targets_give_a_message_and_no_file(win, qtbot, read_only_dir):
    ex = win.exporter
    for fn, name in (
        (ex.export_landscape_png, "l.png"),
        (ex.export_window_png, "w.png"),
        (ex.export_plots_svg, "p.svg"),
        (ex.export_metrics_csv, "m.csv"),
    ):
        ex.last_error = None
        assert fn(read_only_dir / name) is None
        assert ex.last_error and "could not write" in ex.last_error and name in ex.last_error
    assert ex.start_recording(read_only_dir / "a.gif", 15, 2) is None
    assert "cannot write" in ex.last_error
    assert ex.recording is None
    assert list(read_only_dir.iterdir()) == []


def test_proc_missing_and_not_a_folder_targets(win, tmp_path):
    ex = win.exporter
    (tmp_path / "file.txt").write_text("x")
    bad_parents = ("/proc", str(tmp_path / "missing"), str(tmp_path / "file.txt"))  # unwritable even as root
    for parent in bad_parents:
        for fn, name in (
            (ex.export_landscape_png, "l.png"),
            (ex.export_window_png, "w.png"),
            (ex.export_plots_svg, "p.svg"),
            (ex.export_plots_png, "p.png"),
            (ex.export_metrics_csv, "m.csv"),
        ):
            ex.last_error = None
            assert fn(f"{parent}/{name}") is None
            assert ex.last_error.startswith("could not write") and f"{parent}/{name}" in ex.last_error
        assert ex.start_recording(f"{parent}/a.gif", 15, 2) is None
        assert "cannot write" in ex.last_error and ex.recording is None
    assert ex.export_window_png(tmp_path) is None  # a folder, not a file
    assert "folder" in ex.last_error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_bad_recording_settings(win, tmp_path):
    ex = win.exporter
    assert ex.start_recording(tmp_path / "a.avi", 15, 2) is None
    assert ".gif or .mp4" in ex.last_error
    assert ex.start_recording(tmp_path / "a.gif", 0, 2) is None
    assert "frame rate" in ex.last_error
    assert ex.start_recording(tmp_path / "a.gif", 15, 3600) is None
    assert "duration" in ex.last_error
    rec = ex.start_recording(tmp_path / "a.gif", 15, 30)
    assert rec is not None
    assert ex.start_recording(tmp_path / "b.gif", 15, 2) is None  # one at a time
    assert "already" in ex.last_error
    ex.cancel_recording()
    assert ex.recording is rec  # until the encoder thread has been joined
    assert list(tmp_path.iterdir()) == [] or all(".tmp" in p.name for p in tmp_path.iterdir())


def test_disk_full_during_encoding_leaves_no_file(win, qtbot, tmp_path, monkeypatch):
    from ebmlab.gui import recorder

    def full(self, ok):
        self._gif_frames = []
        if ok:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder.FrameEncoder, "_close_writer", full)
    path = tmp_path / "anim.gif"
    rec = win.exporter.start_recording(path, fps=15, seconds=0.4)
    assert rec is not None
    qtbot.waitUntil(lambda: win.exporter.recording is None, timeout=TIMEOUT)
    assert "No space left on device" in win.exporter.last_error
    assert not path.exists() and no_temp_files(tmp_path) == []


def test_menu_actions_go_through_the_one_dialog_function(win, tmp_path, monkeypatch):
    asked = []

    def fake(parent, title, default_name, filters):
        asked.append((title, default_name, filters))
        return tmp_path / default_name

    monkeypatch.setattr(export_mod, "ask_save_path", fake)
    win.exporter.landscape_png_dialog()
    win.exporter.metrics_csv_dialog()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].endswith(".png") and "landscape" in names[0]
    assert names[1].endswith(".csv")
    monkeypatch.setattr(export_mod, "ask_save_path", lambda *a: None)  # cancelled: nothing happens
    win.exporter.window_png_dialog()
    assert len(list(tmp_path.iterdir())) == 2
