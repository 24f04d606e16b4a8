"""Hyvärinen score matching (name 'sm').

With the model score s(x) = -grad_x E(x) (Z drops out), score matching minimises the Fisher
divergence 0.5 E_data |s - s_data|^2, which after integration by parts is (Hyvärinen 2005)

    J = E_data[ 0.5 |grad_x E(x)|^2 - Laplacian_x E(x) ]        (+ a constant free of the model)

method='exact': the Laplacian tr(H), H = d^2E/dx^2, is computed with one extra backward pass per
dimension (create_graph=True, so the loss stays differentiable in the energy's parameters); cheap in
the 1-3 dimensions of the lab.
method='sliced': sliced score matching (Song et al. 2019, variance-reduced form): tr(H) is replaced by
the Hutchinson estimate mean_m v_m^T H v_m with v_m ~ N(0, I) (`n_projections` per point), one
Hessian-vector product each; unbiased for J.

For a Gaussian model E = 0.5 (x - m)^T P (x - m) the minimiser is the MLE (m = sample mean,
P = inverse biased sample covariance). Known blind spot: on well-separated modes the score inside each
mode does not depend on the modes' relative weights, so score matching hardly moves mixture weights.

info: 'grad_term' = mean 0.5 |grad E|^2 (float), 'laplacian_term' = mean Laplacian E (float, or its
Hutchinson estimate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..params import param
from .base import Estimator, EstimatorContext, StatelessImpl, register


@dataclass(frozen=True)
class SMParams:
    method: str = param(
        "exact",
        choices=("exact", "sliced"),
        help="exact: Laplacian by one backward pass per dimension; sliced: Hutchinson estimate",
    )
    n_projections: int = param(1, lo=1, hi=256, help="random projections per point (method='sliced' only)")


def energy_grad(energy: torch.nn.Module, batch: Tensor) -> tuple[Tensor, Tensor]:
    """(x (n, d) requiring grad, grad_x E(x) (n, d)) with create_graph=True (differentiable in params)."""
    x = batch.detach().requires_grad_(True)
    e = energy(x)
    (g,) = _grad(e.sum(), x)
    return x, g


def _grad(y: Tensor, x: Tensor) -> tuple[Tensor]:
    """dy/dx with the graph kept; zeros where y does not depend on x (a linear energy's score is constant,
    so its Laplacian is 0; a constant energy has no score) instead of torch's 'not used in the graph'."""
    if not y.requires_grad:
        return (torch.zeros_like(x),)
    (g,) = torch.autograd.grad(y, x, create_graph=True, allow_unused=True)
    return (torch.zeros_like(x) if g is None else g,)


def exact_laplacian(x: Tensor, g: Tensor) -> Tensor:
    """sum_i d g_i / d x_i, shape (n,); one backward pass per dimension, graph kept."""
    lap = torch.zeros(x.shape[0], dtype=g.dtype, device=g.device)
    for i in range(x.shape[1]):
        (h,) = _grad(g[:, i].sum(), x)
        lap = lap + h[:, i]
    return lap


def hutchinson_laplacian(x: Tensor, g: Tensor, n_projections: int, gen: torch.Generator) -> Tensor:
    """mean_m v_m^T H v_m, v_m ~ N(0, I), shape (n,); one Hessian-vector product per projection."""
    est = torch.zeros(x.shape[0], dtype=g.dtype, device=g.device)
    for _ in range(n_projections):
        v = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=gen.device).to(x.device)
        (hv,) = _grad((g * v).sum(), x)
        est = est + (hv * v).sum(-1)
    return est / n_projections


class SMImpl(StatelessImpl):
    """Score matching; stateless."""

    def __init__(self, params: SMParams, ctx: EstimatorContext):
        self.params = params

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]:
        """batch (n, d) -> (J = mean[0.5 |grad E|^2 - lap E], None, info)."""
        with torch.enable_grad():
            x, g = energy_grad(energy, batch)
            if self.params.method == "exact":
                lap = exact_laplacian(x, g)
            else:
                lap = hutchinson_laplacian(x, g, self.params.n_projections, gen)
            grad_term = 0.5 * (g * g).sum(-1).mean()
            lap_term = lap.mean()
            loss = grad_term - lap_term
        info = {"grad_term": float(grad_term.detach()), "laplacian_term": float(lap_term.detach())}
        return loss, state, info


def make(params: SMParams, ctx: EstimatorContext) -> SMImpl:
    return SMImpl(params, ctx)


register(
    Estimator(
        "sm",
        SMParams,
        make,
        ("continuous",),
        "Score matching (Hyvärinen): E_data[0.5 |grad E|^2 - Laplacian E]; exact or sliced",
    )
)
