"""`ebmlab run PRESET`: train headless, write metrics (CSV) and the final preset + weights, print a summary."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..core.errors import EbmlabError
from .common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="train a preset headless")
    p.add_argument("preset", help="preset file, or the name of a bundled preset (see `ebmlab presets`)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "mps"))
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a setting")
    p.add_argument("--out", default=None, help="folder for metrics.csv, preset.json and weights")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal)."""

    def __init__(self, total: int, enabled: bool):
        self.total = max(total, 1)
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0
        self.t0 = time.perf_counter()

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.2):
            return
        self.last = now
        frac = done / self.total
        bar = "#" * int(30 * frac)
        rate = done / max(now - self.t0, 1e-9)
        sys.stderr.write(f"\r[{bar:<30}] {done}/{self.total} steps  {rate:.0f} steps/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def load_experiment(args: argparse.Namespace):
    from ..config.presets import find_preset, load_preset
    from ..config.schema import parse_override, with_overrides

    loaded = load_preset(find_preset(args.preset))
    exp = loaded.experiment
    overrides = [parse_override(s) for s in args.set]
    if args.seed is not None:
        overrides.append((["seed"], args.seed))
    if args.device is not None:
        overrides.append((["device"], args.device))
    if args.steps is not None:
        overrides.append((["training", "steps"], args.steps))
    if overrides:
        exp = with_overrides(exp, overrides)
    return loaded, exp


def run(args: argparse.Namespace) -> int:
    from ..config.presets import save_preset
    from ..core.headless_run import train_headless
    from ..core.tables import write_csv

    loaded, exp = load_experiment(args)
    progress = Progress(exp.training.steps, not (args.quiet or args.json))
    trainer, seconds = train_headless(exp, loaded.weights, loaded.resolve, on_step=progress.update)
    progress.update(trainer.step_count, force=True)
    progress.close()
    summary = {"preset": str(loaded.path), "seed": exp.seed, "seconds": seconds, **trainer.summary()}
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_csv(out / "metrics.csv", trainer.history.rows())
        except OSError as e:
            raise EbmlabError(f"--out {args.out}: cannot write ({e.strerror or e})") from None
        final = replace(exp, weights=None)
        save_preset(final, out / "preset.json", weights=trainer.weights())
        summary["out"] = str(out)
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['steps']} steps of {summary['estimator']} in {seconds:.2f} s")
        for k in ("loss", "nll_exact", "log_z_exact", "c", "logz_estimate"):
            if summary.get(k) is not None:
                print(f"  {k:14s} {summary[k]:.6f}")
        for k, v in summary["params"].items():
            print(f"  {k:14s} {v:.6f}")
        if "error" in summary:
            print(f"stopped: {summary['error']}")
    return 1 if trainer.status == "error" else 0
