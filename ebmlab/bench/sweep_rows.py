"""Sweep rows: 16 short runs on a 2-worker Dask LocalCluster against the same 16 one after another in this process.

throughput ratio = serial seconds / parallel seconds (both with warm processes; the cluster's start is its own
row). overhead per task = (parallel seconds x workers - serial seconds) / tasks: the worker-seconds a task
costs beyond its own compute (scheduling, transfer, result handling, and any sharing of the cores).
"""

from __future__ import annotations

import time

from .table import Row, group

TASKS = 16
WORKERS = 2
RATIO_TARGET = 1.6


def _payloads(steps: int) -> list[dict]:
    from ..config.presets import find_preset, load_preset
    from ..sweep.spec import expand, parse_grid
    from ..sweep.task import make_payload

    path = find_preset("01_partition_function")
    loaded = load_preset(path)
    axes = [parse_grid("optimiser.lr=0.01,0.02,0.03,0.04")]
    points = expand(loaded.experiment, loaded.weights, axes, [0, 1, 2, 3], steps)
    return [make_payload(p, loaded.weights, str(path.parent.resolve())) for p in points]


def _bare_pool_seconds(payloads: list[dict]) -> float:
    """The same runs on a bare concurrent.futures pool of WORKERS spawned processes, each warmed by one run."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ..sweep.task import run_payload

    with ProcessPoolExecutor(WORKERS, mp_context=mp.get_context("spawn")) as pool:
        list(pool.map(run_payload, [payloads[0]] * WORKERS, chunksize=1))  # not a guarantee of one each, close
        t0 = time.perf_counter()
        list(pool.map(run_payload, payloads, chunksize=1))
        return time.perf_counter() - t0


@group("sweep")
def sweep_rows(quick: bool) -> list[Row]:
    from ..sweep.engine import Engine
    from ..sweep.task import run_payload

    payloads = _payloads(150 if quick else 400)
    run_payload(payloads[0])  # warm this process too
    t0 = time.perf_counter()
    serial = [run_payload(p) for p in payloads]
    serial_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Engine(None, WORKERS) as engine:
        engine.client.run(run_payload, payloads[0])  # one run per worker, as this process had: warm both
        start_s = time.perf_counter() - t0
        parallel: list[dict] = []
        t0 = time.perf_counter()
        engine.run(payloads, parallel.append)
        parallel_s = time.perf_counter() - t0
    bare_s = _bare_pool_seconds(payloads)
    same = {r["run_id"]: r["nll_exact"] for r in serial} == {r["run_id"]: r["nll_exact"] for r in parallel}
    ok_runs = all(r["status"] == "ok" for r in parallel) and len(parallel) == TASKS
    ratio = serial_s / parallel_s
    overhead = (parallel_s * WORKERS - serial_s) / TASKS
    per_run = serial_s / TASKS
    note = f"{TASKS} runs of ~{per_run:.2f} s (lesson 01), {WORKERS} local worker processes, 1 torch thread each"
    return [
        Row(
            "sweep",
            f"{TASKS} runs on {WORKERS} workers: throughput",
            ratio,
            "x serial",
            target=f">= {RATIO_TARGET:g}x, same numbers",
            ok=ratio >= RATIO_TARGET and same and ok_runs,
            reference=serial_s,
            ratio=ratio,
            note=note + ("; numbers identical to the serial runs" if same else "; numbers DIFFER from the serial runs"),
        ),
        Row(
            "sweep",
            "Dask throughput vs a bare process pool",
            bare_s / parallel_s,
            "x",
            reference=bare_s,
            ratio=bare_s / parallel_s,
            note=f"the same {TASKS} runs on a plain 2-process pool (the ceiling here: {serial_s / bare_s:.2f}x serial)",
        ),
        Row(
            "sweep",
            "overhead per task",
            overhead * 1000,
            "ms",
            note=f"worker-seconds beyond the run itself: (parallel {parallel_s:.2f} s x {WORKERS} - serial) / {TASKS}",
        ),
        Row("sweep", "LocalCluster start (2 workers)", start_s, "s", note="processes spawned, one warm-up run each"),
    ]
