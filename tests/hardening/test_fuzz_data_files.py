"""Data files from outside: each is loaded (a finite float64 array of the right shape) or refused with a
DataError naming the file; never another exception, never a hang (FIFOs, /dev/zero), memory bounded
(.npy headers that claim 10^12 rows or columns are refused before anything is allocated).

Cases come from ebmlab.core.fuzz.data_file_cases (empty, one row, ragged, text in numbers, NaN rows,
garbage with a .csv/.npy name, pickled object arrays, lies in .npy headers, devices, FIFOs, symlink loops,
a 10^7-row CSV) plus seeded byte-level mutations of valid files.
"""

from __future__ import annotations

import random
import resource
import time
from pathlib import Path

import numpy as np
import pytest

from ebmlab.core import fuzz
from ebmlab.core.data import load_patterns, load_points
from ebmlab.core.errors import DataError

HANG_GUARD = 20.0  # seconds: a guard against hangs, not a speed target
BIG_ROWS = 10_000_000


def guarded(fn, timeout: float = HANG_GUARD):
    """fn() in a thread; fail (instead of hanging the suite) if it blocks, e.g. on a FIFO."""
    return fuzz.guarded(fn, timeout)


def check_one(label: str, path: Path, dim: int | None, loader=load_points) -> tuple[str, float]:
    """('loaded' | 'refused', seconds); raises AssertionError on anything else."""
    t0 = time.perf_counter()
    try:
        arr = guarded(lambda: loader(path, dim))
    except DataError as e:
        dt = time.perf_counter() - t0
        msg = str(e)
        name = Path(path).name
        assert msg.strip(), label
        assert name[:80] in msg or name in ("null", "zero"), f"{label}: the message does not name {name!r}: {msg}"
        return "refused", dt
    dt = time.perf_counter() - t0
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.ndim == 2, label
    assert dim is None or arr.shape[1] == dim, label
    assert np.isfinite(arr).all() and len(arr) >= 1, label
    return "loaded", dt


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path, int]]:
    return fuzz.data_file_cases(tmp_path_factory.mktemp("data"), big_rows=BIG_ROWS)


def test_every_case_loads_or_is_refused_naming_the_file(cases, capsys) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {}
    failures = []
    for label, path, dim in cases:
        for d in (dim, None) if not label.startswith(str(BIG_ROWS)) else (dim,):
            try:
                results[(label, d)] = check_one(label, path, d)
            except Exception as e:  # noqa: BLE001 - anything but DataError is a bug
                failures.append(f"{label} (dim={d}): {type(e).__name__}: {str(e)[:200]}")
    rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    with capsys.disabled():
        big = [(k, v) for k, v in results.items() if k[0].startswith(str(BIG_ROWS))]
        print(f"\ndata-file fuzz: {len(results)} loads, {len(failures)} failures, peak RSS +{rss_mb:.0f} MB")
        print(f"big CSV: {big}")
    assert not failures, "\n".join(failures)
    by_label = {k[0]: v[0] for k, v in results.items() if k[1] is not None}
    for label in ("empty", "header only", "wrong column count", "text in numeric column", "NaN row", "inf row"):
        assert by_label[label] == "refused", label
    for label in ("npy object array (pickle)", "binary garbage .csv", "binary garbage .npy", "FIFO .csv"):
        assert by_label[label] == "refused", label
    for label in ("npy header claims 10^12 rows", "npy header claims 10^12 columns", "npy header claims 10^6 x 10^6"):
        assert by_label[label] == "refused", label
    for label in ("one row", "one row, no newline", "tabs", "CRLF", "BOM", "npy big-endian ok", "npy fortran ok"):
        assert by_label[label] == "loaded", label
    assert all(seconds < HANG_GUARD for _, seconds in results.values())


def test_the_big_csv_is_refused_by_the_datasource_cap_quickly(cases) -> None:
    """The data source caps points at 10^6 (MAX_POINTS): a 10^7-row CSV is refused without reading it all."""
    from ebmlab.core.datasources import MAX_POINTS

    big = next(p for label, p, _ in cases if label.startswith(str(BIG_ROWS)))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"big\.csv: more than 1000000 rows"):
        guarded(lambda: load_points(big, dim=2, max_rows=MAX_POINTS))
    assert time.perf_counter() - t0 < HANG_GUARD


def test_huge_npy_headers_are_refused_before_allocating(tmp_path: Path) -> None:
    """Found by this fuzz: a .npy whose header claimed (4, 10^12) passed the row cap and numpy tried to
    allocate 29 TiB (MemoryError, not DataError); a smaller lie could really allocate. Now refused."""
    for shape in [(4, 10**12), (10**6, 10**6), (3, 10**9)]:
        p = tmp_path / "lie.npy"
        p.write_bytes(fuzz.npy_header_only(shape))
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for dim in (None, 2, shape[1]):
            with pytest.raises(DataError, match=r"lie\.npy"):
                load_points(p, dim)
        assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024 < 50


def test_long_names_and_symlink_loops_are_data_errors(tmp_path: Path) -> None:
    """Found by this fuzz: a 300-character file name raised OSError (ENAMETOOLONG) from load_points."""
    with pytest.raises(DataError, match="cannot read"):
        load_points(tmp_path / ("a" * 300 + ".csv"))
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    with pytest.raises(DataError, match=r"loop\.csv"):
        load_points(tmp_path / "loop.csv")


@pytest.mark.parametrize("seed", range(3))
def test_byte_level_mutations_of_valid_files(tmp_path: Path, seed: int) -> None:
    """Random byte flips, insertions and truncations of a valid CSV and .npy (and binary patterns)."""
    rng = random.Random(seed)
    pts = np.random.default_rng(seed).normal(size=(50, 2))
    csv = ("x,y\n" + "".join(f"{a:.5f},{b:.5f}\n" for a, b in pts)).encode()
    import io

    buf = io.BytesIO()
    np.save(buf, pts)
    npy = buf.getvalue()
    pats = "".join(" ".join(rng.choice("01") for _ in range(4)) + "\n" for _ in range(20)).encode()
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(150):
        base, name, loader, dim = rng.choice(
            [(csv, "m.csv", load_points, 2), (npy, "m.npy", load_points, 2), (pats, "m.txt", _patterns, 4)]
        )
        b = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            k = rng.random()
            j = rng.randrange(len(b))
            if k < 0.5:
                b[j] = rng.getrandbits(8)
            elif k < 0.8:
                b[j:j] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
            else:
                del b[j:]
                if not b:
                    break
        p = tmp_path / f"{i}_{name}"
        p.write_bytes(bytes(b))
        kind, _ = check_one(f"mutation {i} of {name}", p, dim, loader)
        outcomes[kind] += 1
    assert outcomes["refused"] > 0 and outcomes["loaded"] > 0


def _patterns(path, dim):
    return load_patterns(path, dim, "01")
