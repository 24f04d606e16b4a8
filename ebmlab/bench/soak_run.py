"""`ebmlab bench --soak MINUTES`: play a preset (the default one) in an offscreen window, sampling every 10 s of
play and pausing now and then for a reference probe; the criteria are in soak.py."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from .soak import (
    INTERVAL,
    PROBE_SECONDS,
    WATCHDOG_SLACK_S,
    Check,
    Probe,
    Sample,
    as_json,
    evaluate,
    probe_every,
    refcounts,
    render_checks,
    render_probes,
    render_samples,
    rss_mb,
    sample_line,
)


class Player:
    """Play time of a window that is paused for probes: `t()` counts seconds of play only, from the first
    `resume()`; `resume()` waits until the run plays and warms up for `warm` s before the clock runs again."""

    def __init__(self, w, warm: float = 0.5):
        self.w, self.warm = w, warm
        self.played = 0.0
        self.since: float | None = None

    def t(self) -> float:
        return self.played + (time.perf_counter() - self.since if self.since is not None else 0.0)

    def resume(self) -> None:
        from .gui_rows import spin

        self.w.play()
        spin(self.warm)  # the first landscape and snapshot after a pause are not the steady state
        self.since = time.perf_counter()

    def pause(self) -> None:
        self.played = self.t()
        self.since = None
        self.w.pause()


def collect(
    minutes: float, interval: float = INTERVAL, preset=None, out=sys.stdout, probe_seconds: float = PROBE_SECONDS
) -> tuple[list[Check], list[Sample], list[Probe]]:
    """Play `preset` (default: the bundled default) for `minutes` of play, a sample every `interval` s and, with
    `probe_seconds` > 0, a reference probe that long every `probe_every(total, interval)` s; progress lines go to
    `out` (None: silent). Returns (checks, samples, probes); checks[0] says whether the run played throughout."""
    import torch

    from ..gui.main_window import default_preset_path
    from .gui_rows import Window, spin
    from .machine_probe import MachineProbe
    from .proc_stats import Meter

    torch.set_num_threads(1)
    total = max(minutes * 60.0, 3 * interval)
    every = probe_every(total, interval)
    reference = MachineProbe(preset or default_preset_path()) if probe_seconds > 0 else None
    samples: list[Sample] = []
    seen: list[Probe] = []
    stopped = None
    try:
        with Window(preset) as w:
            qpa = os.environ.get("QT_QPA_PLATFORM", "")
            probing = f", a {probe_seconds:g} s reference probe every {every:g} s" if reference else ""
            say(out, f"soak: {w.win.experiment.name!r} in the window (offscreen, Qt {qpa}) for {total / 60:.1f} min "
                f"of play, a sample every {interval:g} s{probing}")  # fmt: skip
            meter = Meter(w.win.worker.native_thread_id, threading.get_native_id())
            clock = Player(w)
            clock.resume()
            meter.reset()
            prev_t, prev_steps, prev_frames = time.perf_counter(), w.step_count(), w.frames
            next_probe = every
            while (len(samples) + 1) * interval <= total + 1e-6:
                spin(max(0.0, (len(samples) + 1) * interval - clock.t()))
                now, steps, frames = time.perf_counter(), w.step_count(), w.frames
                dt = now - prev_t
                rates = (steps - prev_steps) / dt, (frames - prev_frames) / dt
                s = Sample((len(samples) + 1) * interval, steps, *rates, rss_mb(), *refcounts(), *meter.read())
                samples.append(s)
                say(out, sample_line(s))
                snap = w.win._shown_snapshot
                if snap is not None and snap.status != "running":
                    stopped = f"the run stopped at step {snap.step}: {snap.status} {snap.message or ''}".rstrip()
                    say(out, f"  {stopped}")
                    break
                if reference is not None and s.t >= next_probe - 1e-6:
                    clock.pause()
                    seen.append(Probe(s.t, reference.run(probe_seconds)))
                    say(out, f"  reference probe after t={s.t:.0f} s: {seen[-1].steps_per_s:.1f} steps/s")
                    next_probe += every
                    if (len(samples) + 1) * interval <= total + 1e-6:
                        clock.resume()
                    meter.reset()
                    prev_t, prev_steps, prev_frames = time.perf_counter(), w.step_count(), w.frames
                else:
                    prev_t, prev_steps, prev_frames = now, steps, frames
    finally:
        if reference is not None:
            reference.close()
    checks = evaluate(samples, total, seen)
    checks.insert(0, Check("run", stopped or "played throughout", "plays throughout", stopped is None))
    return checks, samples, seen


def say(out, text: str) -> None:
    if out is not None:
        print(text, file=out, flush=True)


def run_soak(minutes: float, interval: float = INTERVAL, preset=None, as_json_out: bool = False) -> int:
    """`ebmlab bench --soak MINUTES [--json]`: print the samples, probes and verdict (with --json: progress on
    stderr, one JSON document on stdout). 0 when every criterion holds, else 1."""
    import faulthandler

    # A hung window (a deadlock) prints every thread's stack and exits instead of running forever.
    faulthandler.dump_traceback_later(minutes * 60 * 1.5 + WATCHDOG_SLACK_S, exit=True)
    try:
        checks, samples, probes = collect(minutes, interval, preset, out=sys.stderr if as_json_out else sys.stdout)
    finally:
        faulthandler.cancel_dump_traceback_later()
    ok = all(c.ok for c in checks)
    if as_json_out:
        print(json.dumps(as_json(samples, probes, checks, minutes), indent=1, default=str))
        return 0 if ok else 1
    print()
    print(render_samples(samples))
    print()
    print(render_probes(probes))
    print()
    print(render_checks(checks))
    print(f"\nsoak {'passed' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1
