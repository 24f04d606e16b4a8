"""Found by hostile input (issue 16, section 4, items 1-2): painted points with labels, and numbers that are
finite in float64 but beyond float32 (1e300), must either load and train or be refused with a message
naming the field (or the file, row and column) -- never a traceback, a RuntimeWarning or a run dead at step 0."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from ebmlab.config.presets import BUNDLED_DIR, load_preset, save_preset
from ebmlab.core.data import load_points, points_from_list
from ebmlab.core.datasources import PointsData
from ebmlab.core.errors import ConfigError, DataError
from ebmlab.core.trainer import Trainer

PTS = [[0.1 * i - 0.5, 0.05 * i] for i in range(10)]
LABELS = [i % 2 for i in range(10)]


def classifier_preset(data: dict) -> dict:
    """Lesson 10 (a JEM classifier), shrunk, with the given data section."""
    raw = json.loads((BUNDLED_DIR / "10_classifier_is_an_ebm.json").read_text("utf-8"))
    raw["chains"]["n"] = 8
    raw["estimator"]["n_chains"] = 8
    raw["training"]["eval_every"] = 1000
    raw["data"] = data
    return raw


def write(tmp_path: Path, raw: dict, name: str = "p.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(raw))
    return p


def build(path: Path) -> Trainer:
    """load_preset + Trainer, the way the window and `ebmlab run` do, with warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_preset(path)
        return Trainer(loaded.experiment, loaded.weights, loaded.resolve)


def with_label(i: int, value) -> list:
    out = copy.deepcopy(LABELS)
    out[i] = value
    return out


# (case, data section, the field the refusal names, a word of the reason)
REFUSED = [
    ("a float label", {"points": PTS, "labels": with_label(3, 0.5)}, "data.labels[3]", "integer"),
    ("a string label", {"points": PTS, "labels": with_label(3, "1")}, "data.labels[3]", "integer"),
    ("a nested label", {"points": PTS, "labels": with_label(3, [1])}, "data.labels[3]", "integer"),
    ("a bool label", {"points": PTS, "labels": with_label(3, True)}, "data.labels[3]", "integer"),
    ("a negative label", {"points": PTS, "labels": with_label(3, -1)}, "data.labels[3]", "class label from 0"),
    ("a huge int label", {"points": PTS, "labels": with_label(3, 10**30)}, "data.labels[3]", "class label from 0"),
    ("2**63 as a label", {"points": PTS, "labels": with_label(3, 2**63)}, "data.labels[3]", "class label from 0"),
    ("2**62 as a label", {"points": PTS, "labels": with_label(3, 2**62)}, "data.labels[3]", "class label from 0"),
    ("1e20 as a label", {"points": PTS, "labels": with_label(3, 1e20)}, "data.labels[3]", "class label from 0"),
    ("1e308 as a label", {"points": PTS, "labels": with_label(3, 1e308)}, "data.labels[3]", "class label from 0"),
    ("labels without points", {"labels": [0, 1, 0]}, "data.labels", "3 labels for 0 points"),
    ("too few labels", {"points": PTS, "labels": [0, 1]}, "data.labels", "2 labels for 10 points"),
    ("too many labels", {"points": PTS[:3], "labels": LABELS}, "data.labels", "10 labels for 3 points"),
    ("no labels at all", {"points": PTS, "labels": []}, "data.labels", "0 labels for 10 points"),
    ("labels as a string", {"points": PTS, "labels": "0101010101"}, "data.labels", "list"),
    ("labels as an object", {"points": PTS, "labels": {"0": 1}}, "data.labels", "list"),
    ("points as a string", {"points": "0,0;1,1", "labels": [0, 1]}, "data.points", "list"),
    ("points as strings", {"points": ["0,0", "1,1"], "labels": [0, 1]}, "data.points[0]", "list"),
]


def test_hostile_labels_are_refused_when_the_preset_is_read_naming_the_field(tmp_path: Path) -> None:
    """Today some raised OverflowError in build_data (huge ints), some loaded and died at step 1 (negative),
    some were refused only by the Trainer without naming the field (labels without points)."""
    for case, data, field, reason in REFUSED:
        p = write(tmp_path, classifier_preset({"kind": "points", **data}))
        with pytest.raises(ConfigError) as info:
            load_preset(p)  # refused before anything is built, so the window marks the field
        msg = str(info.value)
        assert f"{field}:" in msg and reason in msg, f"{case}: {msg}"
        assert "Traceback" not in msg and len(msg) < 300, case


def test_labels_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"data\.labels\[1\]: must be an integer class label from 0 to \d+, got -3"):
        PointsData(points=[[0.0, 0.0], [1.0, 1.0]], labels=[0, np.int64(-3)])
    with pytest.raises(ConfigError, match=r"data\.labels\[0\]: must be an integer class label, got True"):
        PointsData(points=[[0.0, 0.0]], labels=[True])
    assert PointsData(points=[[0.0, 0.0], [1.0, 1.0]], labels=np.array([1, 0])).labels is not None


def test_valid_labelled_points_load_train_and_round_trip_through_a_saved_preset(tmp_path: Path) -> None:
    """The painter's save path (save_preset, as the window's worker calls it) writes points and labels that load
    back equal and train a JEM classifier on them. (A guard: this works on today's code too.)"""
    first = build(write(tmp_path, classifier_preset({"kind": "points", "points": PTS, "labels": LABELS}), "a.json"))
    for _ in range(3):
        assert first.step()
    saved = save_preset(first.exp, tmp_path / "saved.json", weights=first.weights())
    raw = json.loads(saved.read_text("utf-8"))
    assert raw["data"]["labels"] == LABELS and raw["data"]["points"] == PTS
    again = build(saved)
    assert again.dataset.labels.tolist() == LABELS and again.dataset.labels.dtype == np.int64
    for _ in range(3):
        assert again.step()
    assert again.status == "running" and again.snapshot().labels is not None


# ------------------------------------------------------------------------------------ beyond float32
def test_a_csv_value_beyond_float32_names_file_row_and_column(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_text("x,y\n0.5,1\n# a comment\n2,1e300\n3,4\n")
    with pytest.raises(DataError, match=r"big\.csv: row 4, column 2: 1e\+300 is too large; .*float32"):
        load_points(p, dim=2)
    p.write_text("x,y\n0,1\n-1e39,2\n")  # just beyond float32 (3.4e38)
    with pytest.raises(DataError, match=r"big\.csv: row 3, column 1: -1e\+39 is too large"):
        load_points(p, dim=2)
    p.write_text("x,y\n0,1\n-3.4e38,3.4e38\n")  # still a float32
    assert load_points(p, dim=2).shape == (2, 2)


def test_an_npy_value_beyond_float32_names_file_row_and_column(tmp_path: Path) -> None:
    arr = np.zeros((5, 2))
    arr[2, 1] = 1e300
    arr[4, 0] = -1e300
    np.save(tmp_path / "big.npy", arr)
    with pytest.raises(DataError, match=r"big\.npy: row 3, column 2: 1e\+300 is too large \(2 values are\)"):
        load_points(tmp_path / "big.npy", dim=2)


def test_listed_points_beyond_float32_name_the_point_and_coordinate() -> None:
    with pytest.raises(DataError, match=r"data\.points: point 2, coordinate 1 is 1e\+300, too large"):
        points_from_list([[0, 0], [1e300, 0]], 2, where="data.points")
    with pytest.raises(DataError, match=r"point 1, coordinate 2 is an integer beyond any float, too large"):
        points_from_list([[0, 10**400]], 2)


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"kind": "file", "path": "big.csv"}, r"big\.csv: row 3, column 1: 1e\+300 is too large"),
        ({"kind": "points", "points": [[0, 0], [1e300, 1], [1, 1]]}, r"data\.points: point 2, coordinate 1"),
        ({"kind": "toy", "name": "two_moons", "n": 100, "noise": 1e300}, r"data \(toy set 'two_moons'.*float32"),
    ],
    ids=["csv", "points", "toy-noise"],
)
def test_data_beyond_float32_is_refused_before_the_run_starts(tmp_path: Path, data: dict, expected: str) -> None:
    """Today: RuntimeWarning 'overflow encountered in cast' in the Trainer, and the run stopped at step 0."""
    (tmp_path / "big.csv").write_text("x,y\n0,1\n1e300,2\n3,4\n")
    raw = classifier_preset(data)
    with pytest.raises(DataError, match=expected):
        build(write(tmp_path, raw))


def test_a_box_beyond_float32_is_refused_naming_the_field(tmp_path: Path) -> None:
    raw = classifier_preset({"kind": "points", "points": PTS})
    raw["model"]["box"] = [[-1e300, 1e300]]
    with pytest.raises(ConfigError, match=r"model\.box\[0\]: must lie within ±3\.403e\+38 \(the float32 range\)"):
        build(write(tmp_path, raw))
