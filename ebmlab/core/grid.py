"""Regular grids over a continuous box, used by quadrature, the exact grid sampler and views."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import ConfigError, EbmlabError
from .space import ContinuousSpace

DEFAULT_POINTS = {1: 4096, 2: 512, 3: 96}
MAX_GRID_CELLS = 1 << 25  # points per axis are capped one axis at a time; this caps their product
# Grids a setting asks for while training (training.grid_points, estimator/sampler/data grid_points) cost
# points^dim energy evaluations. Measured on a 2-core machine, one torch thread, log Z quadrature of a 2-D MLP
# 2-64-64-1 (ebmlab.core.energies.mlp) costs ~0.5 us per cell: 512^2 0.13 s, 1024^2 0.55 s, 2048^2 2.2-2.4 s,
# 4096^2 9.2 s and 820 MB (the Trainer evaluates at start and every eval_every steps, so 4096 hung the run);
# 3-D 128^3 1.1 s. So a setting may ask for at most ~1 s of quadrature per evaluation:
MAX_QUADRATURE_CELLS = 1 << 21  # 2,097,152 cells: 1448 per dimension in 2-D, 128 in 3-D


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


def max_points_per_axis(dim: int, limit: int = MAX_QUADRATURE_CELLS) -> int:
    """The largest n with n**dim <= limit."""
    n = int(round(limit ** (1.0 / dim)))
    while n**dim > limit:
        n -= 1
    while (n + 1) ** dim <= limit:
        n += 1
    return n


def check_grid_cost(points: int, dim: int, field: str, limit: int = MAX_QUADRATURE_CELLS) -> None:
    """Refuse `points` per axis in `dim` dimensions when points**dim > limit: ConfigError naming `field`,
    e.g. 'training.grid_points: 4096 per dimension in 2-D is 16,777,216 grid cells; the limit is ...'."""
    cells = points**dim
    if cells > limit:
        raise ConfigError(
            [
                f"{field}: {points:,} per dimension in {dim}-D is {cells:,} grid cells; the limit is {limit:,} cells "
                f"({max_points_per_axis(2, limit):,} per dimension in 2-D, {max_points_per_axis(3, limit):,} in 3-D)"
            ]
        )


# Settings that ask for points**dim cells: (section, the component that uses it or None for any); each use
# site checks its own; this list lets a validated experiment be checked before anything is built.
GRID_SETTINGS = (("training", None), ("data", "energy"), ("estimator", "mle"), ("sampler", "grid"))


def grid_setting_problems(exp: Any) -> list[str]:
    """check_grid_cost lines for the `grid_points` settings of a (duck-typed) experiment whose model states
    its dimension (model.dim); an expression's inferred dimension is checked where the model is built."""
    dim = getattr(exp.model.settings, "dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 3:
        return []
    problems: list[str] = []
    for section, kind in GRID_SETTINGS:
        part = getattr(exp, section)
        if kind is not None and part.kind != kind:
            continue
        n = getattr(getattr(part, "settings", part), "grid_points", None)
        if isinstance(n, int) and n > 0:
            try:
                check_grid_cost(n, dim, f"{section}.grid_points")
            except ConfigError as e:
                problems += e.problems
    return problems


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
