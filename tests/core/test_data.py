"""Tests for ebmlab.core.data: toy sets, file loaders, painted points, bars and stripes."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ebmlab.core.data import (
    TOY_SETS,
    bars_and_stripes,
    load_patterns,
    load_points,
    make_toy,
    points_from_list,
    sample_patterns,
)
from ebmlab.core.errors import DataError

ALL_SETS = sorted(TOY_SETS)


# ---------------------------------------------------------------------------------------------- toy sets
def test_registry_has_the_documented_sets() -> None:
    assert set(TOY_SETS) == {
        "eight_gaussians",
        "two_moons",
        "swiss_roll",
        "rings",
        "checkerboard",
        "pinwheel",
        "two_spirals",
        "gaussian",
    }
    for name, toy in TOY_SETS.items():
        assert toy.name == name and toy.n_classes >= 1 and toy.default_noise >= 0
        assert toy.description and "\n" not in toy.description


@pytest.mark.parametrize("name", ALL_SETS)
def test_toy_shape_dtype_labels(name: str) -> None:
    pts, labels = make_toy(name, 5000, seed=1)
    assert pts.shape == (5000, 2) and pts.dtype == np.float64
    assert labels.shape == (5000,) and labels.dtype == np.int64
    k = TOY_SETS[name].n_classes
    assert set(np.unique(labels).tolist()) == set(range(k))  # every class present, no others
    assert np.isfinite(pts).all()
    outside = (np.abs(pts) >= 3.0).any(axis=1).mean()
    assert outside < 0.01, f"{name}: {outside:.3%} of points outside (-3, 3)^2"


@pytest.mark.parametrize("name", ALL_SETS)
def test_toy_reproducible_and_seed_dependent(name: str) -> None:
    a, la = make_toy(name, 300, seed=7)
    b, lb = make_toy(name, 300, seed=7)
    c, _ = make_toy(name, 300, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", ALL_SETS)
def test_toy_leaves_global_rngs_alone(name: str) -> None:
    torch.manual_seed(123)
    np.random.seed(456)
    torch_state = torch.random.get_rng_state().clone()
    np_state = np.random.get_state()
    make_toy(name, 1000, seed=3)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == np_state[0] and after[2:] == np_state[2:]
    np.testing.assert_array_equal(after[1], np_state[1])


def test_noise_parameter_is_used() -> None:
    a, _ = make_toy("eight_gaussians", 2000, seed=0, noise=0.0)
    b, _ = make_toy("eight_gaussians", 2000, seed=0, noise=0.3)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 2.0, atol=1e-12)
    assert np.linalg.norm(b, axis=1).std() > 0.2


def test_eight_gaussians_geometry() -> None:
    pts, labels = make_toy("eight_gaussians", 8000, seed=0)
    centres = 2.0 * np.stack([np.cos(labels * np.pi / 4), np.sin(labels * np.pi / 4)], axis=1)
    dev = pts - centres
    assert np.abs(dev.std(axis=0) - 0.1).max() < 0.01  # std 0.1 around the labelled centre
    assert np.abs(np.linalg.norm(pts, axis=1) - 2.0).max() < 0.6


def test_two_moons_geometry() -> None:
    pts, labels = make_toy("two_moons", 2000, seed=0, noise=0.0)
    u = pts / (4.0 / 3.0) + np.array([0.5, 0.25])  # back to the unit moons
    upper, lower = u[labels == 0], u[labels == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, atol=1e-9)
    assert (upper[:, 1] >= -1e-9).all()
    np.testing.assert_allclose(np.linalg.norm(lower - np.array([1.0, 0.5]), axis=1), 1.0, atol=1e-9)
    assert (lower[:, 1] <= 0.5 + 1e-9).all()
    assert np.abs(pts[:, 0]).max() <= 2.0 + 1e-9


def test_swiss_roll_geometry() -> None:
    pts, labels = make_toy("swiss_roll", 2000, seed=0, noise=0.0)
    assert (labels == 0).all()
    t = np.linalg.norm(pts, axis=1) * (4.5 * math.pi / 2.5)
    assert t.min() >= 1.5 * math.pi - 1e-9 and t.max() <= 4.5 * math.pi + 1e-9
    np.testing.assert_allclose(pts[:, 0], t * np.cos(t) * 2.5 / (4.5 * math.pi), atol=1e-9)
    np.testing.assert_allclose(pts[:, 1], t * np.sin(t) * 2.5 / (4.5 * math.pi), atol=1e-9)


def test_rings_geometry() -> None:
    pts, labels = make_toy("rings", 4000, seed=0, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), np.where(labels == 0, 1.0, 2.0), atol=1e-12)
    pts, labels = make_toy("rings", 4000, seed=0)
    assert np.abs(np.linalg.norm(pts, axis=1) - np.where(labels == 0, 1.0, 2.0)).max() < 0.5


def test_checkerboard_only_black_squares() -> None:
    pts, labels = make_toy("checkerboard", 20000, seed=0)
    assert (pts >= -2.0).all() and (pts <= 2.0).all()
    col = np.floor(pts[:, 0] + 2.0).astype(int)
    row = np.floor(pts[:, 1] + 2.0).astype(int)
    assert ((col + row) % 2 == 0).all()
    np.testing.assert_array_equal(labels, col % 2)
    assert len(set(zip(col.tolist(), row.tolist()))) == 8  # all eight black squares are used


def test_pinwheel_arms() -> None:
    pts, labels = make_toy("pinwheel", 5000, seed=0, noise=0.0)
    r = np.linalg.norm(pts, axis=1)
    predicted = labels * (2 * math.pi / 5) + 0.25 * np.exp(r / 1.5)
    diff = np.angle(np.exp(1j * (np.arctan2(pts[:, 1], pts[:, 0]) - predicted)))
    assert (np.abs(diff) < 1e-6).mean() > 0.99  # rare points with negative radial feature flip
    assert np.bincount(labels, minlength=5).min() > 800


def test_two_spirals_geometry() -> None:
    pts, labels = make_toy("two_spirals", 3000, seed=0, noise=0.0)
    t = 4.0 * np.linalg.norm(pts, axis=1)
    assert t.max() <= 3 * math.pi + 1e-9
    sign = np.where(labels == 0, 1.0, -1.0)[:, None]
    expected = sign * np.stack([-np.cos(t) * t, np.sin(t) * t], axis=1) / 4.0
    np.testing.assert_allclose(pts, expected, atol=1e-9)


def test_gaussian_moments() -> None:
    pts, labels = make_toy("gaussian", 40000, seed=0)
    assert (labels == 0).all()
    assert np.abs(pts.mean(axis=0)).max() < 5 / math.sqrt(40000)
    np.testing.assert_allclose(np.cov(pts.T), np.eye(2), atol=0.03)


def test_make_toy_errors() -> None:
    with pytest.raises(DataError, match="known sets: .*checkerboard.*two_moons"):
        make_toy("moons", 10, seed=0)
    for bad_n in (0, -1, 10_000_001, 2.5, True):
        with pytest.raises(DataError, match="number of points"):
            make_toy("rings", bad_n, seed=0)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="noise"):
        make_toy("rings", 10, seed=0, noise=-0.1)
    with pytest.raises(DataError, match="noise"):
        make_toy("rings", 10, seed=0, noise=float("nan"))
    assert make_toy("rings", 1, seed=0)[0].shape == (1, 2)


# ------------------------------------------------------------------------------------ bars and stripes
@pytest.mark.parametrize("size,count", [(2, 6), (3, 14), (4, 30), (5, 62)])
def test_bars_and_stripes(size: int, count: int) -> None:
    pats = bars_and_stripes(size)
    assert pats.shape == (count, size * size) and pats.dtype == np.float64
    assert len({tuple(p) for p in pats.tolist()}) == count
    imgs = pats.reshape(-1, size, size)
    rows_const = (imgs == imgs[:, :, :1]).all(axis=(1, 2))
    cols_const = (imgs == imgs[:, :1, :]).all(axis=(1, 2))
    assert (rows_const | cols_const).all()
    assert (pats.sum(axis=1) == 0).sum() == 1 and (pats.sum(axis=1) == size * size).sum() == 1
    assert set(np.unique(pats).tolist()) == {0.0, 1.0}
    pm = bars_and_stripes(size, spins="pm1")
    np.testing.assert_array_equal(pm, 2 * pats - 1)


def test_bars_and_stripes_row_major_order() -> None:
    pats = bars_and_stripes(3)
    img = np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float).ravel()  # top row on
    vert = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0]], dtype=float).ravel()  # left column on
    rows = {tuple(p) for p in pats.tolist()}
    assert tuple(img) in rows and tuple(vert) in rows


def test_bars_and_stripes_errors() -> None:
    for bad in (1, 6, 3.0):
        with pytest.raises(DataError, match="size"):
            bars_and_stripes(bad)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="spins"):
        bars_and_stripes(3, spins="+-")  # type: ignore[arg-type]


def test_sample_patterns() -> None:
    pats = bars_and_stripes(3)
    a = sample_patterns(pats, 5000, seed=1)
    np.testing.assert_array_equal(a, sample_patterns(pats, 5000, seed=1))
    assert not np.array_equal(a, sample_patterns(pats, 5000, seed=2))
    assert a.shape == (5000, 9)
    index = {tuple(p): i for i, p in enumerate(pats.tolist())}
    counts = np.bincount([index[tuple(r)] for r in a.tolist()], minlength=14)
    expected = 5000 / 14
    assert np.abs(counts - expected).max() < 5 * math.sqrt(expected)  # uniform over all 14
    with pytest.raises(DataError):
        sample_patterns(pats, 0, seed=1)
    with pytest.raises(DataError):
        sample_patterns(np.zeros(4), 3, seed=1)


# ----------------------------------------------------------------------------------------- file loading
def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_comments_and_whitespace(tmp_path: Path) -> None:
    p = _write(tmp_path, "points.csv", "x, y\n# comment\n1.5, -2\n\n3,4e-1 # trailing\n")
    np.testing.assert_array_equal(load_points(p, dim=2), [[1.5, -2.0], [3.0, 0.4]])
    q = _write(tmp_path, "ws.txt", "1 2 3\n4\t5   6\n")
    out = load_points(q)
    assert out.dtype == np.float64 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, 5, 6]])
    spaced = _write(tmp_path, "spaced.csv", "\ufeffx y\r\n1,2\r\n3,4\r\n")  # BOM, CRLF, no comma in header
    np.testing.assert_array_equal(load_points(spaced), [[1, 2], [3, 4]])
    one = _write(tmp_path, "one.csv", "v\n1\n2\n3\n")
    assert load_points(one, dim=1).shape == (3, 1)


def test_npy_numeric_dtypes(tmp_path: Path) -> None:
    for dtype in (np.float32, np.int64, np.uint8, np.bool_):
        p = tmp_path / f"a_{np.dtype(dtype).name}.npy"
        np.save(p, np.ones((4, 2), dtype=dtype))
        out = load_points(p, dim=2)
        assert out.dtype == np.float64 and out.shape == (4, 2) and (out == 1).all()


def test_missing_directory_and_extension(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothere\.csv: file not found"):
        load_points(tmp_path / "nothere.csv")
    d = tmp_path / "folder.csv"
    d.mkdir()
    with pytest.raises(DataError, match=r"folder\.csv: is a directory"):
        load_points(d)
    j = _write(tmp_path, "points.json", "[[1, 2]]")
    with pytest.raises(DataError, match=r"points\.json: unsupported file type"):
        load_points(j)


def test_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty\.csv: empty file"):
        load_points(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(DataError, match=r"blank\.csv: empty file"):
        load_points(_write(tmp_path, "blank.csv", "\n  \n# only a comment\n"))
    with pytest.raises(DataError, match=r"header\.csv: empty file \(header only"):
        load_points(_write(tmp_path, "header.csv", "x,y\n"))
    with pytest.raises(DataError, match=r"empty\.npy: empty array"):
        p = tmp_path / "empty.npy"
        np.save(p, np.zeros((0, 2)))
        load_points(p)


def test_wrong_number_of_columns(tmp_path: Path) -> None:
    p = _write(tmp_path, "three.csv", "1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"three\.csv: data has 3 columns, expected 2"):
        load_points(p, dim=2)
    q = tmp_path / "three.npy"
    np.save(q, np.zeros((5, 3)))
    with pytest.raises(DataError, match=r"three\.npy: data has 3 columns, expected 2"):
        load_points(q, dim=2)


def test_ragged_rows_name_the_line(tmp_path: Path) -> None:
    lines = ["x,y"] + [f"{i},{i}" for i in range(5)] + ["1,2,3", "4,5"]
    p = _write(tmp_path, "points.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_points(p)
    assert str(err.value) == "points.csv: row 7 has 3 columns, expected 2"
    with pytest.raises(DataError, match=r"points\.csv: row 2 has 2 columns, expected 3"):
        load_points(p, dim=3)


def test_text_in_numeric_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "points.csv", "1,2\n3,4\n5,abc\n")
    with pytest.raises(DataError, match=r"points\.csv: row 3, column 2: 'abc' is not a number"):
        load_points(p)
    q = _write(tmp_path, "gap.csv", "1,2\n,4\n")
    with pytest.raises(DataError, match=r"gap\.csv: row 2, column 1: empty value"):
        load_points(q)


def test_nan_and_inf_rows(tmp_path: Path) -> None:
    lines = ["x,y"] + [f"{i},{i}" for i in range(10)] + ["nan,1", "2,inf", "3,3", "-inf,nan"]
    p = _write(tmp_path, "points.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_points(p)
    assert str(err.value) == "points.csv: 3 rows contain NaN or inf (first: row 12)"
    arr = np.zeros((6, 2))
    arr[4, 1] = np.nan
    q = tmp_path / "bad.npy"
    np.save(q, arr)
    with pytest.raises(DataError, match=r"bad\.npy: 1 row contains NaN or inf \(first: row 5\)"):
        load_points(q)


def test_max_rows(tmp_path: Path) -> None:
    p = _write(tmp_path, "big.csv", "".join(f"{i},{i}\n" for i in range(11)))
    with pytest.raises(DataError, match=r"big\.csv: more than 10 rows"):
        load_points(p, max_rows=10)
    assert load_points(p, max_rows=11).shape == (11, 2)
    q = tmp_path / "big.npy"
    np.save(q, np.zeros((11, 2)))
    with pytest.raises(DataError, match=r"big\.npy: has 11 rows, more than the limit of 10"):
        load_points(q, max_rows=10)


def test_one_dimensional_npy(tmp_path: Path) -> None:
    p = tmp_path / "vec.npy"
    np.save(p, np.arange(5.0))
    out = load_points(p, dim=1)
    assert out.shape == (5, 1)
    np.testing.assert_array_equal(out[:, 0], np.arange(5.0))
    for dim in (None, 2):
        with pytest.raises(DataError, match=r"vec\.npy: 1-D array of shape \(5,\)"):
            load_points(p, dim=dim)
    q = tmp_path / "cube.npy"
    np.save(q, np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match=r"cube\.npy: array of shape \(2, 2, 2\)"):
        load_points(q)


def test_pickled_npy_refused(tmp_path: Path) -> None:
    p = tmp_path / "obj.npy"
    obj = np.empty((2, 2), dtype=object)
    obj[:] = 1.0
    np.save(p, obj, allow_pickle=True)
    with pytest.raises(DataError) as err:
        load_points(p)
    assert str(err.value) == "obj.npy: is a pickled object array; only plain numeric arrays are accepted"
    s = tmp_path / "text.npy"
    np.save(s, np.array([["a", "b"]]))
    with pytest.raises(DataError, match=r"text\.npy: has dtype <U1; only plain numeric"):
        load_points(s)
    import pickle

    raw = tmp_path / "raw.npy"
    raw.write_bytes(pickle.dumps([[1.0, 2.0]]))
    with pytest.raises(DataError, match=r"raw\.npy: not a valid \.npy file"):
        load_points(raw)


def test_truncated_npy(tmp_path: Path) -> None:
    p = tmp_path / "cut.npy"
    np.save(p, np.zeros((100, 2)))
    p.write_bytes(p.read_bytes()[:-50])
    with pytest.raises(DataError, match=r"cut\.npy: truncated or corrupt"):
        load_points(p)


# --------------------------------------------------------------------------------------------- patterns
def test_load_patterns_converts_conventions(tmp_path: Path) -> None:
    p = _write(tmp_path, "p01.csv", "1,0,1\n0,0,1\n")
    np.testing.assert_array_equal(load_patterns(p, 3, spins="01"), [[1, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(load_patterns(p, 3, spins="pm1"), [[1, -1, 1], [-1, -1, 1]])
    q = tmp_path / "ppm.npy"
    np.save(q, np.array([[1, -1], [-1, -1]], dtype=np.int8))
    np.testing.assert_array_equal(load_patterns(q, 2, spins="01"), [[1, 0], [0, 0]])
    np.testing.assert_array_equal(load_patterns(q, None, spins="pm1"), [[1, -1], [-1, -1]])


def test_load_patterns_errors(tmp_path: Path) -> None:
    p = _write(tmp_path, "pat.csv", "a,b,c\n1,0,1\n0,0.5,1\n")
    with pytest.raises(DataError, match=r"pat\.csv: non-binary values: row 3, column 2 is 0\.5"):
        load_patterns(p, 3)
    m = _write(tmp_path, "mix.csv", "1,0,1\n1,1,1\n1,-1,0\n")
    with pytest.raises(DataError, match=r"mix\.csv: mixes 0/1 and -1/\+1 coding: row 3, column 2 is -1"):
        load_patterns(m, 3)
    with pytest.raises(DataError, match=r"mix\.csv: data has 3 columns, expected 4"):
        load_patterns(m, 4)
    with pytest.raises(DataError, match="spins"):
        load_patterns(m, 3, spins="+-")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ painted points
def test_points_from_list() -> None:
    out = points_from_list([[0.0, 1.0], [2, -3.5]], dim=2)
    assert out.dtype == np.float64 and out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[0, 1], [2, -3.5]])
    with pytest.raises(DataError, match="point 2 has 3 coordinates, expected 2"):
        points_from_list([[0.0, 1.0], [1.0, 2.0, 3.0]], dim=2)
    with pytest.raises(DataError, match="point 1, coordinate 2 is NaN or inf"):
        points_from_list([[0.0, float("nan")]], dim=2)
    with pytest.raises(DataError, match="not a number"):
        points_from_list([[0.0, "1"]], dim=2)  # type: ignore[list-item]
    with pytest.raises(DataError, match="no points"):
        points_from_list([], dim=2)
    with pytest.raises(DataError, match="not a list of coordinates"):
        points_from_list([1.0, 2.0], dim=2)  # type: ignore[list-item]


# -------------------------------------------------------------------------------------------- large csv
@pytest.mark.slow
def test_million_row_csv_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((1_000_000, 2)).round(6)
    p = tmp_path / "million.csv"
    with open(p, "w") as fh:
        fh.write("x,y\n")
        np.savetxt(fh, data, fmt="%.6f", delimiter=",")
    t0 = time.perf_counter()
    out = load_points(p, dim=2)
    elapsed = time.perf_counter() - t0
    print(f"\nloaded 1,000,000-row CSV in {elapsed:.2f} s")
    assert out.shape == (1_000_000, 2)
    np.testing.assert_allclose(out, data, atol=1e-9)
