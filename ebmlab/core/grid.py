"""Regular grids over a continuous box, used by quadrature, the exact grid sampler and views."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import EbmlabError
from .space import ContinuousSpace

DEFAULT_POINTS = {1: 4096, 2: 512, 3: 96}
MAX_GRID_CELLS = 1 << 25  # points per axis are capped one axis at a time; this caps their product


@dataclass(frozen=True)
class Grid:
    """Cell-centred (midpoint-rule) grid. axes[i]: (n_i,) centres; points: (prod n_i, d) in C order
    (last axis fastest); cell_volume = prod (hi_i - lo_i) / n_i; shape = (n_1, ..., n_d)."""

    axes: tuple[np.ndarray, ...]
    cell_volume: float
    box: tuple[tuple[float, float], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def points(self, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
        mesh = np.meshgrid(*self.axes, indexing="ij")
        pts = np.stack([m.reshape(-1) for m in mesh], axis=1)
        return torch.as_tensor(pts, dtype=dtype, device=device)

    def cell_widths(self) -> np.ndarray:
        return np.array([(hi - lo) / len(a) for (lo, hi), a in zip(self.box, self.axes)])


def make_grid(space: ContinuousSpace, n: int | tuple[int, ...] | None = None) -> Grid:
    """Midpoint grid with n points per axis (default by dimension: 4096, 512, 96)."""
    d = space.dim
    if n is None:
        n = DEFAULT_POINTS.get(d, 32)
    ns = (n,) * d if isinstance(n, int) else tuple(n)
    if len(ns) != d or min(ns) < 2:
        raise EbmlabError(f"a grid needs {d} sizes >= 2 (points per axis), got {ns}")
    cells = math.prod(ns)
    if cells > MAX_GRID_CELLS:
        shown = "x".join(map(str, ns))
        raise EbmlabError(
            f"a grid of {shown} = {cells:.3g} points is too large (at most {MAX_GRID_CELLS}); use fewer points per axis"
        )
    axes = []
    vol = 1.0
    for (lo, hi), k in zip(space.box, ns):
        h = (hi - lo) / k
        axes.append(lo + h * (np.arange(k) + 0.5))
        vol *= h
    return Grid(tuple(axes), vol, space.box)


@torch.no_grad()
def evaluate_on_grid(energy, grid: Grid, chunk: int = 4096, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """E at every grid point, float64 array of grid.shape. Evaluated in chunks (faster and bounded memory).

    The energy is evaluated in `dtype` on the energy's device."""
    try:
        p = next(energy.parameters())
        device = p.device
    except StopIteration:
        device = torch.device("cpu")
    pts = grid.points(dtype=dtype, device=device)
    out = torch.empty(pts.shape[0], dtype=torch.float64)
    for s in range(0, pts.shape[0], chunk):
        out[s : s + chunk] = energy(pts[s : s + chunk]).to(torch.float64).cpu()
    return out.numpy().reshape(grid.shape)
