"""`ebmlab bench`: print the benchmark table (one torch thread unless --threads)."""

from __future__ import annotations

import argparse
import importlib

from ..core.errors import EbmlabError
from .common import print_json

ROW_MODULES = (
    "core_rows",
    "estimator_rows",
    "logz_rows",
    "gui_rows",
    "hardening_rows",
    "fault_rows",
    "startup_rows",
    "sweep_rows",
)


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="speed and memory figures against bare references")
    p.add_argument("--only", nargs="*", default=None, help="groups to run (default: all)")
    p.add_argument("--quick", action="store_true", help="shorter measurements")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--soak", type=float, metavar="MINUTES", help="a live run in the window instead; exit 0/1")


def run(args: argparse.Namespace) -> int:
    from ..bench.table import GROUPS, render
    from ..core.compute_thread import configure_compute_thread

    if args.soak is not None:
        from ..bench.soak_run import run_soak

        return run_soak(args.soak, as_json_out=args.json)
    configure_compute_thread(args.threads)  # the bare references run under the same settings
    for m in ROW_MODULES:
        importlib.import_module(f"ebmlab.bench.{m}")
    names = args.only or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise EbmlabError(f"unknown bench group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    rows = []
    for name in names:
        rows += GROUPS[name](args.quick)
        if not args.json:
            print(render(rows), flush=True) if name == names[-1] else None
    if args.json:
        print_json([r.__dict__ for r in rows])
    return 0 if all(r.ok is not False for r in rows) else 1
