"""Sweep grids: parsing, expansion, hashing, and bad input refused with one clear line before anything starts."""

import math
import statistics

import pytest

from ebmlab.cli import main
from ebmlab.config.presets import find_preset, load_preset
from ebmlab.core.errors import EbmlabError
from ebmlab.sweep import engine
from ebmlab.sweep.spec import expand, parse_grid, parse_seeds, split_values
from ebmlab.sweep.summary import mean_se, summarise


def test_grid_values_are_json_with_lists_and_quotes_kept_whole():
    assert split_values('1,[0, 1],"a,b",x') == ["1", "[0, 1]", '"a,b"', "x"]
    axis = parse_grid("estimator.k=1,5,10")
    assert axis.key == "estimator.k" and axis.values == (1, 5, 10)
    assert parse_grid("estimator.name=cd,pcd").values == ("cd", "pcd")
    assert parse_grid("model.box=[[-3,3]],[[-2,2]]").values == ([[-3, 3]], [[-2, 2]])


def test_seed_ranges():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("7,0-2,2") == [0, 1, 2, 7]
    for bad in ("", "a", "3-1", "-2", "1,,2"):
        with pytest.raises(EbmlabError, match="--seeds"):
            parse_seeds(bad)


def _points(*grid, seeds=(0, 1), steps=5):
    loaded = load_preset(find_preset("02_cd_vs_pcd"))
    return expand(loaded.experiment, loaded.weights, [parse_grid(g) for g in grid], list(seeds), steps)


def test_expansion_is_the_product_in_order_with_distinct_hashes():
    pts = _points("estimator.name=cd,pcd", "optimiser.lr=0.01,0.02,0.03", seeds=(0, 1))
    assert len(pts) == 12
    assert [(p.setting["estimator.name"], p.setting["optimiser.lr"], p.seed) for p in pts[:3]] == [
        ("cd", 0.01, 0),
        ("cd", 0.01, 1),
        ("cd", 0.02, 0),
    ]
    assert len({p.run_id for p in pts}) == 12
    assert all(p.experiment.training.steps == 5 for p in pts)
    assert pts[1].experiment.seed == 1 and pts[1].experiment.estimator.kind == "cd"
    # same settings, same hash (resume depends on it); the preset's name and notes do not count
    again = _points("estimator.name=cd,pcd", "optimiser.lr=0.01,0.02,0.03", seeds=(0, 1))
    assert [p.run_id for p in again] == [p.run_id for p in pts]
    assert _points(steps=6)[0].run_id != _points(steps=5)[0].run_id


def test_switching_a_component_keeps_the_other_swept_keys_of_its_section():
    # estimator.k given before estimator.name: the switch to 'cd' must not wipe k
    pts = _points("estimator.k=1,10", "estimator.name=cd", seeds=(0,))
    assert [p.experiment.estimator.settings.k for p in pts] == [1, 10]


@pytest.mark.parametrize(
    "grid, message",
    [
        ("estimator.kk=1,2", "grid point estimator.kk=1: estimator.kk: unknown key"),
        ("estimator.k=1,-1", "grid point estimator.k=-1: estimator.k: must be >= 1"),
        ("optimiser.lr=0.01,fast", 'grid point optimiser.lr="fast": optimiser.lr: must be a number'),
        ("estimator.k=", "empty value"),
        ("estimator.k=1,,2", "empty value"),
        ("estimator.k", "expected key.path=v1,v2"),
        ("seed=1,2", "seeds are swept with --seeds"),
        ("estimator.k=2,2", "listed twice"),
        ("nosuch.k=1", "nosuch: not a section"),
    ],
)
def test_bad_grids_are_refused_before_anything_starts(tmp_path, capsys, grid, message):
    out = tmp_path / "never"
    assert main(["sweep", "02_cd_vs_pcd", "--grid", grid, "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ebmlab sweep: ") and message in err, err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_other_bad_options_are_refused(tmp_path, capsys):
    out = str(tmp_path / "never")
    cases = [
        (["--grid", "estimator.k=1", "--grid", "estimator.k=2"], "swept twice"),
        (["--seeds", "x"], "--seeds"),
        (["--steps", "0"], "--steps 0"),
        (["--workers", "0", "--grid", "estimator.k=1"], "--workers 0"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "an existing --scheduler has its own workers"),
    ]
    for extra, message in cases:
        args = ["sweep", "02_cd_vs_pcd", "--out", out] + (["--steps", "2"] if "--steps" not in extra else []) + extra
        assert main(args) == 2, extra
        err = capsys.readouterr().err
        assert message in err, (extra, err)
    assert main(["sweep", "no_such_preset", "--out", out]) == 2
    assert "no such file or bundled preset" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_refused_before_the_folder_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "never"
    code = main(
        ["sweep", "02_cd_vs_pcd", "--steps", "2", "--seeds", "0", "--out", str(out)]
        + ["--scheduler", "tcp://127.0.0.1:9"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler" in err, err
    assert not out.exists()


def test_mean_and_standard_error_over_seeds():
    xs = [1.0, 2.5, 4.0, 3.5]
    m, se = mean_se(xs)
    assert m == pytest.approx(statistics.fmean(xs))
    assert se == pytest.approx(statistics.stdev(xs) / math.sqrt(4))
    assert mean_se([2.0]) == (2.0, None)
    assert mean_se([]) == (None, None)
    recs = [{"setting": {"k": 1}, "seed": s, "status": "ok", "nll_exact": v} for s, v in enumerate(xs)] + [
        {"setting": {"k": 2}, "seed": 0, "status": "failed", "reason": "diverged", "nll_exact": 9.0}
    ]
    summary = summarise(recs, ["k"])
    assert summary[0]["nll_exact"]["mean"] == pytest.approx(m) and summary[0]["ok"] == 4
    assert summary[1]["ok"] == 0 and "nll_exact" not in summary[1] and summary[1]["reasons"] == ["seed 0: diverged"]
