"""The soak's live run, shortened: the window plays, pauses for reference probes, and resumes."""

import sys

import pytest

from ebmlab.bench.soak_run import collect
from ebmlab.gui.worker import FLAT_OUT_HZ


@pytest.fixture
def keep_switch_interval():
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_a_short_soak_plays_pauses_for_probes_and_counts_play_time_only(keep_switch_interval):
    checks, samples, probes = collect(0.05, interval=1.0, out=None, probe_seconds=0.3)
    assert checks[0].name == "run" and checks[0].ok, checks[0].value
    assert len(samples) == 3 and len(probes) == 3  # a probe after every sample of a short run
    assert [s.t for s in samples] == [1.0, 2.0, 3.0] and [p.t for p in probes] == [1.0, 2.0, 3.0]
    # Intervals are seconds of play: the probes (0.3 s each, plus the pause) are not in them, so the window
    # drew at its full rate in each: FLAT_OUT_HZ at max speed (a probe counted in would show ~1/3 fewer).
    assert all(s.frames_per_s > 0.75 * FLAT_OUT_HZ for s in samples), [s.frames_per_s for s in samples]
    assert samples[0].steps > 0 and samples[-1].steps > samples[0].steps
    assert all(p.steps_per_s > 0 for p in probes)
    steps = next(c for c in checks if c.name == "steps/s")
    assert steps.value.startswith("window/reference"), steps.value
    if sys.platform.startswith("linux"):
        assert all(s.worker_cpu > 0.05 for s in samples)  # the worker trains while the window plays
