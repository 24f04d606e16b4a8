"""Langevin kernels: unadjusted (ULA, name 'langevin') and Metropolis-adjusted (MALA, name 'mala').

Convention used everywhere in ebmlab, with eta = step_size and z ~ N(0, I):

    x' = x - (eta / 2) * grad E(x) + sqrt(eta) * z

so the proposal density is q(x' | x) = N(x'; x - (eta/2) grad E(x), eta I) and, as eta -> 0, ULA
samples p(x) = exp(-E(x)) / Z. MALA accepts x' with probability
min(1, exp(-E(x') + E(x)) q(x | x') / q(x' | x)), computed in log space.

Both States cache E(x) (chains,) and grad E(x) (chains, d), so one step costs ONE
`energy.energy_and_grad` evaluation (at the proposal). A proposal with a non-finite energy or
gradient is rejected (accept prob 0) and never enters the state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..params import param
from .base import Info, Sampler, metropolis, register


class LangevinState(NamedTuple):
    """x: (chains, d); energy: E(x) (chains,); grad: dE/dx (chains, d)."""

    x: Tensor
    energy: Tensor
    grad: Tensor


@dataclass(frozen=True)
class LangevinParams:
    step_size: float = param(
        0.01, lo=0.0, lo_open=True, hi=10.0, log=True, help="eta in x' = x - (eta/2) grad E + sqrt(eta) z"
    )


@dataclass(frozen=True)
class MALAParams:
    step_size: float = param(
        0.05, lo=0.0, lo_open=True, hi=10.0, log=True, help="eta in x' = x - (eta/2) grad E + sqrt(eta) z"
    )


def init(x: Tensor, energy, params=None) -> LangevinState:
    """State at x (chains, d): evaluates E(x) and grad E(x) once."""
    x = x.detach()
    e, g = energy.energy_and_grad(x)
    return LangevinState(x, e, g)


def _finite_rows(e: Tensor, g: Tensor) -> Tensor:
    """(chains,) bool: energy and every gradient component finite. One fused reduction."""
    return torch.isfinite(e + g.sum(dim=1))


def ula_step(gen: torch.Generator, state: LangevinState, energy, params: LangevinParams) -> tuple[LangevinState, Info]:
    """One unadjusted Langevin step. accept_prob is 1 except where the new point is non-finite
    (then the chain stays put and reports 0)."""
    x, g = state.x, state.grad
    eta = params.step_size
    z = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)
    xp = x - (0.5 * eta) * g
    xp.add_(z, alpha=math.sqrt(eta))
    ep, gp = energy.energy_and_grad(xp)
    ok = _finite_rows(ep, gp)
    ok_col = ok.unsqueeze(1)
    new = LangevinState(torch.where(ok_col, xp, x), torch.where(ok, ep, state.energy), torch.where(ok_col, gp, g))
    acc = ok.to(x.dtype)
    return new, Info(acc, acc)


def mala_step(gen: torch.Generator, state: LangevinState, energy, params: MALAParams) -> tuple[LangevinState, Info]:
    """One MALA step: Langevin proposal + Metropolis-Hastings correction.

    log alpha = E(x) - E(x') + log q(x | x') - log q(x' | x), with
    log q(x' | x) = -|z|^2 / 2 and log q(x | x') = -|x - x' + (eta/2) grad E(x')|^2 / (2 eta)
    (the shared normalising constants cancel).
    """
    x, e, g = state
    eta = params.step_size
    sq = math.sqrt(eta)
    z = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)
    # xp = x - (eta/2) g + sqrt(eta) z
    xp = x - (0.5 * eta) * g
    xp.add_(z, alpha=sq)
    ep, gp = energy.energy_and_grad(xp)
    # r = (x - x' + (eta/2) g') / sqrt(eta) = (sqrt(eta)/2) (g + g') - z
    r = g + gp
    r.mul_(0.5 * sq).sub_(z)
    # log alpha = E - E' + (|z|^2 - |r|^2) / 2
    log_alpha = (z * z - r * r).sum(dim=1)
    log_alpha.mul_(0.5).add_(e).sub_(ep)
    # NaN/inf anywhere (E', grad E') makes log_alpha non-finite -> reject.
    fields, info = metropolis(gen, log_alpha, (x, e, g), (xp, ep, gp))
    return LangevinState(*fields), info


register(
    Sampler(
        "langevin",
        LangevinParams,
        init,
        ula_step,
        "continuous",
        "Unadjusted Langevin (ULA): x' = x - (eta/2) grad E + sqrt(eta) z; biased by O(eta)",
    )
)
register(
    Sampler(
        "mala",
        MALAParams,
        init,
        mala_step,
        "continuous",
        "Metropolis-adjusted Langevin (MALA): Langevin proposal with an MH correction; exact",
    )
)
