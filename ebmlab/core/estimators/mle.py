"""Exact maximum likelihood (name 'mle') where log Z is tractable: 1-3-D continuous energies by
quadrature on the box, binary models up to MAX_UNITS units by enumeration.

    loss = mean_b E(x_b) + log Z(theta)                      (= the average negative log-likelihood)
    log Z = logsumexp_g(-E(x_g)) + log(cell volume)        (midpoint grid on the energy's box, float64)
    log Z = logsumexp_s(-E(s))                              (all 2^n binary states s, float64)

log Z is differentiable, so d loss / d theta = E_data[dE/dtheta] - E_model[dE/dtheta] exactly (up to
the quadrature error and the mass outside the box). The box must hold essentially all of the mass:
data outside it still count in mean E, and the fit is then biased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import EbmlabError
from ..grid import check_grid_cost, make_grid
from ..params import param
from ..partition.exact import all_states
from ..space import BinarySpace, ContinuousSpace, Space
from .base import Estimator, EstimatorContext, StatelessImpl, register

MAX_DIM = 3
MAX_UNITS = 20
AUTO_POINTS = {1: 1024, 2: 128, 3: 48}


@dataclass(frozen=True)
class MLEParams:
    grid_points: int | None = param(
        None,
        lo=8,
        hi=4096,
        log=True,
        help="quadrature points per axis (continuous models); empty = by dimension: 1024, 128, 48",
    )


def _device_of(energy: torch.nn.Module, fallback: torch.device) -> torch.device:
    try:
        return next(energy.parameters()).device
    except StopIteration:
        return fallback


def check_tractable(space: Space, estimator: str) -> None:
    """Refuse spaces where exact log Z is out of reach (EbmlabError with the reason)."""
    if isinstance(space, BinarySpace):
        if space.n > MAX_UNITS:
            raise EbmlabError(
                f"estimator {estimator!r} enumerates all 2^n states and is limited to {MAX_UNITS} binary "
                f"units; this model has {space.n}. Use pl, cd or pcd"
            )
    elif space.dim > MAX_DIM:
        raise EbmlabError(
            f"estimator {estimator!r} integrates on a grid and is limited to 1-{MAX_DIM} dimensions; "
            f"this model has {space.dim}. Use cd, pcd, sm, dsm or nce"
        )


class MLEImpl(StatelessImpl):
    """Exact NLL. The grid points / states (G, d) are built once (float64) and cached."""

    def __init__(self, params: MLEParams, ctx: EstimatorContext):
        check_tractable(ctx.space, "mle")
        if params.grid_points and isinstance(ctx.space, ContinuousSpace):
            check_grid_cost(params.grid_points, ctx.space.dim, "estimator.grid_points")
        self.params = params
        self.space = ctx.space
        self.device = ctx.data.device
        self._points: Tensor | None = None
        self._log_cell = 0.0

    def points(self, energy: torch.nn.Module) -> tuple[Tensor, float]:
        """(G, d) float64 quadrature points or binary states, and log(cell volume) (0 for states)."""
        if self._points is None:
            space = self.space
            if isinstance(space, BinarySpace):
                self._points, self._log_cell = all_states(space), 0.0
            else:
                assert isinstance(space, ContinuousSpace)
                n = self.params.grid_points or AUTO_POINTS[space.dim]
                grid = make_grid(space, n)
                self._points, self._log_cell = grid.points(torch.float64), math.log(grid.cell_volume)
        self._points = self._points.to(_device_of(energy, self.device))
        return self._points, self._log_cell

    def log_z(self, energy: torch.nn.Module) -> Tensor:
        """Differentiable float64 scalar log Z (quadrature or enumeration)."""
        pts, log_cell = self.points(energy)
        e = energy(pts).to(torch.float64)
        return torch.logsumexp(-e, dim=0) + log_cell

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]:
        """batch (b, d) -> (float64 scalar NLL, state, {'log_z': float})."""
        log_z = self.log_z(energy)
        if not torch.isfinite(log_z):
            raise EbmlabError(f"log Z is not finite ({float(log_z.detach())}): the energy diverges on the grid")
        loss = energy(batch).to(torch.float64).mean() + log_z
        return loss, state, {"log_z": float(log_z.detach())}


def make(params: MLEParams, ctx: EstimatorContext) -> MLEImpl:
    return MLEImpl(params, ctx)


register(
    Estimator(
        "mle",
        MLEParams,
        make,
        ("continuous", "binary"),
        "Exact maximum likelihood: log Z by quadrature (1-3 D) or enumeration (<= 20 binary units)",
    )
)
