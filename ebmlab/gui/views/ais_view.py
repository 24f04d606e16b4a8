"""The AIS tab: watch annealed importance sampling move particles from the base q to p = exp(-E) / Z.

The run lives in the worker thread (ebmlab.core.partition.ais_session); this panel only sends StartAIS / AISControl /
AISSpeed and polls `worker.latest_ais()` at ~30 Hz, rendering the immutable numpy AISUpdate it gets.
Updates of runs older than the last Run pressed here are ignored (the worker's token counts StartAIS).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.partition.ais import AISParams
from ...core.partition.ais_session import AISControl, AISSpeed, StartAIS
from ..panels.form import ParamsForm
from . import theme
from .ais_plots import DensityPlot, PathPlot, ResultPlot, WeightsPlot

FORM_FIELDS = ("particles", "temps", "schedule", "kernel", "steps_per_temp", "step_size")
DEFAULTS = {"particles": 1000, "temps": 300, "record_every": 0}  # about 100 frames: good to watch
SPEEDS = (("5 frames/s", 5.0), ("15 frames/s", 15.0), ("30 frames/s", 30.0), ("60 frames/s", 60.0), ("max", None))
POLL_MS = 33
BINARY_KINDS = ("boltzmann", "rbm")
FINISHED = ("done", "error", "stopped")
NBSP = "\u00a0"
WARN_COLOR, OK_COLOR = "#ff6b6b", "#9be88a"


def _paint(label: QLabel, color: str) -> None:
    """Text colour by palette (a style sheet would freeze the font: presenter mode)."""
    pal = label.palette()
    pal.setColor(QPalette.ColorRole.WindowText, QColor(color))
    label.setPalette(pal)


def _num(v: float, fmt: str = ".4f") -> str:
    return format(v, fmt) if v is not None and math.isfinite(v) else "—"


class AISPanel(QWidget):
    """Controls, the intermediate density with weighted particles, the log-weight histogram, the running
    estimate of log Z_beta (with the exact path) and the final result with error bars."""

    def __init__(self, window):
        super().__init__()
        self._win = window
        self._settings: dict = dict(DEFAULTS)
        self._token = 0  # Run presses (= the worker's StartAIS token of our latest run)
        self._stale_upto = 0  # runs up to this token belong to a lesson that was left (forget)
        self._status = "idle"  # idle | starting | running | paused | done | stopped | error
        self._latest = None  # latest accepted AISUpdate
        self._shown = None  # latest rendered AISUpdate
        self._error: str | None = None
        self._closed = False
        self._build()
        self.setAutoFillBackground(True)  # readable under any application palette
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(theme.PANEL))
        pal.setColor(QPalette.ColorRole.WindowText, QColor(theme.FG))
        self.setPalette(pal)
        self.apply_style()
        self._show_result()
        self._sync_buttons()
        window.worker.failed.connect(self._on_failed)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.run_button, self.play_button = QPushButton("Run AIS"), QPushButton("Pause")
        self.step_button, self.stop_button = QPushButton("Step"), QPushButton("Stop")
        self.run_button.clicked.connect(self.start)
        self.play_button.clicked.connect(self._on_play)
        self.step_button.clicked.connect(lambda: self._send(AISControl("step")))
        self.stop_button.clicked.connect(self._on_stop)
        self.speed_combo = QComboBox()
        for text, fps in SPEEDS:
            self.speed_combo.addItem(text, fps)
        self.speed_combo.setCurrentIndex(2)
        self.speed_combo.currentIndexChanged.connect(lambda _i: self._send(AISSpeed(self.speed)))
        self.state_label = QLabel()
        buttons = QHBoxLayout()
        for b in (self.run_button, self.play_button, self.step_button, self.stop_button):
            buttons.addWidget(b)
        self.speed_label = QLabel("Speed")
        for w in (12, self.speed_label, self.speed_combo, 12):
            buttons.addSpacing(w) if isinstance(w, int) else buttons.addWidget(w)
        buttons.addWidget(self.state_label, 1)

        all_fields = [f.name for f in dataclasses.fields(AISParams)]
        self.forms: dict[str, ParamsForm] = {}
        form_grid = QGridLayout()
        form_grid.setHorizontalSpacing(18)
        form_grid.setVerticalSpacing(4)
        for i, name in enumerate(FORM_FIELDS):
            form = ParamsForm(AISParams, exclude=[n for n in all_fields if n != name])
            form.set_values({**dataclasses.asdict(AISParams()), **self._settings})
            form.edited.connect(self._on_edited)
            self.forms[name] = form
            form_grid.addWidget(form, i // 3, i % 3)

        self.density = DensityPlot()
        self.weights = WeightsPlot()
        self.stats_label = QLabel()
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.weights.widget, 1)
        rl.addWidget(self.stats_label)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.density.widget)
        top.addWidget(right)
        top.setSizes([560, 380])
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.path = PathPlot()
        center = QSplitter(Qt.Orientation.Vertical)
        center.addWidget(top)
        center.addWidget(self.path.widget)
        center.setSizes([400, 260])
        center.setStretchFactor(0, 3)
        center.setStretchFactor(1, 2)

        self.result_label, self.detail_label, self.warnings_label = QLabel(), QLabel(), QLabel()
        for lab in (self.result_label, self.detail_label, self.warnings_label):
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for lab in (self.result_label, self.detail_label, self.warnings_label, self.stats_label, self.state_label):
            # a long result never widens the tab (which would squeeze the notes for the rest of the session)
            lab.setMinimumWidth(1)
        self.result_plot = ResultPlot()
        keep = self.result_plot.widget.sizePolicy()
        keep.setRetainSizeWhenHidden(True)  # no layout jump when the result appears
        self.result_plot.widget.setSizePolicy(keep)
        text = QVBoxLayout()
        for lab in (self.result_label, self.detail_label, self.warnings_label):
            text.addWidget(lab)
        text.addStretch(1)
        strip = QWidget()
        strip.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        sl = QHBoxLayout(strip)
        sl.setContentsMargins(6, 4, 0, 0)
        sl.addLayout(text, 1)
        sl.addWidget(self.result_plot.widget)
        self.result_strip = strip

        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)
        root.addLayout(buttons)
        root.addLayout(form_grid)
        root.addWidget(center, 1)
        root.addWidget(strip)

    def apply_style(self) -> None:
        """Fonts and pens at the current theme scale."""
        for p in (self.density, self.weights, self.path, self.result_plot):
            p.apply_style()
        self.run_button.setFont(theme.font(11, bold=True))
        for w in (self.play_button, self.step_button, self.stop_button, self.speed_combo, self.speed_label):
            w.setFont(theme.font(11))
        self.state_label.setFont(theme.font(11))
        _paint(self.state_label, theme.MUTED)
        self.stats_label.setFont(theme.font(11))
        _paint(self.stats_label, theme.FG)
        self.result_label.setFont(theme.font(15, bold=True))
        self.detail_label.setFont(theme.font(11))
        _paint(self.detail_label, theme.MUTED)
        self.warnings_label.setFont(theme.font(12))
        grow = min(theme.scale(), 1.3)  # room for the plots above in presenter mode
        self.result_plot.widget.setFixedSize(int(260 * grow), int(160 * grow))

    def set_presenter(self, on: bool) -> None:
        theme.set_presenter(on)
        self.apply_style()
        if self._shown is not None:
            self._render(self._shown)

    # ------------------------------------------------------------------ public API
    @property
    def settings(self) -> dict:
        """The AIS settings sent by Run: watching defaults plus the user's edits."""
        return dict(self._settings)

    def set_settings(self, **values) -> None:
        """Change settings as if typed into the form (tests, presets)."""
        self._settings.update(values)
        for form in self.forms.values():
            form.set_values({**form.values(), **self._settings})

    @property
    def speed(self) -> float | None:
        return self.speed_combo.currentData()

    @property
    def status(self) -> str:
        return self._status

    @property
    def finished(self) -> bool:
        """True when the last update of the current run says done, error or stopped."""
        return self._token > 0 and self._status in FINISHED

    @property
    def result_text(self) -> str:
        """The result line as plain text (ordinary spaces)."""
        return self.result_label.text().replace(NBSP, " ")

    @property
    def latest(self):
        """The latest AISUpdate of the current run (None before its first frame)."""
        return self._latest

    def start(self) -> None:
        """Press Run: a new AIS run on a frozen copy of the current model."""
        exp = getattr(self._win, "experiment", None)
        if exp is None:
            self.state_label.setText("the model is still loading")
            return
        settings = dict(self._settings)
        binary = getattr(getattr(exp, "model", None), "kind", None) in BINARY_KINDS
        if binary:
            settings["kernel"] = "gibbs"
        elif settings.get("kernel") == "gibbs":
            settings["kernel"] = "mala"
        if "kernel" in settings:
            self.set_settings(kernel=settings["kernel"])
        self._token += 1
        self._status, self._latest, self._shown, self._error = "starting", None, None, None
        for p in (self.density, self.weights, self.path, self.result_plot):
            p.clear()
        self.stats_label.setText("")
        self._send(AISSpeed(self.speed))
        self._send(StartAIS(settings=settings, reverse=True))
        self._show_result()
        self._sync_buttons()

    def forget(self) -> None:
        """Another lesson or file is opened: stop any run and clear its plots and result (they describe the
        model being left)."""
        if self._status in ("starting", "running", "paused"):
            self._send(AISControl("stop"))
        self._stale_upto = self._token  # updates of the runs so far (still in flight) are ignored
        self._status, self._latest, self._shown, self._error = "idle", None, None, None
        for p in (self.density, self.weights, self.path, self.result_plot):
            p.clear()
        self.stats_label.setText("")
        self._show_result()
        self._sync_buttons()

    def shutdown(self) -> None:
        """Stop polling and stop the run (the window is closing)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self._send(AISControl("stop"))

    # ------------------------------------------------------------------ commands
    def _send(self, cmd) -> None:
        if not self._closed or isinstance(cmd, AISControl):
            self._win.worker.send(cmd)

    def _on_edited(self, name: str, value) -> None:
        self._settings[name] = value

    def _on_play(self) -> None:
        if self._status in ("running", "starting"):
            self._send(AISControl("pause"))
            self._status = "paused"
        elif self._status == "paused":
            self._send(AISControl("play"))
            self._status = "running"
        self._sync_buttons()

    def _on_stop(self) -> None:
        self._send(AISControl("stop"))
        if self._latest is None and self._status == "starting":
            self._status = "stopped"  # no frame yet: the worker has nothing of this run to mark
            self._show_result()
            self._sync_buttons()

    def _on_failed(self, message: str) -> None:
        if self._status == "starting" and self._latest is None:  # refused before its first frame
            self._status, self._error = "error", message
            self._show_result()
            self._sync_buttons()

    # ------------------------------------------------------------------ polling and rendering
    def _poll(self) -> None:
        upd = self._win.worker.latest_ais()
        if upd is None or upd is self._latest or self._token == 0 or upd.token < self._token:
            return
        if upd.token <= self._stale_upto:
            return
        self._token = upd.token  # a StartAIS sent by someone else counts too
        self._latest = upd
        self._status = upd.status
        self._sync_buttons()
        if self.isVisible():
            self._render(upd)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._latest is not None and self._latest is not self._shown:
            self._render(self._latest)

    def _render(self, upd) -> None:
        self._shown = upd
        f, bg = upd.frame, upd.background
        self.density.set_frame(f, bg)
        self.weights.set_frame(f)
        self.stats_label.setText(self._stats_html(f))
        self.path.set_history(upd.history)
        self.path.set_exact(bg)
        self._show_result()

    def _stats_html(self, f) -> str:
        n = len(f.log_w)
        ess = f"{_num(f.ess, '.0f')} / {n}" + (f"  ({100 * f.ess / n:.0f}%)" if n and math.isfinite(f.ess) else "")
        acc = f"{100 * f.acceptance:.0f}%" if math.isfinite(f.acceptance) else "—"
        if f.result is not None:  # the last block may have no kernel steps: show the run's mean
            a = f.result.trace.acceptance_beta
            a = a[np.isfinite(a)]
            acc = f"{100 * float(a.mean()):.0f}% (mean)" if a.size else acc
        sep = f"<span style='color:{theme.MUTED}'>&nbsp;&nbsp;·&nbsp;&nbsp;</span>"
        rows = [
            [("ESS / N", ess)],
            [("acceptance", acc), ("dropped", str(f.n_dropped))],
            [("β", _num(f.beta)), ("temperature", f"{f.index} / {f.n_temps}")],
            [("log Z_β", f"{_num(f.log_z)} ± {_num(f.stderr)}")],
        ]
        cells = "".join(
            "<tr>"
            + sep.join(f"<span style='color:{theme.MUTED}'>{k}</span>&nbsp;&nbsp;{v}" for k, v in row).join(
                ("<td>", "</td>")
            )
            + "</tr>"
            for row in rows
        )
        return f"<table cellspacing='2'>{cells}</table>"

    def _show_result(self) -> None:
        upd, st = self._latest, self._status
        res = None if upd is None else upd.frame.result
        warnings, detail, color = "", "", theme.FG
        if res is not None and st == "done":
            est, bg = res.estimate, upd.background
            exact = est.exact_log_z if est.exact_log_z is not None else bg.exact_log_z
            parts = [f"AIS log Z = {est.log_z:.4f} ± {est.stderr:.4f} (1 SE)"]
            if exact is not None:
                parts.append(f"exact {exact:.4f}")
            if upd.reverse is not None:
                parts.append(f"reverse AIS {upd.reverse.log_z:.4f} ± {upd.reverse.stderr:.4f}")
            text = "     ".join(p.replace(" ", NBSP) for p in parts)  # wrap between the parts only
            if exact is not None and est.stderr > 0:
                err = est.log_z - exact
                detail = f"error {err:+.4f} = {err / est.stderr:+.1f} SE   ·   "
            detail += f"{est.n} particles, {upd.frame.n_temps} temperatures, {res.seconds:.1f} s"
            if upd.warnings:
                warnings = "\n".join(f"⚠ {w}" for w in upd.warnings)
            else:
                warnings, color = f"no warnings: ESS {est.ess:.0f} of {est.n}", OK_COLOR
            self.result_plot.set_result(est, upd.reverse, exact)
        elif st == "error":
            text, warnings = "AIS failed", (upd.message if upd is not None and upd.message else self._error) or ""
        elif st == "stopped":
            text = "AIS stopped" + (f" at β = {upd.frame.beta:.4f}" if upd is not None else "")
            detail = "press Run to start again"
        elif st in ("running", "paused", "starting"):
            text = "AIS " + ("paused" if st == "paused" else "running…")
            if upd is not None:
                f = upd.frame
                text += "     " + f"log Z_β = {_num(f.log_z)} ± {_num(f.stderr)}".replace(" ", NBSP)
            detail = "the estimate of log Z is the value at β = 1"
        else:
            text = "Press Run AIS to estimate log Z by annealed importance sampling"
            detail = "particles start from the base q (β = 0) and are annealed to p = exp(-E) / Z (β = 1)"
        self.result_plot.widget.setVisible(res is not None and st == "done")
        self.result_label.setText(text)
        _paint(self.result_label, theme.FG if st != "error" else WARN_COLOR)
        self.detail_label.setText(detail)
        self.detail_label.setVisible(bool(detail))
        self.warnings_label.setText(warnings)
        self.warnings_label.setVisible(bool(warnings))
        _paint(self.warnings_label, WARN_COLOR if color == theme.FG else color)

    def _sync_buttons(self) -> None:
        st = self._status
        active = st in ("starting", "running", "paused")
        self.play_button.setEnabled(active)
        self.step_button.setEnabled(active)
        self.stop_button.setEnabled(active)
        self.play_button.setText("Play" if st == "paused" else "Pause")
        f = None if self._latest is None else self._latest.frame
        where = "" if f is None else f"   ·   temperature {f.index} / {f.n_temps}"
        self.state_label.setText(f"{st}{where}")
