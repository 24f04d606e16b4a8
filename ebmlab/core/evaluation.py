"""Exact references during training: log Z, held-out NLL, and the model on a grid for drawing."""

from __future__ import annotations

import numpy as np
import torch

from .energies.base import Energy
from .errors import EbmlabError
from .grid import MAX_QUADRATURE_CELLS, check_grid_cost, evaluate_on_grid, make_grid
from .snapshot import Landscape
from .space import BinarySpace, ContinuousSpace

AUTO_GRID = {1: 1024, 2: 200, 3: 40}
MAX_ENUM_UNITS = 20
MAX_STATE_VIEW_UNITS = 16


def _logsumexp(a: np.ndarray) -> float:
    m = float(np.max(a))
    if not np.isfinite(m):
        return m
    return m + float(np.log(np.sum(np.exp(a - m))))


class ExactEvaluator:
    """Computes exact log Z (quadrature for 1-3-D, enumeration up to 20 units) and the exact NLL
    of held-out points, NLL = mean E(x) + log Z (nats per point).

    `grid_points` (training.grid_points, 0: by dimension) is checked whenever it is set: grid_points**dim
    above MAX_QUADRATURE_CELLS raises ConfigError naming training.grid_points (see ebmlab.core.grid)."""

    def __init__(self, energy: Energy, grid_points: int = 0):
        self.energy = energy
        self.space = energy.space
        self.exact_available = (isinstance(self.space, ContinuousSpace) and self.space.dim <= 3) or (
            isinstance(self.space, BinarySpace) and self.space.n <= MAX_ENUM_UNITS
        )
        self.grid_points = grid_points
        self.last_warning: str | None = None

    @property
    def grid_points(self) -> int:
        return self._grid_points

    @grid_points.setter
    def grid_points(self, n: int) -> None:
        if n and self.exact_available and isinstance(self.space, ContinuousSpace):
            check_grid_cost(n, self.space.dim, "training.grid_points")
        self._grid_points = n

    def log_z(self) -> float | None:
        from .partition.exact import log_z_enumerate, log_z_quadrature

        if not self.exact_available:
            return None
        try:
            if isinstance(self.space, BinarySpace):
                res = log_z_enumerate(self.energy)
            else:
                n = self.grid_points or AUTO_GRID[self.space.dim]
                res = log_z_quadrature(self.energy, n=n)
        except EbmlabError as e:
            self.last_warning = str(e)
            return None
        self.last_warning = res.warning
        return float(res.log_z)

    @torch.no_grad()
    def evaluate(self, holdout: torch.Tensor) -> dict[str, float]:
        out: dict[str, float] = {}
        log_z = self.log_z()
        if log_z is None or not np.isfinite(log_z):
            return out
        out["log_z_exact"] = log_z
        e = self.energy(holdout).double()
        mean_e = float(e.mean())
        if np.isfinite(mean_e):
            out["nll_exact"] = mean_e + log_z
        return out

    @torch.no_grad()
    def landscape(self, run_id: int, step: int, grid: int = 128, slice_at: float | None = None) -> Landscape:
        """The model on a grid (1-D curve, 2-D image, 3-D slice through z = slice_at) or, for binary
        models up to 16 units, the exact probability of every state."""
        from .partition.exact import all_states

        sp = self.space
        if isinstance(sp, BinarySpace):
            if sp.n > MAX_STATE_VIEW_UNITS:
                raise EbmlabError(
                    f"the state view lists at most 2^{MAX_STATE_VIEW_UNITS} states; this model has {sp.n} units"
                )
            states = all_states(sp, dtype=torch.float64)
            e = self.energy(states).double().cpu().numpy()
            lz = _logsumexp(-e)
            return Landscape(run_id, step, "states", (), e, -e - lz, lz, states=states.numpy())
        if sp.dim < 3:
            g = make_grid(sp, grid)
        else:  # the slice needs the full x-y resolution; z only normalises it: fewer z cells beyond the cost cap
            g = make_grid(sp, (grid, grid, max(8, min(grid // 4, MAX_QUADRATURE_CELLS // (grid * grid)))))
        e = evaluate_on_grid(self.energy, g)
        lz = _logsumexp(-e) + float(np.log(g.cell_volume))
        if sp.dim == 1:
            return Landscape(run_id, step, "curve", g.axes, e, -e - lz, lz)
        if sp.dim == 2:
            return Landscape(run_id, step, "image", g.axes, e, -e - lz, lz)
        lo, hi = sp.box[2]
        z = 0.5 * (lo + hi) if slice_at is None else slice_at
        k = int(np.clip(np.searchsorted(g.axes[2], z), 0, len(g.axes[2]) - 1))
        return Landscape(
            run_id, step, "slice", g.axes[:2], e[:, :, k], -e[:, :, k] - lz, lz, slice_at=float(g.axes[2][k])
        )
