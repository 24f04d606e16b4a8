"""Rows of dicts as CSV: the union of their keys as columns (first-seen order), written atomically."""

from __future__ import annotations

import csv
from pathlib import Path

from .atomic import write_atomic


def columns(rows: list[dict]) -> list[str]:
    """Every key of every row, in the order first seen."""
    return list(dict.fromkeys(k for r in rows for k in r))


def write_csv(path: str | Path, rows: list[dict], empty_columns: tuple[str, ...] = ()) -> Path:
    """Write `rows` as CSV (missing cells empty); a table with no rows gets `empty_columns` as its header."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns(rows) or list(empty_columns))
            w.writeheader()
            w.writerows(rows)

    return write_atomic(path, write)
