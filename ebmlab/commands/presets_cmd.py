"""`ebmlab presets`: list the bundled presets with a one-line description."""

from __future__ import annotations

import argparse

from .common import print_json


def add_parser(sub) -> None:
    p = sub.add_parser("presets", help="list the bundled presets")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..config.bundled import bundled_presets  # JSON only: no schema, no torch

    items = bundled_presets()
    if args.json:
        print_json([{"file": p.name, "name": n, "description": d} for p, n, d in items])
        return 0
    width = max((len(p.stem) for p, _, _ in items), default=0)
    for p, name, desc in items:
        print(f"{p.stem:<{width}}  {name}: {desc}")
    return 0
