"""The soak's pass criteria on synthetic samples (the live run itself is `ebmlab bench --soak`, outside pytest)."""

import json

from ebmlab.bench.soak import Probe, Sample, as_json, evaluate, probe_every


def series(minutes: float, sps=lambda t: 50.0, rss=lambda t: 400.0, fps=lambda t: 38.0, none=lambda t: 10_000):
    n = int(minutes * 6)
    return [
        Sample(10.0 * k, 500 * k, sps(10.0 * k), fps(10.0 * k), rss(10.0 * k), none(10.0 * k), 900, 800)
        for k in range(1, n + 1)
    ]


def verdict(samples, minutes):
    return {c.name: c.ok for c in evaluate(samples, minutes * 60)}


def test_a_steady_run_passes():
    for minutes in (2, 5):
        assert all(verdict(series(minutes), minutes).values())


def test_one_noisy_sample_does_not_decide():
    s = series(2, sps=lambda t: 10.0 if t == 110 else 50.0, fps=lambda t: 5.0 if t == 30 else 38.0)
    assert all(verdict(s, 2).values())


def test_a_slowdown_in_a_later_minute_fails():
    v = verdict(series(5, sps=lambda t: 40.0 if 180 < t <= 240 else 50.0), 5)
    assert not v["steps/s"]
    assert v["memory"] and v["frames/s"]


def test_a_short_run_compares_thirds():
    assert not verdict(series(2, sps=lambda t: 50.0 - 0.1 * t), 2)["steps/s"]  # 46 -> 39: -15%
    assert verdict(series(2, sps=lambda t: 50.0 - 0.02 * t), 2)["steps/s"]


def test_memory_growth_after_warm_up_fails_but_warm_up_is_free():
    assert verdict(series(3, rss=lambda t: 300.0 if t < 60 else 400.0), 3)["memory"]
    assert not verdict(series(3, rss=lambda t: 400.0 + 0.5 * t), 3)["memory"]


def test_slow_drawing_fails():
    assert not verdict(series(2, fps=lambda t: 15.0), 2)["frames/s"]  # below the 20 Hz aimed at flat out
    assert verdict(series(2, fps=lambda t: 19.8), 2)["frames/s"]


def test_falling_refcount_of_none_fails():
    v = verdict(series(2, none=lambda t: 10_000 - int(50 * t)), 2)
    assert not v["refcount None"] and v["refcount True"]


def minute_dips(t: float) -> float:
    """Steady 50 steps/s with two-minute dips to 43.5 (-13%) every eight minutes: the noise seen on 2 vCPUs."""
    return 43.5 if t > 60 and (t // 60) % 8 in (6, 7) else 50.0


def test_a_long_run_judges_five_minute_windows_and_reports_single_minutes():
    checks = {c.name: c for c in evaluate(series(30, sps=minute_dips), 1800)}
    assert checks["steps/s"].ok
    assert "5-minute windows" in checks["steps/s"].value
    assert "single minutes -13.0% to +0.0%" in checks["steps/s"].value


def test_a_long_run_that_stays_slower_fails():
    assert not verdict(series(30, sps=lambda t: 44.0 if t > 660 else 50.0), 30)["steps/s"]  # -12% from minute 11
    assert not verdict(series(30, sps=lambda t: 50.0 - 0.005 * t), 30)["steps/s"]  # a steady decline: -18% at the end


# -- judged against the reference probes (the plain loop in a separate process, the window paused) ----------------


def probes_for(minutes: float, ref=lambda t: 150.0, every: float = 10.0):
    return [Probe(every * k, ref(every * k)) for k in range(1, int(minutes * 60 / every) + 1)]


def test_a_machine_that_slows_down_does_not_fail_the_window():
    """Window and plain loop both 24% slower in the last third (measured on this VM: raw -24.4%, reference
    -23.3%): the window kept its speed relative to the machine."""
    slow = lambda t: 0.76 if t > 80 else 1.0  # noqa: E731
    samples = series(2, sps=lambda t: 100.0 * slow(t))
    checks = {c.name: c for c in evaluate(samples, 120, probes_for(2, ref=lambda t: 140.0 * slow(t)))}
    assert checks["steps/s"].ok
    assert "Raw steps/s: first third 100.0; later 76.0 (worst -24.0%)" in checks["steps/s"].value
    assert not verdict(samples, 2)["steps/s"]  # raw, without probes, it would fail


def test_a_window_that_slows_down_on_a_steady_machine_fails():
    samples = series(2, sps=lambda t: 85.0 if t > 80 else 100.0)
    check = evaluate(samples, 120, probes_for(2))[0]
    assert check.name == "steps/s" and not check.ok
    assert "worst -15.0%" in check.value


def test_a_window_slower_than_a_faster_machine_fails():
    """The machine got 20% faster but the window stayed put: relative to the machine it lost 17%."""
    samples = series(2)
    assert not evaluate(samples, 120, probes_for(2, ref=lambda t: 180.0 if t > 80 else 150.0))[0].ok


def test_a_long_run_judges_relative_five_minute_windows():
    samples = series(30, sps=lambda t: 44.0 if t > 660 else 50.0)
    assert evaluate(samples, 1800, probes_for(30, ref=lambda t: 132.0 if t > 660 else 150.0, every=30.0))[0].ok
    assert not evaluate(samples, 1800, probes_for(30, every=30.0))[0].ok


def test_a_window_without_a_probe_falls_back_to_raw_steps():
    samples = series(2, sps=lambda t: 85.0 if t > 80 else 100.0)
    check = evaluate(samples, 120, [Probe(10.0, 150.0)])[0]  # none in the last third
    assert not check.ok and check.value.startswith("raw (no reference probes)")


def test_probe_spacing():
    assert probe_every(120, 10) == 10  # short runs: after every sample, so each third has several
    assert probe_every(1800, 10) == 30
    assert probe_every(60, 5) == 5


def test_json_report_has_no_nan():
    samples = series(2)  # no /proc figures: NaN
    doc = json.loads(json.dumps(as_json(samples, probes_for(2), evaluate(samples, 120, probes_for(2)), 2)))
    assert doc["passed"] and doc["samples"][0]["worker_cpu"] is None and len(doc["probes"]) == 12
