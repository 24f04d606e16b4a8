"""Hostile data files (and a hang guard for loaders that might block, e.g. on a FIFO)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .presets import _npy, npy_header_only

# ------------------------------------------------------------------------------------------ data files


def data_file_cases(folder: Path, big_rows: int = 10_000_000) -> list[tuple[str, Path, int]]:
    """(label, path, dim) for broken or hostile data files written into `folder`.

    big_rows: rows of the large CSV (written quickly as bytes of a repeated block)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path, int]] = []

    def add(label: str, name: str, data: bytes | str | None, dim: int = 2) -> None:
        p = folder / name
        if data is not None:
            p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        out.append((label, p, dim))

    add("empty", "empty.csv", b"")
    add("whitespace only", "blank.csv", "\n\n   \n\t\n")
    add("header only", "header.csv", "x,y\n")
    add("comments only", "comments.csv", "# a\n# b\n")
    add("one row", "one.csv", "1.0,2.0\n")
    add("one row, no newline", "one_nonl.csv", "1.0,2.0")
    add("wrong column count", "ragged.csv", "1,2\n3,4,5\n6,7\n")
    add("too few columns", "narrow.csv", "1\n2\n3\n")
    add("text in numeric column", "text.csv", "x,y\n1,2\n3,abc\n")
    add("NaN row", "nan.csv", "1,2\nnan,3\n4,5\n")
    add("inf row", "inf.csv", "1,2\ninf,3\n")
    add("NaN in npy", "nan.npy", _npy(np.array([[1.0, np.nan], [2.0, 3.0]])))
    add("huge numbers", "huge.csv", "1e400,2\n3,4\n")
    add("semicolons", "semi.csv", "1;2\n3;4\n")
    add("tabs", "tabs.tsv", "1\t2\n3\t4\n")
    add("mixed delimiters", "mixed.csv", "1,2\n3 4\n")
    add("empty field", "emptyfield.csv", "1,\n2,3\n")
    add("quoted numbers", "quoted.csv", '"1","2"\n"3","4"\n')
    add("hex and underscores", "hex.csv", "0x10,1_000\n1,2\n")
    add("binary garbage .csv", "garbage.csv", bytes(random.Random(0).getrandbits(8) for _ in range(4096)))
    add("NUL bytes .csv", "nul.csv", b"1,2\n\x00\x00\x00\n3,4\n")
    add("UTF-16 .csv", "utf16.csv", "1,2\n3,4\n".encode("utf-16"))
    add("latin-1 header", "latin.csv", "x\xe9,y\n1,2\n".encode("latin-1"))
    add("BOM", "bom.csv", b"\xef\xbb\xbf1,2\n3,4\n")
    add("very long line", "longline.csv", "1," * 200_000 + "1\n")
    add("CRLF", "crlf.csv", b"1,2\r\n3,4\r\n")
    add("binary garbage .npy", "garbage.npy", bytes(random.Random(1).getrandbits(8) for _ in range(4096)))
    add("npy magic then garbage", "magic.npy", b"\x93NUMPY\x01\x00" + b"\xff" * 100)
    add("npy object array (pickle)", "object.npy", _npy(np.array([{"a": 1}, None], dtype=object)))
    add("npy string array", "strings.npy", _npy(np.array([["a", "b"]])))
    add("npy structured", "struct.npy", _npy(np.zeros(3, dtype=[("a", "f8"), ("b", "f8")])))
    add("npy complex", "complex.npy", _npy(np.zeros((3, 2), dtype=complex)))
    add("npy 3-D", "cube.npy", _npy(np.zeros((2, 2, 2))))
    add("npy 0-D", "scalar.npy", _npy(np.array(1.0)))
    add("npy empty", "empty.npy", _npy(np.zeros((0, 2))))
    add("npy 1-D for 2-D", "flat.npy", _npy(np.zeros(4)))
    add("npy truncated", "trunc.npy", _npy(np.arange(200.0).reshape(100, 2))[:-50])
    add("npy header claims 10^12 rows", "rows.npy", npy_header_only((10**12, 2)))
    add("npy header claims 10^12 columns", "cols.npy", npy_header_only((4, 10**12)))
    add("npy header claims 10^6 x 10^6", "square.npy", npy_header_only((10**6, 10**6)))
    add("npy big-endian ok", "be.npy", _npy(np.arange(6.0).reshape(3, 2).astype(">f8")))
    add("npy fortran ok", "fortran.npy", _npy(np.asfortranarray(np.arange(6.0).reshape(3, 2))))
    add("wrong extension", "data.json", "[[1,2]]")
    add("no extension", "noext", "1,2\n")
    add("missing file", "missing.csv", None)
    add("long file name", "a" * 300 + ".csv", None)
    add("directory", "adir.csv", None)
    (folder / "adir.csv").mkdir(exist_ok=True)
    if hasattr(os, "mkfifo"):
        if not os.path.lexists(folder / "fifo.csv"):
            os.mkfifo(folder / "fifo.csv")
        add("FIFO .csv", "fifo.csv", None)
    for name, target in [("zero.csv", "/dev/zero"), ("urandom.npy", "/dev/urandom"), ("mem.csv", "/proc/self/mem")]:
        if not os.path.lexists(folder / name):
            os.symlink(target, folder / name)
        add(f"link to {target}", name, None)
    if not os.path.lexists(folder / "loop.csv"):
        os.symlink("loop.csv", folder / "loop.csv")
    add("symlink loop", "loop.csv", None)
    add("/dev/null", "/dev/null", None)
    add("/dev/zero", "/dev/zero", None)
    if big_rows:
        t0 = time.perf_counter()
        add(f"{big_rows} rows", "big.csv", None)
        write_big_csv(folder / "big.csv", big_rows)
        out[-1] = (f"{big_rows} rows (written in {time.perf_counter() - t0:.1f} s)", folder / "big.csv", 2)
    return out


def write_big_csv(path: Path, rows: int) -> None:
    """rows lines of 'x,y' written as repeated bytes (fast: ~0.1 s per 10^7 rows of I/O)."""
    rng = np.random.default_rng(0)
    block_rows = 10_000
    block = "".join(f"{a:.6f},{b:.6f}\n" for a, b in rng.normal(size=(block_rows, 2))).encode()
    with open(path, "wb") as f:
        f.write(b"x,y\n")
        full, rest = divmod(rows, block_rows)
        for _ in range(full):
            f.write(block)
        if rest:
            f.write(b"".join(block.splitlines(keepends=True)[:rest]))


def guarded(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; AssertionError if it is still running after `timeout` s (a FIFO, a hang)."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"still running after {timeout} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")
