"""Presets: validation messages with paths, round-trips, atomic saves, confined file references."""

import json
import os

import numpy as np
import pytest

from ebmlab.config.presets import PresetError, load_preset, resolve_inside, save_preset
from ebmlab.config.schema import experiment_from_dict, experiment_to_dict, parse_override, with_overrides
from ebmlab.core.errors import ConfigError

BASE = {
    "schema_version": 1,
    "name": "t",
    "seed": 3,
    "model": {"kind": "expression", "expression": "a*(x**2 + y**2 - r**2)**2", "params": {"a": 0.5, "r": 0.5}},
    "data": {"kind": "toy", "name": "rings", "n": 500},
    "estimator": {"name": "cd", "k": 5},
    "sampler": {"name": "mala", "step_size": 0.05},
}


def raw(**changes):
    d = json.loads(json.dumps(BASE))
    d.update(changes)
    return d


def problems(d):
    with pytest.raises(ConfigError) as e:
        experiment_from_dict(d)
    return e.value.problems


def test_round_trip_is_identity():
    exp = experiment_from_dict(raw())
    again = experiment_from_dict(json.loads(json.dumps(experiment_to_dict(exp))))
    assert again == exp
    assert exp.estimator.settings.k == 5 and exp.seed == 3


def test_every_problem_is_reported_with_its_path():
    d = raw(estimator={"name": "cd", "k": 0}, seed="x", bogus=1)
    d["sampler"]["step_size"] = -1.0
    d["optimiser"] = {"lr": "fast"}
    msgs = problems(d)
    assert "estimator.k: must be >= 1, got 0" in msgs
    assert any(m.startswith("sampler.step_size: must be > 0") for m in msgs)
    assert any(m.startswith("optimiser.lr: must be a number") for m in msgs)
    assert any(m.startswith("seed: must be int") for m in msgs)
    assert any(m.startswith("bogus: unknown key") for m in msgs)
    assert len(msgs) == 5


def test_unknown_component_names_list_the_choices():
    msgs = problems(raw(estimator={"name": "magic"}))
    assert msgs[0].startswith("estimator.name: unknown estimator 'magic'; choose one of:")
    assert "cd" in msgs[0] and "nce" in msgs[0]


def test_missing_sections_and_version():
    d = raw()
    del d["schema_version"], d["data"]
    msgs = problems(d)
    assert any(m.startswith("schema_version: missing") for m in msgs)
    assert "data: missing" in msgs
    assert any("reads version 1" in m for m in problems(raw(schema_version=99)))


def test_overrides_validate_and_switch_components():
    exp = experiment_from_dict(raw())
    exp2 = with_overrides(exp, [parse_override("estimator.k=10"), parse_override("optimiser.lr=0.5")])
    assert exp2.estimator.settings.k == 10 and exp2.optimiser.lr == 0.5
    exp3 = with_overrides(exp, [parse_override("estimator.name=dsm")])
    assert exp3.estimator.kind == "dsm"
    with pytest.raises(ConfigError, match="estimator.k: must be >= 1, got 0"):
        with_overrides(exp, [parse_override("estimator.k=0")])


def test_save_load_round_trip_with_weights(tmp_path):
    exp = experiment_from_dict(raw())
    w = {"a": np.array(0.25), "r": np.array(1.5)}
    path = save_preset(exp, tmp_path / "my.json", weights=w)
    loaded = load_preset(path)
    assert loaded.experiment.weights == "my.weights.npz"
    assert loaded.weights["r"] == 1.5
    assert experiment_to_dict(loaded.experiment)["model"] == experiment_to_dict(exp)["model"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_bad_files_give_one_clear_message(tmp_path):
    p = tmp_path / "p.json"
    p.write_bytes(b"\xff\xfe not utf8")
    with pytest.raises(PresetError, match="p.json: not UTF-8"):
        load_preset(p)
    p.write_text('{"schema_version": 1, "seed": NaN}')
    with pytest.raises(PresetError, match="NaN is not allowed"):
        load_preset(p)
    p.write_text('{"schema_version": 1,')
    with pytest.raises(PresetError, match="not valid JSON"):
        load_preset(p)
    with pytest.raises(PresetError, match="file not found"):
        load_preset(tmp_path / "missing.json")


def test_weights_that_are_pickles_are_refused(tmp_path):
    d = raw(weights="w.npz")
    (tmp_path / "p.json").write_text(json.dumps(d))
    # an .npz that holds an object array (which would need pickle to load)
    np.savez(tmp_path / "w.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(PresetError, match="w.npz: not a plain .npz"):
        load_preset(tmp_path / "p.json")
    (tmp_path / "w.npz").write_bytes(b"\x80\x04\x95 pickle bytes")
    with pytest.raises(PresetError, match="w.npz: not a plain .npz"):
        load_preset(tmp_path / "p.json")


def test_file_references_cannot_escape_the_preset_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    assert resolve_inside(tmp_path, "sub/x.csv") == (tmp_path / "sub" / "x.csv").resolve()
    for ref in ("../x.csv", "/etc/passwd", "sub/../../x.csv", "~/x.csv"):
        with pytest.raises(PresetError):
            resolve_inside(tmp_path, ref)
    if os.path.exists("/dev/zero"):
        os.symlink("/dev/zero", tmp_path / "zero.csv")
        with pytest.raises(PresetError):
            resolve_inside(tmp_path, "zero.csv")


def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    exp = experiment_from_dict(raw())
    path = save_preset(exp, tmp_path / "keep.json")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(PresetError, match="No space left on device"):
        save_preset(experiment_from_dict(raw(seed=9)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]


def test_override_of_a_field_called_name_is_not_a_component_switch():
    exp = experiment_from_dict(raw())
    exp2 = with_overrides(exp, [parse_override("data.name=two_moons")])
    assert exp2.data.kind == "toy" and exp2.data.settings.name == "two_moons" and exp2.data.settings.n == 500


def test_many_painted_points_validate_fast_and_exactly():
    import time

    pts = np.random.default_rng(0).normal(size=(20_000, 2)).round(6).tolist()
    exp = experiment_from_dict(raw())
    t0 = time.perf_counter()
    exp2 = with_overrides(exp, [(["data", "kind"], "points"), (["data", "points"], pts)])
    assert time.perf_counter() - t0 < 5  # a hang guard, not a speed target
    assert exp2.data.settings.points == pts
    bad = pts[:100] + [[1.0, "x"]]
    with pytest.raises(ConfigError, match=r"data.points\[100\]\[1\]: must be a number"):
        with_overrides(exp2, [(["data", "points"], bad)])


def test_saved_presets_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_preset(experiment_from_dict(raw()), tmp_path / "p.json")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644
