"""Argument helpers shared by commands: building an energy from --energy/--param/--dim/--box."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from ..core.errors import EbmlabError


def add_energy_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--energy", metavar="EXPR", required=required, help="energy expression, e.g. 'x**2/2'")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="expression parameter (repeatable)"
    )
    p.add_argument("--dim", type=int, default=None, help="dimension (inferred from the variables if omitted)")
    p.add_argument(
        "--box",
        nargs="+",
        type=float,
        default=None,
        metavar="LO HI",
        help="one LO HI pair, or one per dimension",
    )


def parse_params(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise EbmlabError(f"--param {item!r}: expected NAME=VALUE, e.g. a=0.1")
        try:
            v = float(value)
        except ValueError:
            raise EbmlabError(f"--param {item!r}: {value!r} is not a number") from None
        if not math.isfinite(v):
            raise EbmlabError(f"--param {item!r}: the value must be finite")
        out[name.strip()] = v
    return out


def parse_box(values: list[float] | None, dim: int) -> tuple[tuple[float, float], ...] | None:
    """One LO HI pair for every dimension, or one pair per dimension."""
    if values is None:
        return None
    if len(values) == 2:
        pairs = [tuple(values)] * dim
    elif len(values) == 2 * dim:
        pairs = [tuple(values[2 * i : 2 * i + 2]) for i in range(dim)]
    else:
        raise EbmlabError(
            f"--box: expected 2 numbers (one LO HI pair) or {2 * dim} (a pair per dimension), got {len(values)}"
        )
    for i, (lo, hi) in enumerate(pairs):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise EbmlabError(f"--box: interval {i + 1} must have finite LO < HI, got {lo} {hi}")
    return tuple((float(lo), float(hi)) for lo, hi in pairs)


def energy_from_args(args: argparse.Namespace):
    """An ExpressionEnergy from --energy/--param/--dim/--box (dimension inferred if not given)."""
    from ..core.energies.expression import ExpressionEnergy, check_expression

    params = parse_params(args.param)
    dim = check_expression(args.energy, params, args.dim)
    box = parse_box(args.box, dim)
    return ExpressionEnergy(args.energy, params=params, dim=dim, box=box)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, allow_nan=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
