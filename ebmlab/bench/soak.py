"""The soak's samples and pass criteria (`ebmlab bench --soak MINUTES`; the run itself is in soak_run.py).

A sample every 10 s of play: training steps/s and frames/s over the interval, the process's resident memory,
the reference counts of None / True / False (a Qt binding that drops references to them aborts the
interpreter after a while), and where the time went (worker and GUI thread CPU, the worker's run-queue wait,
the machine's steal time). After every sample (every 30 s in runs of 3 minutes or more) the window pauses
for a reference probe: the same preset trained by a plain loop in a separate process for a few seconds
(machine_probe.py).

Pass criteria, each on medians so that one noisy interval on a shared machine cannot decide them:
- steps/s: in every later window, the window's speed relative to the machine's, median(window steps/s) /
  median(reference steps/s) of the probes in that window, stays within 10% below the first minute's. Windows
  are five minutes in runs of 10 minutes or more, else minutes (runs under 3 minutes: the last third against
  the first third). Why relative: on this 2-vCPU VM the plain loop alone swings by 10-15% over minutes as
  other guests come and go, as large as the limit, and single minutes of the window dip by up to 13% while
  nothing drawn changes. The probe, run in a fresh process beside the window's pauses, divides that out;
  a window that slows down by itself (a leak, growing per-step work, subnormal floats building up, a
  collector slowed by a filling heap) still fails. The raw steps/s drift is printed beside the verdict.
  Without probes (synthetic samples) the raw steps/s are judged;
- memory: grows < 50 MB after the first minute (warm-up): the largest later sample against the first
  minute's last sample (runs under 3 minutes: against the end of the first third);
- frames/s: the median over all samples > 18, as the window draws (at max speed it aims at 20 Hz, leaving
  the CPU to training; at a chosen speed at 33 Hz);
- refcounts: never fall: the lowest later sample of None, True and False is not below the first sample
  by more than REFCOUNT_SLACK (ordinary objects come and go; the binding bug loses thousands a second).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict, dataclass

import numpy as np

INTERVAL = 10.0
STEPS_TOLERANCE = 0.10
MEMORY_GROWTH_MB = 50.0
MIN_FPS = 18.0  # the soak trains at max speed, where the window draws at FLAT_OUT_HZ = 20 (gui/worker.py)
REFCOUNT_SLACK = 1000
LONG_RUN = 600.0  # s: runs this long compare five-minute windows against the first minute
LONG_WINDOW = 300.0
SHORT_RUN = 180.0  # s: shorter runs compare thirds
PROBE_SECONDS = 3.0
WATCHDOG_SLACK_S = 180  # start-up and close on a slow machine, beyond the run itself
NAN = float("nan")


@dataclass
class Sample:
    t: float  # the sample's nominal time: k * interval seconds of play (reference probes excluded)
    steps: int
    steps_per_s: float
    frames_per_s: float
    rss_mb: float
    none: int
    true: int
    false: int
    worker_cpu: float = NAN  # seconds per second: 1.0 = one vCPU busy all the interval
    worker_wait: float = NAN  # the worker's run-queue wait (runnable, no vCPU free)
    gui_cpu: float = NAN
    steal: float = NAN  # vCPU time the hypervisor gave to other guests, summed over vCPUs


@dataclass
class Probe:
    t: float  # seconds of play before the probe
    steps_per_s: float  # the plain loop in a separate process, the window paused


def probe_every(total: float, interval: float = INTERVAL) -> float:
    """Seconds of play between reference probes, a whole number of sample intervals: about 30 s in runs of
    3 minutes or more, else a probe after every sample."""
    return max(1, round(30.0 / interval)) * interval if total >= SHORT_RUN else interval


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


def spans(total: float) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """(first, later) windows as (start, end] in seconds of play. Runs of 3 minutes or more: the first minute,
    then windows of `later_span(total)` s (the last may be shorter); shorter runs: the first and last third."""
    if total < SHORT_RUN:
        third = total / 3
        return (0.0, third), [(2 * third, total)]
    return (0.0, 60.0), consecutive(60.0, total, later_span(total))


def consecutive(start: float, total: float, span: float) -> list[tuple[float, float]]:
    out = []
    while start < total - 1e-6:
        out.append((start, min(start + span, total)))
        start += span
    return out


def later_span(total: float) -> float:
    return LONG_WINDOW if total >= LONG_RUN else 60.0


def inside(items: list, span: tuple[float, float]) -> list:
    lo, hi = span
    return [x for x in items if lo + 1e-6 < x.t <= hi + 1e-6]


def median_rate(items: list) -> float:
    rates = [x.steps_per_s for x in items]
    return float(np.median(rates)) if rates else NAN


def steps_check(samples: list[Sample], probes: list[Probe], total: float) -> Check:
    """The steps/s criterion (see the module docstring): relative to the reference probes when every window
    has one, else raw."""
    first, later = spans(total)
    first_label = "first minute" if total >= SHORT_RUN else "first third"
    raw = [median_rate(inside(samples, w)) for w in [first, *later]]
    ref = [median_rate(inside(probes, w)) for w in [first, *later]]
    raw_drift = min(raw[1:]) / raw[0] - 1
    unit = f"{LONG_WINDOW / 60:g}-minute windows" if total >= LONG_RUN else "later"
    raw_text = (
        f"steps/s: {first_label} {raw[0]:.1f}; {unit} {', '.join(f'{r:.1f}' for r in raw[1:])} (worst {raw_drift:+.1%})"
    )
    if total >= LONG_RUN:
        minutes = [median_rate(inside(samples, w)) for w in consecutive(60.0, total, 60.0)]
        minutes = [m for m in minutes if not math.isnan(m)]
        raw_text += f"; single minutes {min(minutes) / raw[0] - 1:+.1%} to {max(minutes) / raw[0] - 1:+.1%}"
    target = f"each >= {1 - STEPS_TOLERANCE:.0%} of the {first_label}"
    if not any(math.isnan(r) for r in ref):
        rel = [a / b for a, b in zip(raw, ref)]
        drift = min(rel[1:]) / rel[0] - 1
        ref_drift = min(ref[1:]) / ref[0] - 1
        value = (
            f"window/reference: {first_label} {rel[0]:.3f}; {unit} {', '.join(f'{r:.3f}' for r in rel[1:])} "
            f"(worst {drift:+.1%}). Reference (plain loop, {len(probes)} probes) steps/s: {first_label} "
            f"{ref[0]:.1f}; {unit} {', '.join(f'{r:.1f}' for r in ref[1:])} (worst {ref_drift:+.1%}). Raw {raw_text}"
        )
        return Check("steps/s", value, f"window/reference {target}", drift >= -STEPS_TOLERANCE)
    return Check("steps/s", f"raw (no reference probes) {raw_text}", target, raw_drift >= -STEPS_TOLERANCE)


def evaluate(samples: list[Sample], total: float, probes: list[Probe] | None = None) -> list[Check]:
    first, later = spans(total)
    first_label = "first minute" if total >= SHORT_RUN else "first third"
    if not inside(samples, first) or not all(inside(samples, w) for w in later):
        return [Check("samples", str(len(samples)), "samples in the first and every later window", False)]
    checks = [steps_check(samples, probes or [], total)]
    base = inside(samples, first)[-1].rss_mb
    peak = max(s.rss_mb for w in later for s in inside(samples, w))
    checks.append(
        Check(
            "memory",
            f"{base:.0f} MB after the {first_label}, peak {peak:.0f} MB later ({peak - base:+.1f} MB)",
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


def table(head: list[str], body: list[list[str]], right: bool = True) -> str:
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    pad = str.rjust if right else str.ljust
    lines = ["  ".join(pad(x, w) for x, w in zip(line, widths)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_samples(samples: list[Sample]) -> str:
    head = ["t (s)", "steps", "steps/s", "frames/s", "RSS (MB)", "refs None", "refs True", "refs False",
            "worker CPU", "worker runq", "GUI CPU", "steal"]  # fmt: skip
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
            *(f"{x:.2f}" for x in (s.worker_cpu, s.worker_wait, s.gui_cpu, s.steal)),
        ]  # fmt: skip
        for s in samples
    ]
    return table(head, body)


def sample_line(s: Sample) -> str:
    """One progress line per sample."""
    return (
        f"  t={s.t:5.0f} s  step {s.steps:7d}  {s.steps_per_s:6.1f} steps/s  {s.frames_per_s:5.1f} frames/s  RSS "
        f"{s.rss_mb:7.1f} MB  refs None/True/False {s.none}/{s.true}/{s.false}  CPU worker {s.worker_cpu:.2f} "
        f"(runq {s.worker_wait:.2f}) GUI {s.gui_cpu:.2f} steal {s.steal:.2f}"
    )


def render_probes(probes: list[Probe]) -> str:
    return table(["after t (s)", "reference steps/s"], [[f"{p.t:.0f}", f"{p.steps_per_s:.1f}"] for p in probes])


def render_checks(checks: list[Check]) -> str:
    return table(["criterion", "measured", "target", "ok"],
                 [[c.name, c.value, c.target, "yes" if c.ok else "NO"] for c in checks], right=False)  # fmt: skip


def as_json(samples: list[Sample], probes: list[Probe], checks: list[Check], minutes: float) -> dict:
    """Everything the soak measured, for `ebmlab bench --soak N --json`."""
    return {
        "minutes": minutes,
        "passed": all(c.ok for c in checks),
        "checks": [asdict(c) for c in checks],
        "samples": [no_nan(asdict(s)) for s in samples],
        "probes": [asdict(p) for p in probes],
    }


def no_nan(d: dict) -> dict:
    """JSON has no NaN: figures that could not be measured (no /proc) become null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}
