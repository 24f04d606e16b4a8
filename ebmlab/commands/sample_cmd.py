"""`ebmlab sample`: run sampler chains on an energy and save the final positions (.npy)."""

from __future__ import annotations

import argparse
import os
import time

from ..core.errors import EbmlabError
from .common import add_energy_args, energy_from_args, print_json


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from an energy with a sampler")
    add_energy_args(p)
    p.add_argument("--sampler", default="mala", help="langevin | mala | hmc | rwm | grid")
    p.add_argument("--n", type=int, default=1000, help="number of chains (= samples)")
    p.add_argument("--steps", type=int, default=500, help="steps per chain")
    p.add_argument("--step-size", type=float, default=None, help="sampler step size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="where to save the samples (.npy)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    import numpy as np  # here, not at the top: `ebmlab --help` must not pay for torch
    import torch

    from ..core.diagnostics import acceptance_rate
    from ..core.params import check
    from ..core.samplers import SAMPLERS

    if not 1 <= args.n <= 1_000_000:
        raise EbmlabError(f"--n must be between 1 and 1000000, got {args.n}")
    if not 0 <= args.steps <= 1_000_000:
        raise EbmlabError(f"--steps must be between 0 and 1000000, got {args.steps}")
    if args.out and not args.out.endswith(".npy"):
        raise EbmlabError(f"--out {args.out!r}: samples are saved as .npy; give a name ending in .npy")
    energy = energy_from_args(args)
    sampler = SAMPLERS.get(args.sampler)
    if sampler.space == "binary":
        raise EbmlabError(f"sampler {args.sampler!r} is for binary models; this energy is continuous")
    kwargs = {} if args.step_size is None else {"step_size": args.step_size}
    try:
        params = check(sampler.params_cls(**kwargs), "sampler")
    except TypeError:
        raise EbmlabError(f"sampler {args.sampler!r} has no step size") from None
    gen = torch.Generator().manual_seed(args.seed)
    space = energy.space
    lo = torch.tensor([b[0] for b in space.box], dtype=torch.float64)
    hi = torch.tensor([b[1] for b in space.box], dtype=torch.float64)
    x0 = lo + (hi - lo) * torch.rand(args.n, space.dim, generator=gen, dtype=torch.float64)
    t0 = time.perf_counter()
    state = sampler.init(x0, energy, params)
    accepted = []
    for _ in range(args.steps):
        state, info = sampler.step(gen, state, energy, params)
        accepted.append(info.accepted.mean().item())
    seconds = time.perf_counter() - t0
    x = state.x.numpy()
    finite = np.isfinite(x).all(axis=1)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        np.save(args.out, x)
    acc = acceptance_rate(np.asarray(accepted)) if accepted else float("nan")
    summary = {
        "sampler": args.sampler,
        "n": args.n,
        "steps": args.steps,
        "acceptance": acc if np.isfinite(acc) else None,
        "diverged_chains": int((~finite).sum()),
        "mean": x[finite].mean(axis=0).tolist() if finite.any() else None,
        "std": x[finite].std(axis=0).tolist() if finite.any() else None,
        "out": args.out,
        "seconds": seconds,
    }
    if args.json:
        print_json(summary)
    else:
        where = f", saved to {args.out}" if args.out else ""
        print(f"{args.n} chains x {args.steps} steps of {args.sampler} in {seconds:.2f} s{where}")
        print(f"acceptance {acc:.3f}, mean {summary['mean']}, std {summary['std']}")
    return 0
