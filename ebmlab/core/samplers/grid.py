"""Exact grid sampler (name 'grid') for continuous energies in 1-3 dimensions.

p(x) = exp(-E(x)) / Z is approximated by a piecewise-constant density on a midpoint grid over the
energy's view box: cell k has probability P_k = exp(-E(c_k)) / sum_j exp(-E(c_j)) (float64).
A draw picks a cell by inverse CDF (searchsorted of a uniform on the cumulative sum) and adds a
uniform jitter within the cell. Mass outside the box is ignored.

As a kernel, `step` ignores the previous state and returns fresh independent draws; the CDF is
cached in the State so repeated steps do not re-evaluate the grid; call `init` again after the
energy changes (e.g. during training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..energies.base import continuous_space
from ..errors import EbmlabError, NotNormalisableError
from ..grid import check_grid_cost, evaluate_on_grid, make_grid
from ..params import param
from .base import Info, Sampler, register

MAX_CELLS = 1 << 25


class GridTable(NamedTuple):
    """Cached inverse-CDF table. cdf: (cells,) float64 cumulative (unnormalised) mass, C order;
    lo: (d,) float64 box lower corner; width: (d,) float64 cell widths; shape: cells per axis."""

    cdf: Tensor
    lo: Tensor
    width: Tensor
    shape: tuple[int, ...]


class GridState(NamedTuple):
    """x: (chains, d) latest draws; table: the cached CDF."""

    x: Tensor
    table: GridTable


@dataclass(frozen=True)
class GridParams:
    grid_points: int = param(256, lo=8, hi=4096, help="grid points per axis (cells = grid_points^d)")


def build_table(energy, grid_points: int = 256) -> GridTable:
    """Evaluate E on the grid and build the float64 CDF. Raises NotNormalisableError when
    exp(-E) cannot be normalised on the box (NaN or -inf energies, or zero mass everywhere)."""
    space = continuous_space(energy)
    if space.dim > 3:
        raise EbmlabError(f"the grid sampler supports 1-3 dimensions, got {space.dim}")
    if grid_points**space.dim > MAX_CELLS:
        raise EbmlabError(
            f"grid of {grid_points}^{space.dim} cells is too large; lower grid_points "
            f"(at most {int(MAX_CELLS ** (1 / space.dim))} in {space.dim}-D)"
        )
    grid = make_grid(space, grid_points)
    e = evaluate_on_grid(energy, grid).reshape(-1)
    if np.isnan(e).any() or np.isneginf(e).any():
        raise NotNormalisableError(f"{energy.describe()}: energy is NaN or -inf somewhere on the box")
    e_min = e.min()
    if not np.isfinite(e_min):
        raise NotNormalisableError(f"{energy.describe()}: energy is +inf everywhere on the box")
    w = np.exp(-(e - e_min))
    device = _device(energy)
    cdf = torch.as_tensor(np.cumsum(w), dtype=torch.float64, device=device)
    lo = torch.tensor([b[0] for b in space.box], dtype=torch.float64, device=device)
    width = torch.as_tensor(grid.cell_widths(), dtype=torch.float64, device=device)
    return GridTable(cdf, lo, width, grid.shape)


def _device(energy) -> torch.device:
    try:
        return next(energy.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def draw(table: GridTable, n: int, gen: torch.Generator, dtype: torch.dtype = torch.float32) -> Tensor:
    """n independent draws (n, d) from the piecewise-constant grid density."""
    cdf = table.cdf
    dev = cdf.device
    u = torch.rand(n, generator=gen, dtype=torch.float64, device=dev) * cdf[-1]
    k = torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.numel() - 1)
    d = len(table.shape)
    idx = torch.empty(n, d, dtype=torch.float64, device=dev)
    for j in range(d - 1, -1, -1):  # C order: last axis fastest
        m = table.shape[j]
        idx[:, j] = k % m
        k = torch.div(k, m, rounding_mode="floor")
    idx.add_(torch.rand(n, d, generator=gen, dtype=torch.float64, device=dev))
    return (table.lo + idx * table.width).to(dtype)


def sample_exact(
    energy, n: int, gen: torch.Generator, grid_points: int = 256, dtype: torch.dtype | None = None
) -> Tensor:
    """n independent samples (n, d) of exp(-E) on the energy's box (grid_points per axis).
    dtype defaults to torch's default dtype."""
    table = build_table(energy, grid_points)
    return draw(table, n, gen, dtype or torch.get_default_dtype())


def init(x: Tensor, energy, params: GridParams) -> GridState:
    """Build (and cache) the CDF; keeps x (chains, d) as the current state. The settings' grid is capped
    (ConfigError naming sampler.grid_points beyond MAX_QUADRATURE_CELLS, see ebmlab.core.grid)."""
    space = continuous_space(energy)
    if space.dim <= 3:
        check_grid_cost(params.grid_points, space.dim, "sampler.grid_points")
    return GridState(x.detach(), build_table(energy, params.grid_points))


def step(gen: torch.Generator, state: GridState, energy, params: GridParams) -> tuple[GridState, Info]:
    """Fresh independent draws for every chain (the old positions are ignored)."""
    table = state.table
    if math.prod(table.shape) != params.grid_points ** len(table.shape):
        table = build_table(energy, params.grid_points)
    x = draw(table, state.x.shape[0], gen, state.x.dtype).to(state.x.device)
    one = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    return GridState(x, table), Info(one, one)


register(
    Sampler(
        "grid",
        GridParams,
        init,
        step,
        "continuous",
        "Exact grid sampler (1-3 D): inverse CDF over grid cells + uniform jitter; iid draws",
    )
)
