"""`ebmlab logz`: log Z of an energy, exact or estimated, as text or one JSON object."""

from __future__ import annotations

import argparse
import time

from ..core.errors import EbmlabError
from .common import add_energy_args, energy_from_args, print_json

METHODS = ("exact",)


def add_parser(sub) -> None:
    p = sub.add_parser("logz", help="log partition function of an energy")
    add_energy_args(p)
    p.add_argument("--method", default="exact", help="exact (quadrature / enumeration)")
    p.add_argument("--grid", type=int, default=None, help="quadrature points per dimension")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.method not in METHODS:
        raise EbmlabError(f"--method {args.method!r}: choose one of {', '.join(METHODS)}")
    energy = energy_from_args(args)
    from ..core.partition.exact import exact_log_z

    t0 = time.perf_counter()
    res = exact_log_z(energy, n=args.grid) if args.grid else exact_log_z(energy)
    seconds = time.perf_counter() - t0
    warnings = [res.warning] if res.warning else []
    if args.json:
        print_json(
            {
                "method": "exact",
                "exact_method": res.method,
                "log_z": res.log_z,
                "stderr": 0.0,
                "exact_log_z": res.log_z,
                "n_points": res.n_points,
                "edge_fraction": res.edge_fraction,
                "warnings": warnings,
                "seconds": seconds,
            }
        )
    else:
        print(f"log Z = {res.log_z:.6f}  (exact, {res.method}, {res.n_points} points, {seconds:.3f} s)")
        for w in warnings:
            print(f"warning: {w}")
    return 0
