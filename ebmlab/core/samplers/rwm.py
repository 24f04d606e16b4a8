"""Random-walk Metropolis (name 'rwm'): x' = x + s z, z ~ N(0, I), s = step_size.

The proposal is symmetric, so x' is accepted with probability min(1, exp(E(x) - E(x'))).
One step costs one energy evaluation (no gradients). Non-finite E(x') is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..params import param
from .base import Info, Sampler, metropolis, register


class RWMState(NamedTuple):
    """x: (chains, d); energy: E(x) (chains,)."""

    x: Tensor
    energy: Tensor


@dataclass(frozen=True)
class RWMParams:
    step_size: float = param(0.5, lo=0.0, lo_open=True, hi=100.0, log=True, help="proposal scale s in x' = x + s z")


def _energy(energy, x: Tensor) -> Tensor:
    with torch.no_grad():
        return energy(x).detach()


def init(x: Tensor, energy, params: RWMParams | None = None) -> RWMState:
    """State at x (chains, d): evaluates E(x) once."""
    x = x.detach()
    return RWMState(x, _energy(energy, x))


def step(gen: torch.Generator, state: RWMState, energy, params: RWMParams) -> tuple[RWMState, Info]:
    """One Metropolis step with a Gaussian random-walk proposal."""
    x, e = state
    xp = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)
    xp.mul_(params.step_size).add_(x)
    ep = _energy(energy, xp)
    fields, info = metropolis(gen, e - ep, (x, e), (xp, ep))
    return RWMState(*fields), info


register(
    Sampler(
        "rwm",
        RWMParams,
        init,
        step,
        "continuous",
        "Random-walk Metropolis: Gaussian proposal of scale step_size, MH correction",
    )
)
