"""File ▸ Export: pictures (PNG, SVG), landscape animations (GIF, MP4) and metrics (CSV).

Every export writes a temp file beside the target and renames it, so a failure (unwritable folder, disk
full) leaves nothing half-written; failures are reported as a message, never raised into Qt. The only file
dialog is `ask_save_path` (tests call the `export_*` methods with explicit paths). Pictures and CSV are
written in the GUI thread (milliseconds); animations are encoded in a background thread (see recorder.py),
so neither the GUI nor the training worker waits. No torch here: snapshots hold numpy only.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QWidget,
)

from ..core.atomic import write_atomic, write_bytes_atomic
from .app_settings import app_settings
from .recorder import MAX_SECONDS, Recording, RecordingError, RecordingIndicator, ffmpeg_available

DEFAULT_FPS = 15.0
DEFAULT_SECONDS = 10.0


# ---------------------------------------------------------------------- dialogs (the only ones)
def ask_save_path(parent: QWidget | None, title: str, default_name: str, filters: list[tuple[str, str]]) -> Path | None:
    """A save dialog. filters: [(description, '.ext')]; a name without a known extension gets the chosen one.
    Remembers the folder. None when cancelled."""
    settings = app_settings()
    folder = settings.value("export/dir", "") or str(Path.cwd())
    patterns = [f"{desc} (*{ext})" for desc, ext in filters]
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / default_name), ";;".join(patterns))
    if not path:
        return None
    p = Path(path)
    known = [ext for _, ext in filters]
    if p.suffix.lower() not in known:
        ext = next((e for (d, e), pat in zip(filters, patterns) if pat == chosen), known[0])
        p = p.with_name(p.name + ext)
    settings.setValue("export/dir", str(p.parent))
    return p


def ask_recording_options(parent: QWidget | None, suffix: str) -> tuple[float, float] | None:
    """Frame rate and duration for a recording (remembered); None when cancelled."""
    settings = app_settings()
    dlg = QDialog(parent)
    dlg.setWindowTitle("Record landscape animation")
    form = QFormLayout(dlg)
    fps = QDoubleSpinBox()
    fps.setRange(1, 60)
    fps.setDecimals(0)
    fps.setSuffix(" frames/s")
    fps.setValue(float(settings.value("export/fps", DEFAULT_FPS)))
    secs = QDoubleSpinBox()
    secs.setRange(1, MAX_SECONDS.get(suffix, 600.0))
    secs.setDecimals(0)
    secs.setSuffix(" s")
    secs.setValue(min(float(settings.value("export/seconds", DEFAULT_SECONDS)), secs.maximum()))
    form.addRow("Frame rate", fps)
    form.addRow("Duration", secs)
    form.addRow(QLabel("Stop early from the status bar; training keeps running meanwhile."))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    form.addRow(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    settings.setValue("export/fps", fps.value())
    settings.setValue("export/seconds", secs.value())
    return fps.value(), secs.value()


# ---------------------------------------------------------------------- pure exports (raise OSError / ValueError)
def save_image_png(img: QImage, path: str | Path) -> Path:
    if img.isNull() or img.width() == 0 or img.height() == 0:
        raise ValueError("nothing to draw yet (the view has no size)")

    def write(tmp: Path) -> None:
        if not img.save(str(tmp), "PNG"):
            raise OSError(5, "the PNG could not be written", str(tmp))

    return write_atomic(path, write)


MIN_EXPORT_WIDTH = 1600  # px: a landscape shown small is exported at a multiple of its on-screen size


def render_widget(widget: QWidget, min_width: int = 0) -> QImage:
    """The widget drawn into an image at its on-screen size, or at an integer multiple of it when that is
    narrower than `min_width` (text and lines are redrawn at the larger size, not scaled up as pixels)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter

    w, h = widget.width(), widget.height()
    if w <= 0 or h <= 0:
        return QImage()
    k = max(1, -(-min_width // w)) if min_width else 1
    if k == 1:
        return widget.grab().toImage()
    img = QImage(w * k, h * k, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    try:
        painter.scale(k, k)
        widget.render(painter, QPoint(0, 0))  # PySide6: the painter overload needs the offset
    finally:
        painter.end()
    return img


def save_widget_png(widget: QWidget, path: str | Path, min_width: int = 0) -> Path:
    """What the widget shows (its children included), at least `min_width` pixels wide."""
    return save_image_png(render_widget(widget, min_width), path)


def widget_svg(widget: QWidget) -> bytes:
    """SVG of a widget drawn by QSvgGenerator (vector curves and text; SVG 1.1 so that clipping is kept)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        raise ValueError("nothing to draw yet (the view has no size)")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    version = getattr(QSvgGenerator, "SvgVersion", None)  # Qt >= 6.5: SVG 1.1 keeps the plots' clip paths
    gen = QSvgGenerator(version.Svg11) if version is not None else QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(size.width(), size.height()))
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle("ebmlab")
    painter = QPainter(gen)
    try:
        widget.render(painter)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def plots_svg(glw) -> bytes:
    """A pyqtgraph GraphicsLayoutWidget as SVG: pyqtgraph's exporter (clean, per-item), or, where it fails
    (pyqtgraph 0.14 cannot parse the path syntax of recent Qt: pyqtgraph issue #3485), Qt's own generator."""
    from pyqtgraph.exporters import SVGExporter

    try:
        data = SVGExporter(glw.scene()).export(toBytes=True)
    except Exception:
        data = None
    return data or widget_svg(glw)


def metrics_table(history: dict) -> tuple[list[str], np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Align every series on the union of their steps.

    history: name -> (steps, values[, stderr]) numpy arrays. Returns (header, steps, columns, present) where
    header = ['step', name, name_stderr?, ...], columns[i] are float64 and present[i] marks the steps that
    series has (absent cells are written empty, not as NaN)."""
    names = [n for n, s in history.items() if s is not None and len(s) >= 2]
    step_arrays = [np.asarray(history[n][0], dtype=np.int64).ravel() for n in names]
    steps = np.unique(np.concatenate(step_arrays)) if step_arrays else np.zeros(0, np.int64)
    header, columns, present = ["step"], [], []
    for name, st in zip(names, step_arrays):
        series = history[name]
        idx = np.searchsorted(steps, st)
        has = np.zeros(len(steps), bool)
        has[idx] = True
        for label, values in ((name, series[1]), *(((name + "_stderr", series[2]),) if len(series) >= 3 else ())):
            col = np.full(len(steps), np.nan)
            col[idx] = np.asarray(values, dtype=np.float64).ravel()[: len(idx)]
            header.append(label)
            columns.append(col)
            present.append(has)
    return header, steps, columns, present


def metrics_csv(history: dict) -> tuple[str, int]:
    header, steps, columns, present = metrics_table(history)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for i, st in enumerate(steps.tolist()):
        w.writerow([st] + [repr(float(c[i])) if p[i] else "" for c, p in zip(columns, present)])
    return out.getvalue(), len(steps)


def write_metrics_csv(history: dict, path: str | Path) -> int:
    """Write the metrics table; returns the number of rows (one per step)."""
    text, n = metrics_csv(history)
    write_bytes_atomic(path, text.encode("utf-8"))
    return n


def _describe(e: BaseException, path: Path) -> str:
    if isinstance(e, OSError):
        return f"could not write {path}: {e.strerror or e}"
    return f"could not export {path.name}: {e}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:40] or "ebmlab"


# ---------------------------------------------------------------------- the window's exporter
class Exporter(QObject):
    """Owns the export actions and the (single) recording of a MainWindow."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.recording: Recording | None = None
        self.last_message = ""
        self.last_error: str | None = None
        self.show_popups = True  # errors also open a (non-modal) message box
        self.indicator = RecordingIndicator()
        win.statusBar().addPermanentWidget(self.indicator)
        self.record_action: QAction | None = None

    # ------------------------------------------------------------------ menu
    def actions(self) -> list[QAction]:
        items = [
            ("Export landscape as PNG…", self.landscape_png_dialog),
            ("Export window as PNG…", self.window_png_dialog),
            ("Export plots as SVG…", self.plots_svg_dialog),
            ("Export plots as PNG…", self.plots_png_dialog),
            ("Record landscape animation…", self.record_dialog),
            ("Export metrics as CSV…", self.metrics_csv_dialog),
        ]
        out = []
        for text, slot in items:
            act = QAction(text, self.win)
            act.triggered.connect(lambda _=False, s=slot: s())
            out.append(act)
        self.record_action = out[4]
        return out

    def _name(self, what: str, ext: str) -> str:
        exp = getattr(self.win, "experiment", None)
        snap = self._snapshot()
        step = f"_step{snap.step}" if snap is not None else ""
        return f"{_slug(exp.name if exp is not None and exp.name else 'ebmlab')}_{what}{step}{ext}"

    def landscape_png_dialog(self) -> None:
        p = ask_save_path(self.win, "Export landscape", self._name("landscape", ".png"), [("PNG image", ".png")])
        if p:
            self.export_landscape_png(p)

    def window_png_dialog(self) -> None:
        p = ask_save_path(self.win, "Export window", self._name("window", ".png"), [("PNG image", ".png")])
        if p:
            self.export_window_png(p)

    def plots_svg_dialog(self) -> None:
        filters = [("SVG vector image", ".svg"), ("PNG image", ".png")]
        p = ask_save_path(self.win, "Export plots", self._name("plots", ".svg"), filters)
        if p:
            self.export_plots_png(p) if p.suffix.lower() == ".png" else self.export_plots_svg(p)

    def plots_png_dialog(self) -> None:
        p = ask_save_path(self.win, "Export plots", self._name("plots", ".png"), [("PNG image", ".png")])
        if p:
            self.export_plots_png(p)

    def metrics_csv_dialog(self) -> None:
        p = ask_save_path(self.win, "Export metrics", self._name("metrics", ".csv"), [("CSV table", ".csv")])
        if p:
            self.export_metrics_csv(p)

    def record_dialog(self) -> None:
        if self.recording is not None:
            self.stop_recording()
            return
        filters = [("MP4 video", ".mp4"), ("GIF animation", ".gif")] if ffmpeg_available() else []
        filters = filters or [("GIF animation", ".gif")]
        p = ask_save_path(self.win, "Record landscape animation", self._name("landscape", filters[0][1]), filters)
        if not p:
            return
        opts = ask_recording_options(self.win, p.suffix.lower())
        if opts:
            self.start_recording(p, *opts)

    # ------------------------------------------------------------------ exports (explicit paths; never raise)
    def landscape_widget(self) -> QWidget:
        return self.win.stack  # the landscape or, for binary models, the state view: whichever is shown

    def export_landscape_png(self, path: str | Path) -> Path | None:
        return self._guard(path, lambda p: save_widget_png(self.landscape_widget(), p, MIN_EXPORT_WIDTH), "landscape")

    def export_window_png(self, path: str | Path) -> Path | None:
        return self._guard(path, lambda p: save_widget_png(self.win, p), "window")

    def export_plots_png(self, path: str | Path) -> Path | None:
        return self._guard(path, lambda p: save_widget_png(self.win.plots, p), "plots")

    def export_plots_svg(self, path: str | Path) -> Path | None:
        return self._guard(path, lambda p: write_bytes_atomic(p, plots_svg(self.win.plots.glw)), "plots")

    def export_metrics_csv(self, path: str | Path) -> Path | None:
        snap = self._snapshot()
        if snap is None or not snap.history:
            self._error("no metrics yet: run a few steps first")
            return None
        rows = []
        out = self._guard(path, lambda p: rows.append(write_metrics_csv(snap.history, p)), "metrics", quiet=True)
        if out is not None:
            self._info(f"saved metrics ({rows[0]} steps) to {out}")
        return out

    def _snapshot(self):
        snap, _ = self.win.worker.latest()
        if snap is None or snap.run_id != getattr(self.win, "run_id", snap.run_id):
            snap = getattr(self.win, "_shown_snapshot", None)
        return snap

    def _guard(self, path, fn, what: str, quiet: bool = False) -> Path | None:
        path = Path(path)
        try:
            fn(path)
        except Exception as e:  # report, never raise into Qt's event loop
            self._error(_describe(e, path))
            return None
        if not quiet:
            self._info(f"saved {what} to {path}")
        return path

    # ------------------------------------------------------------------ recording
    def start_recording(self, path: str | Path, fps: float = DEFAULT_FPS, seconds: float = DEFAULT_SECONDS):
        """Start recording the landscape into `path` (.gif or .mp4); returns the Recording or None."""
        if self.recording is not None:
            self._error("a recording is already running: stop it first")
            return None
        try:
            rec = Recording(self.landscape_widget(), path, fps, seconds, parent=self)
        except RecordingError as e:
            self._error(str(e))
            return None
        except OSError as e:
            self._error(_describe(e, Path(path)))
            return None
        self.recording = rec
        rec.finished.connect(self._recording_finished)
        self.indicator.attach(rec)
        if self.record_action is not None:
            self.record_action.setText("Stop recording")
        self._info(f"recording {Path(path).name}: {rec.total} frames at {rec.fps:g} frames/s")
        return rec

    def stop_recording(self) -> None:
        if self.recording is not None:
            self.recording.stop()

    def cancel_recording(self) -> None:
        if self.recording is not None:
            self.recording.cancel()

    def _recording_finished(self, ok: bool, message: str) -> None:
        rec, self.recording = self.recording, None
        self.indicator.detach()
        if self.record_action is not None:
            self.record_action.setText("Record landscape animation…")
        if ok or (rec is not None and rec.cancelled):
            self._info(message)
        else:
            self._error(message)
        if rec is not None:
            rec.deleteLater()

    def shutdown(self) -> None:
        """Window closing: finish (or, if that hangs, discard) the recording and join its thread."""
        if self.recording is not None:
            self.show_popups = False
            self.recording.shutdown()

    # ------------------------------------------------------------------ messages
    def _info(self, text: str) -> None:
        self.last_message = text
        self.win.statusBar().showMessage(text, 10_000)

    def _error(self, text: str) -> None:
        self.last_message = self.last_error = text
        self.win.statusBar().showMessage(text, 15_000)
        if self.show_popups and not getattr(self.win, "_closing", False):
            box = QMessageBox(QMessageBox.Icon.Warning, "Export failed", text, parent=self.win)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()
