"""Hamiltonian Monte Carlo (name 'hmc'): unit mass matrix, leapfrog integrator, MH correction.

H(x, p) = E(x) + |p|^2 / 2 with p ~ N(0, I). Leapfrog with eps = step_size, L = n_leapfrog:
    p <- p - (eps/2) grad E(x);  repeat L times: x <- x + eps p, p <- p - eps grad E(x)
    (the last momentum update is a half step). Accept with prob min(1, exp(H_old - H_new)).
The State caches E and grad E, so one step costs L `energy_and_grad` evaluations.
A trajectory that ends with a non-finite energy or gradient is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..params import param
from .base import Info, Sampler, metropolis, register


class HMCState(NamedTuple):
    """x: (chains, d); energy: E(x) (chains,); grad: dE/dx (chains, d)."""

    x: Tensor
    energy: Tensor
    grad: Tensor


@dataclass(frozen=True)
class HMCParams:
    step_size: float = param(0.1, lo=0.0, lo_open=True, hi=10.0, log=True, help="leapfrog step eps")
    n_leapfrog: int = param(5, lo=1, hi=1000, help="leapfrog steps per proposal (L)")


def init(x: Tensor, energy, params: HMCParams | None = None) -> HMCState:
    """State at x (chains, d): evaluates E(x) and grad E(x) once."""
    x = x.detach()
    e, g = energy.energy_and_grad(x)
    return HMCState(x, e, g)


def step(gen: torch.Generator, state: HMCState, energy, params: HMCParams) -> tuple[HMCState, Info]:
    """One HMC transition: fresh momentum, L leapfrog steps, Metropolis accept/reject."""
    x0, e0, g0 = state
    eps = params.step_size
    p0 = torch.randn(x0.shape, generator=gen, dtype=x0.dtype, device=x0.device)
    p = p0 - (0.5 * eps) * g0
    x = x0
    e, g = e0, g0
    n = params.n_leapfrog
    for i in range(n):
        x = x + eps * p
        e, g = energy.energy_and_grad(x)
        p.sub_(g, alpha=eps if i < n - 1 else 0.5 * eps)
    # log alpha = H_old - H_new = E0 - E + (|p0|^2 - |p|^2) / 2
    log_alpha = (p0 * p0 - p * p).sum(dim=1)
    log_alpha.mul_(0.5).add_(e0).sub_(e)
    log_alpha = log_alpha + g.sum(dim=1) * 0.0  # NaN/inf in grad E(x') -> NaN -> reject
    fields, info = metropolis(gen, log_alpha, (x0, e0, g0), (x, e, g))
    return HMCState(*fields), info


register(
    Sampler(
        "hmc",
        HMCParams,
        init,
        step,
        "continuous",
        "Hamiltonian Monte Carlo: unit mass, leapfrog (step_size, n_leapfrog), MH correction",
    )
)
