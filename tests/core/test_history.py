"""Bounded metric series: decimation keeps the curve's shape, copies are independent."""

import numpy as np

from ebmlab.core.history import History, Series


def test_series_keeps_every_point_until_the_cap_then_halves_resolution():
    s = Series(cap=8)
    for k in range(7):
        s.append(k, 10.0 * k)
    assert s.steps.tolist() == list(range(7)) and s.stride == 1
    s.append(7, 70.0)  # reaching the cap drops every other point and doubles the stride
    assert s.steps.tolist() == [0, 2, 4, 6] and s.values.tolist() == [0, 20, 40, 60] and s.stride == 2
    for k in range(8, 12):
        s.append(k, 10.0 * k)
    assert s.steps.tolist() == [0, 2, 4, 6, 9, 11]


def test_long_runs_stay_bounded_and_monotone():
    s = Series(cap=4000)
    for k in range(1_000_000):
        s.append(k, float(k))
    assert len(s) < 4000 and np.all(np.diff(s.steps) > 0) and s.steps[0] == 0
    assert np.array_equal(s.values, s.steps.astype(float))


def test_arrays_are_copies_and_errors_travel_with_points():
    h = History(cap=100)
    h.add("logz_estimate", 10, 2.5, 0.1)
    h.add("logz_estimate", 20, 2.4, None)
    steps, values, errors = h.export()["logz_estimate"]
    steps[0] = 99
    assert h.series["logz_estimate"].steps[0] == 10
    assert values.tolist() == [2.5, 2.4] and errors[0] == 0.1 and np.isnan(errors[1])
    h.add("loss", 10, 1.0)
    rows = h.rows()
    assert rows[0] == {"step": 10, "logz_estimate": 2.5, "logz_estimate_stderr": 0.1, "loss": 1.0}
