"""`ebmlab bench --soak MINUTES`: a live run of the default preset in the window (offscreen), sampled every 10 s.

Each sample: training steps/s and frames/s over the last interval, the process's resident memory, and the
reference counts of None / True / False (a Qt binding that drops references to them aborts the interpreter
after a while). Pass criteria, each on medians of samples so that one noisy interval on a shared machine
cannot decide them:
- steps/s: the median of every later window stays within 10% below the first minute's median. Windows are
  five minutes in runs of 10 minutes or more, else minutes (runs under 3 minutes: the last third against
  the first third). Why five: on a 2-vCPU machine the window's steps/s has a sample SD of ~7% with one- to
  two-minute dips of up to -13% while nothing drawn changed, and a headless run beside a busy process on
  the other vCPU varied by 15%: single minutes measure the machine. Thirty samples average the dips out;
  a slowdown that persists (a leak, subnormal floats building up: -10% over 25k steps) is still caught.
  The per-minute worst is printed beside the verdict;
- memory: grows < 50 MB after the first minute (warm-up): the largest later sample against the first
  minute's last sample (runs under 3 minutes: against the end of the first third);
- frames/s: the median over all samples > 30, as the window draws;
- refcounts: never fall: the lowest later sample of None, True and False is not below the first sample
  by more than REFCOUNT_SLACK (ordinary objects come and go; the binding bug loses thousands a second).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

INTERVAL = 10.0
STEPS_TOLERANCE = 0.10
MEMORY_GROWTH_MB = 50.0
MIN_FPS = 30.0
REFCOUNT_SLACK = 1000
LONG_RUN = 600.0  # s: runs this long compare five-minute windows against the first minute
LONG_WINDOW = 300.0
WATCHDOG_SLACK_S = 180  # start-up and close on a slow machine, beyond the run itself


@dataclass
class Sample:
    t: float  # seconds since the run started playing
    steps: int
    steps_per_s: float
    frames_per_s: float
    rss_mb: float
    none: int
    true: int
    false: int


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc/self/statm; elsewhere the peak from resource)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def refcounts() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


@dataclass
class Check:
    name: str
    value: str
    target: str
    ok: bool


def windows(samples: list[Sample], total: float) -> tuple[list[Sample], list[list[Sample]]]:
    """(the first minute, the later windows): later windows of `later_span(total)` s for runs of 3 minutes or
    more; for shorter runs the first and the last third."""
    if total >= 180:
        first = [s for s in samples if s.t <= 60.0 + 1e-6]
        return first, spans(samples, total, later_span(total))
    span = total / 3
    first = [s for s in samples if s.t <= span + 1e-6]
    last = [s for s in samples if s.t > 2 * span + 1e-6]
    return first, [last] if last else []


def later_span(total: float) -> float:
    return LONG_WINDOW if total >= LONG_RUN else 60.0


def spans(samples: list[Sample], total: float, span: float) -> list[list[Sample]]:
    """Samples after the first minute, in consecutive windows of `span` s (the last may be shorter)."""
    out: list[list[Sample]] = []
    start = 60.0
    while start < total - 1e-6:
        w = [s for s in samples if start < s.t <= start + span + 1e-6]
        if w:
            out.append(w)
        start += span
    return out


def evaluate(samples: list[Sample], total: float) -> list[Check]:
    first, later = windows(samples, total)
    checks: list[Check] = []
    ref_label = "first minute" if total >= 180 else "first third"
    if not first or not later:
        return [Check("samples", str(len(samples)), "enough for a first and a later window", False)]
    ref = float(np.median([s.steps_per_s for s in first]))
    meds = [float(np.median([s.steps_per_s for s in w])) for w in later]
    worst = min(meds)
    long_run = total >= LONG_RUN
    unit = f"{LONG_WINDOW / 60:g}-minute windows" if long_run else "later"
    value = f"{ref_label} {ref:.1f}; {unit} {', '.join(f'{m:.1f}' for m in meds)} (worst {worst / ref - 1:+.1%})"
    if long_run:
        minutes = [float(np.median([s.steps_per_s for s in w])) for w in spans(samples, total, 60.0)]
        value += f"; single minutes {min(minutes) / ref - 1:+.1%} to {max(minutes) / ref - 1:+.1%}"
    checks.append(
        Check(
            "steps/s",
            value,
            f"each >= {1 - STEPS_TOLERANCE:.0%} of the {ref_label}",
            worst >= (1 - STEPS_TOLERANCE) * ref,
        )
    )
    base = first[-1].rss_mb
    peak = max(s.rss_mb for w in later for s in w)
    checks.append(
        Check(
            "memory",
            f"{base:.0f} MB after the {ref_label}, peak {peak:.0f} MB later ({peak - base:+.1f} MB)",
            f"< +{MEMORY_GROWTH_MB:.0f} MB",
            peak - base < MEMORY_GROWTH_MB,
        )
    )
    fps = [s.frames_per_s for s in samples]
    med_fps = float(np.median(fps))
    checks.append(
        Check("frames/s", f"median {med_fps:.1f} (min {min(fps):.1f})", f"median > {MIN_FPS:.0f}", med_fps > MIN_FPS)
    )
    for name in ("none", "true", "false"):
        start = getattr(samples[0], name)
        low = min(getattr(s, name) for s in samples)
        end = getattr(samples[-1], name)
        checks.append(
            Check(
                f"refcount {name.capitalize()}",
                f"{start} at start, lowest {low}, {end} at the end",
                f"lowest >= start - {REFCOUNT_SLACK}",
                low >= start - REFCOUNT_SLACK,
            )
        )
    return checks


def render_samples(samples: list[Sample]) -> str:
    head = ["t (s)", "steps", "steps/s", "frames/s", "RSS (MB)", "refs None", "refs True", "refs False"]
    body = [
        [
            f"{s.t:.0f}",
            str(s.steps),
            f"{s.steps_per_s:.1f}",
            f"{s.frames_per_s:.1f}",
            f"{s.rss_mb:.1f}",
            str(s.none),
            str(s.true),
            str(s.false),
        ]
        for s in samples
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(x.rjust(w) for x, w in zip(line, widths)) for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_checks(checks: list[Check]) -> str:
    head = ["criterion", "measured", "target", "ok"]
    body = [[c.name, c.value, c.target, "yes" if c.ok else "NO"] for c in checks]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def collect(minutes: float, interval: float = INTERVAL, preset=None, echo: bool = True) -> tuple[list[Check], list]:
    """Play a preset (the default one) in an offscreen window for `minutes`, sampling every `interval` s.
    Returns (checks, samples); checks[0] says whether the run played throughout."""
    import torch

    from .gui_rows import Window, spin

    torch.set_num_threads(1)
    total = max(minutes * 60.0, 3 * interval)
    with Window(preset) as w:
        name = w.win.experiment.name
        if echo:
            print(
                f"soak: {name!r} in the window (offscreen, Qt {os.environ.get('QT_QPA_PLATFORM', '')}) for "
                f"{total / 60:.1f} min, a sample every {interval:g} s",
                flush=True,
            )
        w.play()
        samples: list[Sample] = []
        stopped = None
        t_start = time.perf_counter()
        prev_t, prev_steps, prev_frames = t_start, w.step_count(), w.frames
        while True:
            now = time.perf_counter()
            next_at = t_start + (len(samples) + 1) * interval
            if next_at > t_start + total + 1e-6:
                break
            spin(max(0.0, next_at - now))
            now, steps, frames = time.perf_counter(), w.step_count(), w.frames
            dt = now - prev_t
            s = Sample(
                now - t_start,
                steps,
                (steps - prev_steps) / dt,
                (frames - prev_frames) / dt,
                rss_mb(),
                *refcounts(),
            )
            samples.append(s)
            prev_t, prev_steps, prev_frames = now, steps, frames
            snap = w.win._shown_snapshot
            if echo:
                print(
                    f"  t={s.t:5.0f} s  step {s.steps:7d}  {s.steps_per_s:6.1f} steps/s  {s.frames_per_s:5.1f} "
                    f"frames/s  RSS {s.rss_mb:7.1f} MB  refs None/True/False {s.none}/{s.true}/{s.false}",
                    flush=True,
                )
            if snap is not None and snap.status != "running":
                stopped = f"the run stopped at step {snap.step}: {snap.status} {snap.message or ''}".rstrip()
                if echo:
                    print(f"  {stopped}", flush=True)
                break
    checks = evaluate(samples, total)
    checks.insert(0, Check("run", stopped or "played throughout", "plays throughout", stopped is None))
    return checks, samples


def run_soak(minutes: float, interval: float = INTERVAL, preset=None) -> int:
    """`ebmlab bench --soak MINUTES`: print the samples and the verdict. 0 when every criterion holds, else 1."""
    import faulthandler

    # A hung window (a deadlock) prints every thread's stack and exits instead of running forever.
    faulthandler.dump_traceback_later(minutes * 60 + WATCHDOG_SLACK_S, exit=True)
    try:
        checks, samples = collect(minutes, interval, preset)
    finally:
        faulthandler.cancel_dump_traceback_later()
    print()
    print(render_samples(samples))
    print()
    print(render_checks(checks))
    ok = all(c.ok for c in checks)
    print(f"\nsoak {'passed' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1
