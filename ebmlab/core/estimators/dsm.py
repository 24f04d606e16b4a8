"""Denoising score matching (name 'dsm'), Vincent (2011).

Perturb each data point x with Gaussian noise, x~ = x + sigma * eps, eps ~ N(0, I), and regress the
model score s(x~) = -grad_x E(x~) onto the score of the perturbation kernel,
grad_x~ log N(x~; x, sigma^2 I) = -(x~ - x) / sigma^2 = -eps / sigma. With the weighting
lambda(sigma) = sigma^2 (Song & Ermon 2019) the loss is

    loss = E_{x, eps}[ 0.5 sigma^2 |s(x~) + eps / sigma|^2 ] = E[ 0.5 |sigma * s(x~) + eps|^2 ]

(dimensionless, O(d) at the optimum). Its minimiser matches the score of the SMOOTHED data density
p_sigma = p_data * N(0, sigma^2 I), not of p_data: for a Gaussian model the optimum is mean = sample
mean, covariance = S + sigma^2 I (S the biased sample covariance).

antithetic=True (default) uses each draw twice, as eps and -eps (x~ = x +/- sigma eps), and averages
the two terms, so every odd-in-eps term cancels exactly. That matters for the parameter gradient:
its leading term -sigma eps^T d/dtheta grad E(x) is odd, zero-mean and O(sigma), while the signal is
O(sigma^2); the pairs remove it (gradient variance down by ~1/sigma^2). The loss VALUE keeps its
parameter-free 0.5 |eps|^2 noise. The batch then costs two score evaluations per point. With pairs and a
Gaussian model the fitted mean equals the sample mean for every noise draw (the x~ average to it).

info: 'noisy' (n, d) = x + sigma * eps (the + half of the antithetic pairs; detached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..params import param
from .base import Estimator, EstimatorContext, StatelessImpl, register


@dataclass(frozen=True)
class DSMParams:
    sigma: float = param(0.1, lo=0, lo_open=True, log=True, help="noise standard deviation (> 0)")
    antithetic: bool = param(True, help="use noise pairs eps and -eps to reduce the variance")


class DSMImpl(StatelessImpl):
    """Denoising score matching; stateless (the noise is redrawn from `gen` at each call)."""

    def __init__(self, params: DSMParams, ctx: EstimatorContext):
        self.params = params

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]:
        """batch (n, d) -> (mean 0.5 |sigma s(x~) + eps|^2, None, {'noisy': (n, d)}).

        Draws exactly one (n, d) standard normal tensor from `gen`."""
        sigma = float(self.params.sigma)
        x = batch.detach()
        eps = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=gen.device).to(x.device)
        if self.params.antithetic:
            eps_all = torch.cat([eps, -eps], 0)
            x_all = torch.cat([x, x], 0)
        else:
            eps_all, x_all = eps, x
        with torch.enable_grad():
            noisy = (x_all + sigma * eps_all).requires_grad_(True)
            e = energy(noisy)
            (g,) = torch.autograd.grad(e.sum(), noisy, create_graph=True)
            resid = eps_all - sigma * g  # sigma * s(x~) + eps with s = -grad E
            loss = 0.5 * (resid * resid).sum(-1).mean()
        return loss, state, {"noisy": (x + sigma * eps).detach()}


def make(params: DSMParams, ctx: EstimatorContext) -> DSMImpl:
    return DSMImpl(params, ctx)


register(
    Estimator(
        "dsm",
        DSMParams,
        make,
        ("continuous",),
        "Denoising score matching: fit the score of the data smoothed by N(0, sigma^2 I)",
    )
)
