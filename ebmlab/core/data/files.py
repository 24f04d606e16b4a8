"""Loading user data: point clouds and binary patterns from .csv/.txt or .npy files, and painted points.

Every problem raises DataError naming the file and what is wrong. Text rows are numbered as lines of the
file (1-based, header and blank lines included), so "row 7" is line 7 in an editor; .npy rows are
numbered 1-based. .npy files are never unpickled.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.lib.format as npformat

from ebmlab.core.errors import DataError

MAX_ROWS = 10_000_000
# The largest magnitude a float32 holds (3.4028235e38): training may run in float32 and snapshots always are,
# so a larger finite float64 (1e300 in a file) would overflow the cast to inf and stop the run at step 0.
FLOAT32_MAX = float(np.finfo(np.float32).max)
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
NPY_MAGIC = b"\x93NUMPY"

RowOf = Callable[[int], int]  # 0-based data row index -> row number shown to the user


# ---------------------------------------------------------------------------------------------- checks
def _check_int(value: object, what: str, lo: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < lo:
        raise DataError(f"{what} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _resolve(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    try:
        return _check_file(p)
    except OSError as e:  # a name too long, a symlink loop, no permission, ...
        raise DataError(f"{p.name[:80]}: cannot read the file ({e.strerror or e})") from None


def _check_file(p: Path) -> Path:
    if not p.exists():
        raise DataError(f"{p.name}: file not found ({p})")
    if p.is_dir():
        raise DataError(f"{p.name}: is a directory, not a data file ({p})")
    suffix = p.suffix.lower()
    if suffix not in TEXT_SUFFIXES and suffix != ".npy":
        shown = repr(suffix) if suffix else "none"
        raise DataError(f"{p.name}: unsupported file type (extension {shown}); use .csv, .txt or .npy")
    if p.stat().st_size == 0:
        raise DataError(f"{p.name}: empty file")
    return p


def _check_finite(arr: np.ndarray, name: str, row_of: RowOf) -> None:
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        count = int(bad.sum())
        first = row_of(int(np.argmax(bad)))
        rows = "row contains" if count == 1 else "rows contain"
        raise DataError(f"{name}: {count} {rows} NaN or inf (first: row {first})")


def _check_float32(arr: np.ndarray, name: str, row_of: RowOf) -> None:
    """Refuse finite values beyond the float32 range (|v| > 3.4e38), naming the first one's row and column."""
    big = np.abs(arr) > FLOAT32_MAX
    if big.any():
        r, c = np.unravel_index(int(np.argmax(big)), arr.shape)
        count = int(big.sum())
        more = "" if count == 1 else f" ({count} values are)"
        raise DataError(
            f"{name}: row {row_of(int(r))}, column {c + 1}: {arr[r, c]:g} is too large{more}; "
            f"values must lie within ±{FLOAT32_MAX:.4g} (the float32 range)"
        )


# ------------------------------------------------------------------------------------------------ text
def _content(line: str) -> str:
    return line.split("#", 1)[0].strip()


def _fields(content: str, delim: str | None) -> list[str]:
    return [f.strip() for f in content.split(delim)] if delim else content.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _text_rows(p: Path, start: int):
    """Yield (line number 1-based, content) of each data line at or after 0-based line `start`."""
    with open(p, encoding="utf-8-sig") as fh:
        for i, line in enumerate(fh):
            if i < start:
                continue
            content = _content(line)
            if content:
                yield i + 1, content


def _diagnose_text(p: Path, delim: str | None, start: int, dim: int | None) -> str | None:
    """Slow scan for the first ragged row or non-numeric value; returns a message or None."""
    expected = dim
    for lineno, content in _text_rows(p, start):
        fields = _fields(content, delim)
        if expected is None:
            expected = len(fields)
        if len(fields) != expected:
            return f"{p.name}: row {lineno} has {len(fields)} columns, expected {expected}"
        for col, text in enumerate(fields, start=1):
            if not text:
                return f"{p.name}: row {lineno}, column {col}: empty value"
            if not _is_number(text):
                return f"{p.name}: row {lineno}, column {col}: {text[:40]!r} is not a number"
    return None


def _load_text(p: Path, dim: int | None, max_rows: int) -> tuple[np.ndarray, RowOf]:
    found: list[tuple[int, str]] = []  # the first two non-blank, non-comment lines
    try:
        with open(p, encoding="utf-8-sig") as fh:
            for i, line in enumerate(fh):
                content = _content(line)
                if content:
                    found.append((i, content))
                    if len(found) == 2:
                        break
    except UnicodeDecodeError:
        raise DataError(f"{p.name}: not a UTF-8 text file") from None
    if not found:
        raise DataError(f"{p.name}: empty file (no data rows)")
    first_idx, content = found[0]
    # comma-separated when the first line (maybe a header) or the first data line has a comma
    delim = "," if any("," in c for _, c in found) else None
    header = not any(_is_number(f) for f in _fields(content, delim))
    start = first_idx + 1 if header else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            arr = np.loadtxt(
                p,
                dtype=np.float64,
                delimiter=delim,
                comments="#",
                skiprows=start,
                ndmin=2,
                max_rows=max_rows + 1,
                encoding="utf-8-sig",
            )
    except UnicodeDecodeError:
        raise DataError(f"{p.name}: not a UTF-8 text file") from None
    except ValueError as exc:
        raise DataError(_diagnose_text(p, delim, start, dim) or f"{p.name}: cannot read: {exc}") from None
    except MemoryError:  # loadtxt allocates max_rows x columns up front: a very wide line
        raise DataError(_diagnose_text(p, delim, start, dim) or f"{p.name}: too many columns to load") from None
    if arr.shape[0] == 0:
        raise DataError(f"{p.name}: empty file (header only, no data rows)")

    def row_of(index: int) -> int:
        for k, (lineno, _) in enumerate(_text_rows(p, start)):
            if k == index:
                return lineno
        return index + 1 + start  # not reached for valid indices

    return arr, row_of


# ------------------------------------------------------------------------------------------------- npy
def _npy_header(fh, name: str) -> tuple[tuple[int, ...], np.dtype]:
    if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
        raise DataError(f"{name}: not a valid .npy file (bad magic bytes)")
    fh.seek(0)
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = npformat.read_array_header_2_0(fh)
        else:  # 3.0 (utf-8 headers) is only written for structured dtypes, which are refused anyway
            shape = None
    except Exception as exc:  # noqa: BLE001 - numpy parses the untrusted header (tokenize.TokenError, ...)
        raise DataError(f"{name}: not a valid .npy file ({type(exc).__name__}: {exc})") from None
    if shape is None:
        raise DataError(f"{name}: unsupported .npy format version {version[0]}.{version[1]}")
    return tuple(shape), np.dtype(dtype)


def _load_npy(p: Path, dim: int | None, max_rows: int) -> tuple[np.ndarray, RowOf]:
    name = p.name
    with open(p, "rb") as fh:
        shape, dtype = _npy_header(fh, name)
        if dtype.hasobject:
            raise DataError(f"{name}: is a pickled object array; only plain numeric arrays are accepted")
        if dtype.fields is not None or dtype.kind not in "biuf":
            raise DataError(f"{name}: has dtype {dtype}; only plain numeric arrays are accepted")
        if len(shape) == 1 and dim != 1:
            raise DataError(
                f"{name}: 1-D array of shape ({shape[0]},); expected a 2-D array (n, d) "
                "(1-D arrays are accepted only for dimension 1)"
            )
        if len(shape) not in (1, 2):
            raise DataError(f"{name}: array of shape {shape}; expected a 2-D array (n, d)")
        if shape[0] == 0 or (len(shape) == 2 and shape[1] == 0):
            raise DataError(f"{name}: empty array of shape {shape}")
        if shape[0] > max_rows:
            raise DataError(f"{name}: has {shape[0]} rows, more than the limit of {max_rows}")
        if len(shape) == 2 and dim is not None and shape[1] != dim:
            raise DataError(f"{name}: data has {shape[1]} columns, expected {dim}")
        need = math.prod(shape) * dtype.itemsize  # the header's claim, checked before anything is allocated
        have = os.fstat(fh.fileno()).st_size - fh.tell()
        if need > have:
            raise DataError(f"{name}: truncated or corrupt .npy file (shape {shape} needs {need} bytes, {have} left)")
        fh.seek(0)
        try:
            arr = npformat.read_array(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{name}: truncated or corrupt .npy file ({exc})") from None
    arr = np.asarray(arr, dtype=np.float64).reshape(shape[0], -1)
    return np.ascontiguousarray(arr), lambda i: i + 1


# ---------------------------------------------------------------------------------------------- public
def _load_table(
    path: str | os.PathLike[str], dim: int | None, max_rows: int, what: str = "dimension"
) -> tuple[np.ndarray, str, RowOf]:
    dim = _check_int(dim, what, 1, allow_none=True)
    max_rows = _check_int(max_rows, "max_rows", 1)
    p = _resolve(path)
    try:
        arr, row_of = _load_npy(p, dim, max_rows) if p.suffix.lower() == ".npy" else _load_text(p, dim, max_rows)
    except OSError as e:  # an I/O error while reading
        raise DataError(f"{p.name}: cannot read the file ({e.strerror or e})") from None
    if arr.shape[0] > max_rows:
        raise DataError(f"{p.name}: more than {max_rows} rows (the limit)")
    if dim is not None and arr.shape[1] != dim:
        raise DataError(f"{p.name}: data has {arr.shape[1]} columns, expected {dim}")
    _check_finite(arr, p.name, row_of)
    _check_float32(arr, p.name, row_of)
    return arr, p.name, row_of


def load_points(path: str | os.PathLike[str], dim: int | None = None, max_rows: int = MAX_ROWS) -> np.ndarray:
    """Load points (n, d) float64 from .csv/.txt (comma or whitespace separated, optional header) or .npy.

    dim=None accepts any number of columns (the same in every row). Raises DataError naming the file.
    """
    arr, _, _ = _load_table(path, dim, max_rows)
    return arr


def to_spins(arr: np.ndarray, spins: Literal["01", "pm1"], name: str, row_of: RowOf | None = None) -> np.ndarray:
    """Check that arr (n, m) holds 0/1 or -1/+1 values and return it (float64) in the `spins` convention."""
    if spins not in ("01", "pm1"):
        raise DataError(f"spins must be '01' or 'pm1', got {spins!r}")
    row_of = row_of or (lambda i: i + 1)
    arr = np.asarray(arr, dtype=np.float64)
    is01 = (arr == 0) | (arr == 1)
    ispm = (arr == -1) | (arr == 1)
    bad = ~(is01 | ispm)
    if bad.any():
        r, c = np.unravel_index(int(np.argmax(bad)), arr.shape)
        raise DataError(
            f"{name}: non-binary values: row {row_of(int(r))}, column {c + 1} is {arr[r, c]:g} "
            "(values must be 0/1 or -1/+1)"
        )
    not_one = (arr != 1).ravel()
    if not not_one.any():
        return arr.copy()  # all ones: the same in both conventions
    first = arr.ravel()[int(np.argmax(not_one))]
    coding_01 = first == 0
    other = ~is01 if coding_01 else ~ispm
    if other.any():
        r, c = np.unravel_index(int(np.argmax(other)), arr.shape)
        used = "0/1" if coding_01 else "-1/+1"
        raise DataError(
            f"{name}: mixes 0/1 and -1/+1 coding: row {row_of(int(r))}, column {c + 1} is {arr[r, c]:g} "
            f"but earlier values use {used}"
        )
    if coding_01 and spins == "pm1":
        return 2.0 * arr - 1.0
    if not coding_01 and spins == "01":
        return (arr + 1.0) / 2.0
    return arr.copy()


def load_patterns(
    path: str | os.PathLike[str],
    n_units: int | None = None,
    spins: Literal["01", "pm1"] = "01",
    max_rows: int = MAX_ROWS,
) -> np.ndarray:
    """Load binary patterns (n, n_units) float64 in the `spins` convention ('01' or 'pm1').

    The file may use either 0/1 or -1/+1 coding (converted as needed); other values or mixed coding
    raise DataError naming the first offending row and column.
    """
    if spins not in ("01", "pm1"):
        raise DataError(f"spins must be '01' or 'pm1', got {spins!r}")
    arr, name, row_of = _load_table(path, n_units, max_rows, what="number of units")
    return to_spins(arr, spins, name, row_of)


def points_from_list(
    points: Sequence[Sequence[float]] | np.ndarray, dim: int, where: str = "painted points"
) -> np.ndarray:
    """Validate points given as a list of coordinate lists (e.g. painted in the window); returns (n, dim).

    Coordinates must be finite numbers within the float32 range; `where` names the source in messages."""
    dim = _check_int(dim, "dimension", 1)
    if isinstance(points, np.ndarray):
        if points.dtype.kind not in "biuf" or points.ndim != 2 or points.shape[1] != dim:
            raise DataError(f"{where}: expected a numeric array of shape (n, {dim}), got {points.shape}")
        rows: Sequence = points.tolist()
    elif isinstance(points, (list, tuple)):
        rows = points
    else:
        raise DataError(f"{where}: expected a list of points, got {type(points).__name__}")
    if len(rows) == 0:
        raise DataError(f"{where}: no points")
    if len(rows) > MAX_ROWS:
        raise DataError(f"{where}: {len(rows)} points, more than the limit of {MAX_ROWS}")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, (list, tuple, np.ndarray)):
            raise DataError(f"{where}: point {i} is not a list of coordinates: {row!r}")
        if len(row) != dim:
            raise DataError(f"{where}: point {i} has {len(row)} coordinates, expected {dim}")
        for j, v in enumerate(row, start=1):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise DataError(f"{where}: point {i}, coordinate {j} is not a number: {v!r}")
            try:
                x = abs(float(v))
            except OverflowError:  # an integer beyond float64 (10**400)
                x = math.inf
            if math.isnan(x) or (math.isinf(x) and isinstance(v, (float, np.floating))):
                raise DataError(f"{where}: point {i}, coordinate {j} is NaN or inf")
            if x > FLOAT32_MAX:
                shown = f"{float(v):g}" if math.isfinite(x) else "an integer beyond any float"
                raise DataError(
                    f"{where}: point {i}, coordinate {j} is {shown}, too large; "
                    f"coordinates must lie within ±{FLOAT32_MAX:.4g} (the float32 range)"
                )
    return np.array(rows, dtype=np.float64).reshape(len(rows), dim)
