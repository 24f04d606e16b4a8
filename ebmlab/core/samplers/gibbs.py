"""Gibbs sampling for binary models (name 'gibbs'); one sweep per `sweeps` count per step.

Dispatch by duck typing:
  - RBM (has `hidden_prob`): block Gibbs v -> h ~ p(h | v) -> v ~ p(v | h), with
    p(h_j = 1 | v) = `hidden_prob(v)`, p(v_i = 1 | h) = `visible_prob(h)`.
  - Boltzmann machine (has `local_field`, `coupling`, `bias`): E(x) = -0.5 x^T W x - b^T x,
    systematic sequential sweep over units i = 0..n-1 (vectorised over chains). With
    h_i = (x W)_i + b_i (W has zero diagonal), p(x_i = on | rest) = sigmoid(h_i) for spins '01'
    and sigmoid(2 h_i) for 'pm1' (on = +1, off = 0 or -1).
Gibbs moves are always accepted: Info.accept_prob = accepted = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..params import param
from .base import Info, Sampler, register


class GibbsState(NamedTuple):
    """x: (chains, n) visible / unit states; hidden: (chains, n_h) last RBM hiddens (None for a BM)."""

    x: Tensor
    hidden: Tensor | None = None


@dataclass(frozen=True)
class GibbsParams:
    sweeps: int = param(1, lo=1, hi=1000, help="full Gibbs sweeps per step")


def _kind(energy) -> str:
    if hasattr(energy, "hidden_prob") and hasattr(energy, "visible_prob"):
        return "rbm"
    if hasattr(energy, "local_field") and hasattr(energy, "coupling") and hasattr(energy, "bias"):
        return "bm"
    name = energy.describe() if hasattr(energy, "describe") else type(energy).__name__
    raise TypeError(f"Gibbs sampling needs a binary model (an RBM or a Boltzmann machine); {name} is neither")


def init(x: Tensor, energy, params: GibbsParams | None = None) -> GibbsState:
    """State at x (chains, n); checks that the model can be Gibbs-sampled."""
    _kind(energy)
    return GibbsState(x.detach())


def _bm_sweep(gen: torch.Generator, x: Tensor, W: Tensor, b: Tensor, pm1: bool) -> Tensor:
    """One systematic sweep; x (chains, n) is updated in place and returned."""
    n = x.shape[1]
    cols = W.t().contiguous()  # cols[i] = W[:, i]
    u = torch.rand(x.shape, generator=gen, dtype=x.dtype, device=x.device)
    for i in range(n):
        h = x @ cols[i] + b[i]
        if pm1:
            x[:, i] = (u[:, i] < torch.sigmoid(2.0 * h)).to(x.dtype).mul_(2.0).sub_(1.0)
        else:
            x[:, i] = (u[:, i] < torch.sigmoid(h)).to(x.dtype)
    return x


def _bernoulli(gen: torch.Generator, p: Tensor) -> Tensor:
    return (torch.rand(p.shape, generator=gen, dtype=p.dtype, device=p.device) < p).to(p.dtype)


@torch.no_grad()
def step(gen: torch.Generator, state: GibbsState, energy, params: GibbsParams) -> tuple[GibbsState, Info]:
    """`params.sweeps` full Gibbs sweeps."""
    kind = _kind(energy)
    x = state.x
    hidden = state.hidden
    if kind == "bm":
        W, b = energy.coupling(x.dtype), energy.bias(x.dtype)
        pm1 = energy.space.spins == "pm1"
        x = x.clone()
        for _ in range(params.sweeps):
            _bm_sweep(gen, x, W, b, pm1)
    else:
        for _ in range(params.sweeps):
            hidden = _bernoulli(gen, energy.hidden_prob(x))
            x = _bernoulli(gen, energy.visible_prob(hidden))
    one = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    return GibbsState(x, hidden), Info(one, one)


register(
    Sampler(
        "gibbs",
        GibbsParams,
        init,
        step,
        "binary",
        "Gibbs sampling: sequential sweeps (Boltzmann machine) or block v->h->v (RBM)",
    )
)
