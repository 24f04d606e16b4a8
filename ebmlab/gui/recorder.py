"""Record a widget as an animation (GIF or MP4) without blocking the GUI or the training worker.

The GUI thread grabs the widget on a timer (`widget.grab()` -> RGB numpy) and hands each frame to a
`FrameEncoder` through a bounded queue; the encoder thread quantises (GIF) or pipes to ffmpeg (MP4) and
writes to a temporary file next to the target, renamed over it only when everything succeeded. When the
queue is full the GUI drops the frame (counted) rather than wait. `Recording.shutdown()` joins the thread.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..core.atomic import remove_quietly, temp_path_for

FORMATS = (".gif", ".mp4")
QUEUE_FRAMES = 48  # frames in flight between the GUI and the encoder
GIF_MAX_SIDE = 960  # GIF frames are kept (1 byte/pixel) until the file is written: bound their size
MAX_SECONDS = {".gif": 60.0, ".mp4": 600.0}
_DONE = object()


class RecordingError(Exception):
    """A recording could not start (bad format, unwritable folder)."""


def image_to_rgb(img: QImage) -> np.ndarray:
    """A QImage as a (height, width, 3) uint8 array (a copy, safe to hand to another thread)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    if w == 0 or h == 0:
        return np.zeros((0, 0, 3), np.uint8)
    buf = np.frombuffer(img.constBits(), np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def grab_rgb(widget: QWidget) -> np.ndarray:
    return image_to_rgb(widget.grab().toImage())


def fit_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or pad (black) a frame to a fixed size: a video keeps the size of its first frame."""
    if frame.shape[0] == height and frame.shape[1] == width:
        return frame
    out = np.zeros((height, width, 3), np.uint8)
    h, w = min(height, frame.shape[0]), min(width, frame.shape[1])
    out[:h, :w] = frame[:h, :w]
    return out


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        return bool(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return False


class FrameEncoder:
    """Encodes frames from a bounded queue in a background thread into `target` (atomic: temp + rename).

    Counters (`encoded`, `error`, `done`) are read by the GUI thread; only this object's thread writes them."""

    def __init__(self, target: str | Path, fps: float):
        self.target = Path(target)
        self.suffix = self.target.suffix.lower()
        if self.suffix not in FORMATS:
            raise RecordingError(f"choose a .gif or .mp4 file name, not {self.target.name!r}")
        if self.suffix == ".mp4" and not ffmpeg_available():
            raise RecordingError("MP4 needs ffmpeg (pip install imageio-ffmpeg); save as .gif instead")
        self.fps = float(fps)
        try:
            self.tmp = temp_path_for(self.target)  # creates it: an unwritable folder fails here, before recording
        except OSError as e:
            raise RecordingError(f"cannot write {self.target}: {e.strerror or e}") from e
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.encoded = 0
        self.error: str | None = None
        self.done = False
        self.saved = False
        self._cancel = threading.Event()
        self._size: tuple[int, int] | None = None
        self._gif_frames: list = []
        self.file_frames: int | None = None  # GIF only: frames and seconds the written file holds
        self.file_seconds = 0.0
        self._writer = None
        self.thread = threading.Thread(target=self._run, name="ebmlab-recorder", daemon=False)
        self.thread.start()

    # ---------------------------------------------------------------- GUI side
    def offer(self, frame: np.ndarray) -> bool:
        """Queue a frame without waiting; False when the queue is full or the encoder has failed."""
        if self.error is not None or self.done:
            return False
        try:
            self.queue.put_nowait(frame)
        except queue.Full:
            return False
        return True

    def finish(self) -> None:
        """No more frames: encode what is queued, write the file, rename it over the target."""
        self._put_done()

    def cancel(self) -> None:
        """Discard the recording; the target is left untouched."""
        self._cancel.set()
        self._put_done()

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _put_done(self) -> None:
        while True:
            try:
                self.queue.put(_DONE, timeout=0.05)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    return

    # ---------------------------------------------------------------- encoder thread
    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is _DONE or self._cancel.is_set():
                    break
                self._add(item)
                self.encoded += 1
            if self._cancel.is_set():
                self._abort()
                return
            if self.encoded == 0:
                raise RecordingError("no frames were captured")
            self._close_writer(ok=True)
            os.replace(self.tmp, self.target)
            self.saved = True
        except Exception as e:  # disk full, ffmpeg failure, ...: report, leave no half-written file
            self._abort()
            self.error = _describe(e, self.target)
            self._drain()
        finally:
            self._gif_frames = []
            self.done = True

    def _abort(self) -> None:
        try:
            self._close_writer(ok=False)
        except Exception:
            pass
        remove_quietly(self.tmp)

    def _drain(self) -> None:
        try:
            while True:
                self.queue.get_nowait()
        except queue.Empty:
            pass

    def _add(self, frame: np.ndarray) -> None:
        if self._size is None:
            h, w = frame.shape[:2]
            if self.suffix == ".mp4":
                h, w = h - h % 2, w - w % 2  # yuv420p needs even sides
            if h < 2 or w < 2:
                raise RecordingError("the view has no visible area to record")
            self._size = (h, w)
            self._open_writer()
        frame = fit_frame(frame, *self._size)
        if self.suffix == ".gif":
            from PIL import Image

            bilinear = getattr(Image, "Resampling", Image).BILINEAR
            fast_octree = getattr(Image, "Quantize", Image).FASTOCTREE
            im = Image.fromarray(frame)
            long_side = max(im.size)
            if long_side > GIF_MAX_SIDE:
                s = GIF_MAX_SIDE / long_side
                im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), bilinear)
            self._gif_frames.append(im.quantize(256, method=fast_octree))  # ~15 ms a frame, 1 byte/pixel
        else:
            self._writer.append_data(np.ascontiguousarray(frame))

    def _open_writer(self) -> None:
        if self.suffix == ".mp4":
            import imageio.v2 as imageio

            self._writer = imageio.get_writer(
                str(self.tmp),
                format="FFMPEG",
                mode="I",
                fps=self.fps,
                codec="libx264",
                pixelformat="yuv420p",
                quality=8,
                macro_block_size=1,
                ffmpeg_log_level="error",
            )

    def _close_writer(self, ok: bool) -> None:
        if self.suffix == ".gif":
            frames, self._gif_frames = self._gif_frames, []
            if ok and frames:
                ms = max(20, int(round(1000.0 / self.fps / 10.0)) * 10)  # GIF delays are in 1/100 s
                frames[0].save(self.tmp, format="GIF", save_all=True, append_images=frames[1:], duration=ms, loop=0)
                self.file_frames, self.file_seconds = gif_frames_and_seconds(self.tmp)  # what the file holds
            return
        w, self._writer = self._writer, None
        if w is not None:
            try:
                w.close()
            except Exception:
                if ok:
                    raise


def gif_frames_and_seconds(path: Path) -> tuple[int, float]:
    """(frames, seconds) of a written GIF, read back: Pillow merges identical consecutive frames into one
    longer frame, and GIF delays are whole 1/100 s, so neither the captured count nor fps x duration is what
    a viewer plays."""
    from PIL import Image

    with Image.open(path) as im:
        n, ms = 0, 0.0
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            n += 1
            ms += float(im.info.get("duration", 0) or 0)
    return n, ms / 1000.0


def _describe(e: Exception, target: Path) -> str:
    if isinstance(e, RecordingError):
        return f"recording {target.name} failed: {e}"
    if isinstance(e, OSError):
        return f"could not write {target}: {e.strerror or e}"
    return f"recording {target.name} failed: {type(e).__name__}: {e}"


class Recording(QObject):
    """Grabs `widget` at `fps` for `seconds` (or until `stop()`), feeding a FrameEncoder; polls it to the end.

    Signals: progress(captured, encoded, total), finished(ok, message)."""

    progress = Signal(int, int, int)
    finished = Signal(bool, str)

    def __init__(self, widget: QWidget, path: str | Path, fps: float = 15.0, seconds: float = 5.0, parent=None):
        super().__init__(parent)
        self.widget = widget
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if not 1 <= fps <= 60:
            raise RecordingError(f"frame rate must be between 1 and 60, got {fps:g}")
        limit = MAX_SECONDS.get(suffix, 600.0)
        if not 0 < seconds <= limit:
            raise RecordingError(f"duration must be between 0 and {limit:g} s for {suffix or 'this format'}")
        self.fps, self.seconds = float(fps), float(seconds)
        self.total = max(1, int(round(self.fps * self.seconds)))
        self.encoder = FrameEncoder(self.path, self.fps)
        self.captured = 0
        self.dropped = 0
        self.capturing = True
        self.cancelled = False
        self._reported = False
        self._t0 = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, int(round(1000.0 / self.fps))))
        self.timer.timeout.connect(self._tick)
        self.poll = QTimer(self)
        self.poll.setInterval(100)
        self.poll.timeout.connect(self._poll)
        self.timer.start()
        self._tick()

    @property
    def active(self) -> bool:
        return not self._reported

    def _tick(self) -> None:
        if not self.capturing:
            return
        if self.encoder.error is not None:
            self._end_capture()
            return
        frame = grab_rgb(self.widget)
        if self.encoder.offer(frame):
            self.captured += 1
        else:
            self.dropped += 1
        self.progress.emit(self.captured, self.encoder.encoded, self.total)
        if self.captured + self.dropped >= self.total:
            self.stop()

    def stop(self) -> None:
        """Stop capturing and write the file with the frames so far."""
        if self.capturing:
            self._end_capture()
            self.encoder.finish()

    def cancel(self) -> None:
        """Stop and discard; the target file is not created (nor replaced)."""
        self.cancelled = True
        self._end_capture()
        self.encoder.cancel()

    def _end_capture(self) -> None:
        self.capturing = False
        self.timer.stop()
        if not self.poll.isActive() and not self._reported:
            self.poll.start()

    def _poll(self) -> None:
        self.progress.emit(self.captured, self.encoder.encoded, self.captured or self.total)
        if self.encoder.done:
            self._report()

    def _report(self) -> None:
        if self._reported:
            return
        self.encoder.join(10.0)  # `done` is set as the thread's last act: this returns at once
        self._reported = True
        self.poll.stop()
        enc = self.encoder
        if self.cancelled and not enc.saved:
            self.finished.emit(False, "recording cancelled; nothing was written")
        elif enc.error is not None:
            self.finished.emit(False, enc.error)
        else:
            extra = f", {self.dropped} dropped (encoder busy)" if self.dropped else ""
            if enc.file_frames is not None:  # a GIF: say what the file plays, not what was captured
                merged = enc.encoded - enc.file_frames
                same = f"; {merged} unchanged frames merged into longer ones" if merged > 0 else ""
                what = f"{enc.file_frames} frames, {enc.file_seconds:.1f} s in the file ({enc.encoded} captured{same})"
            else:
                what = f"{enc.encoded} frames at {self.fps:g} fps"
            self.finished.emit(True, f"saved {self.path} ({what}{extra})")

    def shutdown(self, timeout: float = 30.0) -> None:
        """Window closing: finish the file if it can be written in `timeout` s, else discard; join the thread."""
        self.stop()
        if not self.encoder.join(timeout):
            self.cancelled = True
            self.encoder.cancel()
            self.encoder.join(10.0)
        self._report()


class RecordingIndicator(QWidget):
    """Status-bar widget: frames captured / encoded, a Stop (keep) and a Cancel (discard) button."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("● REC")
        self.label.setStyleSheet("color:#d03030;font-weight:bold;")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop recording and save the frames so far")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop recording and discard it")
        for w in (self.label, self.bar, self.stop_button, self.cancel_button):
            lay.addWidget(w)
        self._rec: Recording | None = None
        self.hide()

    def attach(self, rec: Recording) -> None:
        self._rec = rec
        self.stop_button.setEnabled(True)
        self.stop_button.clicked.connect(rec.stop)
        self.cancel_button.clicked.connect(rec.cancel)
        rec.progress.connect(self.set_progress)
        self.set_progress(0, 0, rec.total)
        self.show()

    def detach(self) -> None:
        self._rec = None
        for b in (self.stop_button, self.cancel_button):
            try:
                b.clicked.disconnect()
            except (RuntimeError, TypeError):
                pass
        self.hide()

    def set_progress(self, captured: int, encoded: int, total: int) -> None:
        capturing = self._rec is not None and self._rec.capturing
        self.stop_button.setEnabled(capturing)
        self.label.setText("● REC" if capturing else "encoding…")
        top = max(total if capturing else captured, 1)
        self.bar.setRange(0, top)
        self.bar.setValue(min(captured if capturing else encoded, top))
        self.bar.setFormat(f"{captured} captured / {encoded} encoded")
