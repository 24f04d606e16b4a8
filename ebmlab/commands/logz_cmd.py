"""`ebmlab logz`: log Z of an energy (typed or from a preset's model), exact or estimated, with its error."""

from __future__ import annotations

import argparse
import time

from ..core.errors import EbmlabError
from .common import add_energy_args, energy_from_args, print_json

METHODS = ("exact", "is", "ais", "rais", "bdmc")


def add_parser(sub) -> None:
    p = sub.add_parser("logz", help="log partition function of an energy (exact, IS, AIS, reverse AIS, BDMC)")
    p.add_argument("preset", nargs="?", default=None, help="a preset (its model) instead of --energy")
    add_energy_args(p, required=False)
    p.add_argument("--method", default="exact", help="exact | is | ais | rais | bdmc")
    p.add_argument("--particles", type=int, default=1000)
    p.add_argument("--temps", type=int, default=500)
    p.add_argument("--schedule", default="sigmoid", help="linear | geometric | sigmoid | adaptive")
    p.add_argument("--kernel", default=None, help="mala | hmc | rwm | gibbs (default: mala, gibbs for binary)")
    p.add_argument("--steps-per-temp", type=int, default=1)
    p.add_argument("--runs", type=int, default=1, help="independent runs, combined")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", type=int, default=None, help="quadrature points per dimension (exact)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _energy(args: argparse.Namespace):
    if args.preset and args.energy:
        raise EbmlabError("give either a preset or --energy, not both")
    if args.energy:
        return energy_from_args(args)
    if not args.preset:
        raise EbmlabError("give an energy: --energy EXPR, or a preset")
    from ..config.presets import find_preset, load_preset
    from ..core.models import build_model

    loaded = load_preset(find_preset(args.preset))
    exp = loaded.experiment
    energy = build_model(exp.model.kind, exp.model.settings, exp.seed)
    if loaded.weights:
        import torch

        energy.load_state_dict({k: torch.as_tensor(v) for k, v in loaded.weights.items()})
    return energy


def run(args: argparse.Namespace) -> int:
    if args.method not in METHODS:
        raise EbmlabError(f"--method {args.method!r}: choose one of {', '.join(METHODS)}")
    if not 1 <= args.runs <= 1000:
        raise EbmlabError(f"--runs must be between 1 and 1000, got {args.runs}")
    energy = _energy(args)
    t0 = time.perf_counter()
    if args.method == "exact":
        out = _exact(energy, args)
    else:
        out = _estimate(energy, args)
    out["seconds"] = time.perf_counter() - t0
    if args.json:
        print_json(out)
        return 0
    se = f" ± {out['stderr']:.4f} (1 SE)" if out["stderr"] else ""
    print(f"log Z = {out['log_z']:.6f}{se}   [{out['method']}, {out['seconds']:.2f} s]")
    if out.get("exact_log_z") is not None and out["method"] != "exact":
        print(f"exact log Z = {out['exact_log_z']:.6f}")
    if out.get("reverse_log_z") is not None:
        print(f"reverse AIS (upper bound) = {out['reverse_log_z']:.6f} ± {out['reverse_stderr']:.4f}")
    if out.get("ess") is not None:
        print(f"ESS = {out['ess']:.1f} of {out['n']}")
    for w in out["warnings"]:
        print(f"warning: {w}")
    return 0


def _exact(energy, args) -> dict:
    from ..core.grid import MAX_GRID_CELLS, check_grid_cost
    from ..core.partition.exact import exact_log_z
    from ..core.space import ContinuousSpace

    if args.grid and isinstance(energy.space, ContinuousSpace):  # 0: by dimension
        if args.grid < 2:
            raise EbmlabError(f"--grid: points per dimension must be >= 2 (or 0: by dimension), got {args.grid}")
        # one explicit computation, not repeated while training: the memory cap, not the training one
        check_grid_cost(args.grid, energy.space.dim, "--grid", limit=MAX_GRID_CELLS)
    res = exact_log_z(energy, n=args.grid) if args.grid else exact_log_z(energy)
    return {
        "method": "exact",
        "exact_method": res.method,
        "log_z": res.log_z,
        "stderr": 0.0,
        "exact_log_z": res.log_z,
        "n_points": res.n_points,
        "edge_fraction": res.edge_fraction,
        "warnings": [res.warning] if res.warning else [],
    }


def _estimate(energy, args) -> dict:
    from ..core.partition.checked import checked_log_z
    from ..core.space import BinarySpace

    kernel = args.kernel or ("gibbs" if isinstance(energy.space, BinarySpace) else "mala")
    settings = dict(
        particles=args.particles,
        temps=args.temps,
        schedule=args.schedule,
        kernel=kernel,
        steps_per_temp=args.steps_per_temp,
        seed=args.seed,
    )
    res = checked_log_z(energy, args.method, runs=args.runs, **settings)
    est = res.estimate
    out = est.to_json()
    out["method"] = args.method
    out["warnings"] = list(est.warnings)
    out["exact_log_z"] = est.exact_log_z
    if res.reverse is not None:
        out["reverse_log_z"] = res.reverse.log_z
        out["reverse_stderr"] = res.reverse.stderr
    return out
