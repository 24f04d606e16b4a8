"""Pseudolikelihood (name 'pl'), Besag (1975): maximise sum_i log p(x_i | x_-i) instead of log p(x).

    loss = mean_b [ -sum_i log p(x_bi | x_b,-i) ]

Each conditional needs only a one-unit (or one-axis) normaliser, never Z:
- Boltzmann machines (have `local_field`, `coupling`, `bias`), h = x W + b (zero diagonal, so h_i
  excludes x_i):  spins 'pm1': log p(x_i | rest) = log sigmoid(2 x_i h_i);
                  spins '01':  log p(x_i | rest) = x_i h_i - softplus(h_i).
- other binary energies (RBM free energy, ...): flip unit i, x^(i) = x with x_i -> off + on - x_i,
      log p(x_i | rest) = -E(x) - logaddexp(-E(x), -E(x^(i)))        (n + 1 energy calls per row).
- continuous 1-3-D energies: OUR EXTENSION of Besag's estimator to continuous models: the 1-D
  conditional density p(x_i | x_-i) = exp(-E(x)) / Z_i(x_-i), Z_i(x_-i) = int exp(-E(x with x_i = t)) dt,
  with Z_i by the midpoint rule over the box interval of axis i (`grid_points` points, float64).
  Cost: batch x dim x grid_points energy evaluations per update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import EbmlabError
from ..params import param
from ..space import BinarySpace, ContinuousSpace
from .base import Estimator, EstimatorContext, StatelessImpl, register

MAX_DIM = 3


@dataclass(frozen=True)
class PLParams:
    grid_points: int = param(
        128, lo=8, hi=4096, log=True, help="quadrature points for each 1-D conditional (continuous models)"
    )


def is_boltzmann_machine(energy: Any) -> bool:
    return (
        hasattr(energy, "local_field")
        and hasattr(energy, "coupling")
        and hasattr(energy, "bias")
        and not hasattr(energy, "hidden_prob")
    )


def bm_conditional_log_probs(energy: Any, x: Tensor) -> Tensor:
    """Closed form log p(x_i | x_-i), (b, n), for E(x) = -0.5 x^T W x - b^T x with diag(W) = 0."""
    h = energy.local_field(x)
    if energy.space.spins == "pm1":
        return F.logsigmoid(2.0 * x * h)
    return x * h - F.softplus(h)


def flip_conditional_log_probs(energy: torch.nn.Module, x: Tensor, space: BinarySpace) -> Tensor:
    """Generic binary log p(x_i | x_-i), (b, n), by flipping each unit and comparing energies."""
    b, n = x.shape
    off, on = space.values
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    flipped = torch.where(eye[None], (off + on) - x[:, None, :], x[:, None, :])  # (b, n, n)
    neg = -energy(x)  # (b,)
    neg_flip = -energy(flipped.reshape(b * n, n)).reshape(b, n)
    return neg[:, None] - torch.logaddexp(neg[:, None], neg_flip)


def quadrature_conditional_log_probs(energy: torch.nn.Module, x: Tensor, space: ContinuousSpace, points: int) -> Tensor:
    """Continuous log p(x_i | x_-i), (b, d), float64: -E(x) - log Z_i(x_-i), where
    log Z_i = logsumexp_g(-E(x with x_i = t_g)) + log(h_i), t_g midpoints of box[i], h_i their spacing."""
    x = x.to(torch.float64)
    b, d = x.shape
    neg = -energy(x).to(torch.float64)  # (b,)
    out = []
    for i, (lo, hi) in enumerate(space.box):
        h = (hi - lo) / points
        t = lo + h * (torch.arange(points, dtype=torch.float64, device=x.device) + 0.5)  # (G,)
        pts = x[:, None, :].expand(b, points, d).clone()
        pts[:, :, i] = t
        e = energy(pts.reshape(b * points, d)).to(torch.float64).reshape(b, points)
        out.append(neg - (torch.logsumexp(-e, dim=1) + math.log(h)))
    return torch.stack(out, dim=1)


class PLImpl(StatelessImpl):
    """Negative pseudo-log-likelihood, averaged over the batch."""

    def __init__(self, params: PLParams, ctx: EstimatorContext):
        self.params = params
        self.space = ctx.space
        if isinstance(ctx.space, ContinuousSpace) and ctx.space.dim > MAX_DIM:
            raise EbmlabError(
                f"estimator 'pl' integrates each conditional on a grid and is limited to 1-{MAX_DIM} "
                f"dimensions for continuous models; this model has {ctx.space.dim}"
            )

    def conditional_log_probs(self, energy: torch.nn.Module, x: Tensor) -> Tensor:
        """log p(x_i | x_-i) for every row and unit/axis, (b, d)."""
        if isinstance(self.space, BinarySpace):
            if is_boltzmann_machine(energy):
                return bm_conditional_log_probs(energy, x)
            return flip_conditional_log_probs(energy, x, self.space)
        return quadrature_conditional_log_probs(energy, x, self.space, self.params.grid_points)

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]:
        """batch (b, d) -> (scalar mean negative pseudo-log-likelihood, state, {})."""
        loss = -self.conditional_log_probs(energy, batch).sum(dim=1).mean()
        return loss, state, {}


def make(params: PLParams, ctx: EstimatorContext) -> PLImpl:
    return PLImpl(params, ctx)


register(
    Estimator(
        "pl",
        PLParams,
        make,
        ("continuous", "binary"),
        "Pseudolikelihood: sum of log p(x_i | rest); closed form for Boltzmann machines, flips for other "
        "binary models, 1-D quadrature per axis for continuous ones (our extension)",
    )
)
