"""A sweep's folder: one JSON record per finished run (written atomically as it arrives), then tidy tables.

DIR/
  sweep.json          what was swept (preset, grid, seeds, steps) and when
  runs/<run_id>.json  one record per finished run (ok or failed): the resume state
  runs.csv            one row per run: every grid setting, seed, status, reason, final metrics, params
  steps.csv           one row per run and evaluated step (long format: run_id, settings, seed, step, metrics)
  runs.parquet, steps.parquet   the same tables, where pyarrow is installed
  summary.json        mean and standard error over seeds per setting (see ebmlab.sweep.summary)
  plots/*.png         see ebmlab.sweep.plots
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..core.atomic import remove_quietly, write_atomic, write_bytes_atomic
from ..core.errors import EbmlabError
from ..core.tables import columns, write_csv

RUN_COLUMNS = (
    "run_id",
    "seed",
    "status",
    "reason",
    "estimator",
    "steps",
    "loss",
    "nll_exact",
    "log_z_exact",
    "logz_estimate",
    "logz_stderr",
    "c",
    "steps_per_s",
    "train_s",
    "wall_s",
    "host",
)
FINISHED = ("ok", "failed")  # a run with either status is not run again on resume


class SweepStore:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.runs = self.folder / "runs"

    def prepare(self, manifest: dict) -> None:
        """Create the folder (or reuse it) and write sweep.json; an error before any run starts."""
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
            for stale in self.runs.glob(".*.tmp.json"):  # a record being written when a sweep was killed
                remove_quietly(stale)
            write_json(self.folder / "sweep.json", manifest)
        except OSError as e:
            raise EbmlabError(f"--out {self.folder}: cannot write there ({e.strerror or e})") from None

    def finished(self) -> dict[str, dict]:
        """run_id -> record of every finished run already in the folder (unreadable files are ignored)."""
        out: dict[str, dict] = {}
        if not self.runs.is_dir():
            return out
        for f in self.runs.glob("*.json"):
            try:
                rec = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(rec, dict) and rec.get("status") in FINISHED and rec.get("run_id") == f.stem:
                out[f.stem] = rec
        return out

    def save_record(self, record: dict) -> Path:
        return write_json(self.runs / f"{record['run_id']}.json", record)

    def write_tables(self, records: list[dict], keys: list[str]) -> list[Path]:
        """runs.csv and steps.csv (and .parquet with pyarrow), rows in grid order; returns the files written."""
        runs = [run_row(r, keys) for r in records]
        steps = [
            {"run_id": r["run_id"], **{k: r["setting"].get(k) for k in keys}, "seed": r["seed"], **h}
            for r in records
            for h in r.get("history", [])
        ]
        written = []
        for name, rows in (("runs", runs), ("steps", steps)):
            written.append(write_csv(self.folder / f"{name}.csv", rows, empty_columns=("run_id",)))
            parquet = write_parquet(self.folder / f"{name}.parquet", rows)
            if parquet:
                written.append(parquet)
        return written


def run_row(record: dict, keys: list[str]) -> dict:
    """A record as one flat row: settings first, then RUN_COLUMNS, then param.<name> columns."""
    row: dict[str, Any] = {"run_id": record["run_id"]}
    row.update({k: cell(record["setting"].get(k)) for k in keys})
    row.update({c: record.get(c) for c in RUN_COLUMNS if c != "run_id"})
    row.update({f"param.{k}": v for k, v in (record.get("params") or {}).items()})
    return row


def cell(v: Any) -> Any:
    """A setting as a table cell: scalars as they are, lists and objects as compact JSON."""
    return json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v


def write_json(path: Path, obj: Any) -> Path:
    return write_bytes_atomic(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())


def write_parquet(path: Path, rows: list[dict]) -> Path | None:
    """The table as Parquet when pyarrow is installed (None otherwise). Columns of mixed types become strings."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    names = columns(rows)
    data = {}
    for name in names:
        values = [r.get(name) for r in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int, float}:
            values = [None if v is None else float(v) for v in values]
        elif len(kinds) > 1:
            values = [None if v is None else str(v) for v in values]
        data[name] = values
    table = pa.table(data) if names else pa.table({"run_id": pa.array([], pa.string())})
    return write_atomic(path, lambda tmp: pq.write_table(table, tmp))
