"""One sweep run as a pure function of plain data, executed on a Dask worker (or in-process).

The payload carries the resolved experiment as its preset dict, the preset's initial weights and the
folder its file references resolve against; the result is a JSON-ready record. The numbers are those of
`ebmlab run` with the same settings: both train through ebmlab.core.headless_run.train_headless.
"""

from __future__ import annotations

import math
import platform
import time
import traceback
from typing import Any

import numpy as np

FINAL_METRICS = ("loss", "nll_exact", "log_z_exact", "logz_estimate", "logz_stderr", "c")


def make_payload(point: Any, weights: dict[str, np.ndarray] | None, preset_dir: str, threads: int = 1) -> dict:
    """What a worker needs for one RunPoint (plain data: picklable, no open files)."""
    from ..config.schema import experiment_to_dict

    return {
        "run_id": point.run_id,
        "setting": point.setting,
        "seed": point.seed,
        "experiment": experiment_to_dict(point.experiment),
        "weights": weights,
        "preset_dir": preset_dir,
        "threads": threads,
    }


def _finite_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def run_payload(payload: dict) -> dict:
    """Train one run; never raises for a problem of the run itself (it is recorded with its reason)."""
    from pathlib import Path

    from ..config.presets import resolve_inside
    from ..config.schema import experiment_from_dict
    from ..core.compute_thread import configure_compute_thread
    from ..core.headless_run import train_headless

    configure_compute_thread(payload.get("threads", 1))
    record: dict[str, Any] = {
        "run_id": payload["run_id"],
        "setting": payload["setting"],
        "seed": payload["seed"],
        "host": platform.node(),
    }
    t0 = time.perf_counter()
    try:
        exp = experiment_from_dict(payload["experiment"])
        folder = Path(payload["preset_dir"])
        trainer, seconds = train_headless(exp, payload["weights"], lambda ref: resolve_inside(folder, ref, "preset"))
    except Exception as e:  # noqa: BLE001 - any failure of one run is that run's result, not the sweep's
        record.update(status="failed", reason=f"{type(e).__name__}: {e}", wall_s=time.perf_counter() - t0)
        record["traceback"] = traceback.format_exc(limit=6)
        record["history"] = []
        return record
    summary = trainer.summary()
    failed = trainer.status == "error"
    record.update(
        status="failed" if failed else "ok",
        reason=summary.get("error", "") if failed else "",
        steps=int(trainer.step_count),
        estimator=summary["estimator"],
        train_s=seconds,
        steps_per_s=trainer.step_count / seconds if seconds > 0 else None,
        wall_s=time.perf_counter() - t0,
        params={k: _finite_or_none(v) for k, v in summary.get("params", {}).items()},
        **{k: _finite_or_none(summary.get(k)) for k in FINAL_METRICS},
    )
    record["history"] = [
        {k: int(v) if k == "step" else _finite_or_none(v) for k, v in row.items()} for row in trainer.history.rows()
    ]
    return record
