"""`ebmlab sweep PRESET --grid key.path=v1,v2 --seeds 0-9`: every grid point x seed as one `ebmlab run`, on Dask.

Everything is checked before anything starts (grid keys and values, seeds, the output folder, the
scheduler); then finished runs in --out are skipped (resume), the rest run on the cluster, each record is
saved as it arrives, and the tables, summary and plots are written at the end (also after Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ..core.errors import EbmlabError
from .common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train a preset over a grid of settings x seeds on Dask")
    p.add_argument("preset", help="preset file, or the name of a bundled preset")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY.PATH=V1,V2,...",
        help="a setting and its values (repeatable; the grid is their product), e.g. estimator.k=1,5,10",
    )
    p.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-9 or 0,3,7 (default 0-4)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default: the preset's)")
    p.add_argument("--out", default=None, help="results folder (default: sweep-<preset stem>); reruns resume")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing Dask scheduler, tcp://host:8786")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default 2; not with --scheduler)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..config.presets import find_preset, load_preset
    from ..sweep.engine import Engine
    from ..sweep.spec import expand, parse_grid, parse_seeds
    from ..sweep.store import SweepStore
    from ..sweep.task import make_payload

    if args.steps is not None and args.steps < 1:
        raise EbmlabError(f"--steps {args.steps}: must be >= 1")
    if args.scheduler and args.workers is not None:
        raise EbmlabError("--workers sets the size of a local cluster; an existing --scheduler has its own workers")
    workers = 2 if args.workers is None else args.workers
    if args.threads < 1:
        raise EbmlabError(f"--threads {args.threads}: must be >= 1")
    axes = [parse_grid(g) for g in args.grid]
    seeds = parse_seeds(args.seeds)
    path = find_preset(args.preset)
    loaded = load_preset(path)
    points = expand(loaded.experiment, loaded.weights, axes, seeds, args.steps)
    keys = [a.key for a in axes]
    store = SweepStore(args.out or f"sweep-{path.stem}")
    wanted = {p.run_id for p in points}
    done = {k: v for k, v in store.finished().items() if k in wanted}
    todo = [p for p in points if p.run_id not in done]
    records = dict(done)
    manifest = {
        "preset": str(path.resolve()),
        "grid": {a.key: list(a.values) for a in axes},
        "seeds": seeds,
        "steps": args.steps or loaded.experiment.training.steps,
        "runs": [p.run_id for p in points],
        "ebmlab": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    say = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else (lambda msg: None)
    interrupted = False
    t0 = time.perf_counter()
    # no cluster is started when every run has finished already
    with Engine(args.scheduler, workers, args.threads) if todo else contextlib.nullcontext() as engine:
        store.prepare(manifest)
        say(
            f"sweep: {len(points)} runs ({len(points) // len(seeds)} settings x {len(seeds)} seeds) in {store.folder}; "
            f"{len(done)} already finished, {len(todo)} to run" + (f" on {engine.n_workers} worker(s)" if todo else "")
        )
        if todo and engine.dashboard:
            say(f"sweep: Dask dashboard at {engine.dashboard}")
        if todo:
            payloads = [make_payload(p, loaded.weights, str(path.parent.resolve()), args.threads) for p in todo]
            bar = _progress(len(points), len(done), args.quiet)

            def on_record(record: dict) -> None:
                store.save_record(record)
                records[record["run_id"]] = record
                bar.update(1)
                if record["status"] != "ok":
                    bar.write(f"sweep: seed {record['seed']} {record['status']}: {record['reason']}", file=sys.stderr)

            try:
                engine.run(payloads, on_record)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                bar.close()
    ordered = [records[p.run_id] for p in points if p.run_id in records]
    summary = _report(store, ordered, keys, points, time.perf_counter() - t0, interrupted)
    if args.json:
        print_json(summary)
    else:
        from ..sweep.summary import format_summary

        print(format_summary(summary["settings"]))
        print(f"results in {store.folder}: " + ", ".join(Path(f).name for f in summary["files"]))
    if interrupted:
        print(f"sweep interrupted: {len(ordered)} of {len(points)} runs finished; rerun the same command to complete")
        return 130
    return 0 if all(r["status"] == "ok" for r in ordered) and len(ordered) == len(points) else 1


def _progress(total: int, initial: int, quiet: bool):
    from tqdm import tqdm

    disable = True if quiet else None  # None: only on a terminal
    return tqdm(total=total, initial=initial, unit="run", desc="sweep", disable=disable, file=sys.stderr)


def _report(store, records: list[dict], keys: list[str], points, seconds: float, interrupted: bool) -> dict:
    """Write the tables, summary.json and plots; returns the summary object (also printed with --json)."""
    from ..sweep.plots import write_plots
    from ..sweep.store import write_json
    from ..sweep.summary import summarise

    files = store.write_tables(records, keys)
    settings = summarise(records, keys)
    summary = {
        "folder": str(store.folder),
        "runs": len(points),
        "finished": len(records),
        "ok": sum(r["status"] == "ok" for r in records),
        "failed": sum(r["status"] == "failed" for r in records),
        "lost": sum(r["status"] == "lost" for r in records),
        "interrupted": interrupted,
        "seconds": seconds,
        "settings": settings,
    }
    files.append(write_json(store.folder / "summary.json", summary))
    files += write_plots(records, keys, store.folder / "plots")
    summary["files"] = [str(f) for f in files]
    return summary
