"""Exact log Z: midpoint quadrature on the box (1-3 D) and enumeration of small binary models.

All sums are float64 logsumexp. For a continuous energy the reference is Z over the box,
Z_box = int_box exp(-E(x)) dx ~= cell_volume * sum_grid exp(-E), which equals Z over R^d only
when the density is negligible outside the box: `edge_fraction` (the share of the grid mass in
the outermost cells) measures this and a plain-language `warning` is set when it exceeds 1e-4.

Any finite energy is normalisable on a box. So an unbounded-below energy such as -x^2 on
(-30, 30) gives a finite log Z here (about 900), with almost all of its mass in the edge cells
and hence a warning saying it is probably not normalisable on R^d. Errors are raised only for
NaN energies, E = -inf (exp(-E) overflows even in log space) or a density that is zero everywhere.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ..energies.base import Energy, binary_space, continuous_space
from ..errors import EbmlabError, NotNormalisableError
from ..grid import Grid, evaluate_on_grid, make_grid
from ..space import BinarySpace, Box, ContinuousSpace

EDGE_WARN = 1e-4
MAX_QUADRATURE_DIM = 3


@dataclass(frozen=True)
class ExactLogZ:
    """log_z: float64 log Z; method: 'quadrature' | 'enumeration' | 'closed_form';
    edge_fraction: mass share in the outermost grid cells (0 for enumeration / closed form);
    warning: plain-language caveat or None; n_points: grid points or states summed; seconds: wall time."""

    log_z: float
    method: Literal["quadrature", "enumeration", "closed_form"]
    edge_fraction: float
    warning: str | None
    n_points: int
    seconds: float


def _fmt_point(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in p) + ")"


def _fmt_percent(f: float) -> str:
    return f"{100 * f:.2g}%" if f < 0.1 else f"{100 * f:.1f}%"


def _check_energies(E: np.ndarray, where, what: str) -> None:
    """Raise NotNormalisableError for NaN or -inf energies. `where(flat_index)` names a point."""
    flat = E.reshape(-1)
    nan = np.isnan(flat)
    if nan.any():
        i = int(np.flatnonzero(nan)[0])
        raise NotNormalisableError(f"the energy is NaN at {int(nan.sum())} {what}, e.g. at {where(i)}")
    neg = np.isneginf(flat)
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise NotNormalisableError(
            f"the energy is -inf at {int(neg.sum())} {what}, e.g. at {where(i)}: exp(-E) overflows"
        )
    if np.isposinf(flat).all():
        raise NotNormalisableError(f"the energy is +inf at every one of the {flat.size} {what}: Z = 0")


def _logsumexp(a: np.ndarray) -> float:
    a = a.reshape(-1)
    m = float(np.max(a))
    return m + math.log(float(np.sum(np.exp(a - m))))


def _grid_energies(energy: Energy, grid: Grid, chunk: int) -> np.ndarray:
    E = evaluate_on_grid(energy, grid, chunk=chunk, dtype=torch.float64)
    axes = grid.axes

    def where(i: int) -> str:
        idx = np.unravel_index(i, grid.shape)
        return _fmt_point(np.array([axes[k][j] for k, j in enumerate(idx)]))

    _check_energies(E, where, "grid points")
    return E


def _edge_fraction(logp: np.ndarray) -> float:
    """Share of the (normalised, log) mass lying in cells with any index at 0 or n_i - 1."""
    p = np.exp(logp)
    interior = p[tuple(slice(1, -1) for _ in range(p.ndim))]
    return float(max(0.0, 1.0 - interior.sum() / p.sum()))


def _edge_warning(edge: float) -> str | None:
    if edge <= EDGE_WARN:
        return None
    if edge > 0.5:
        return (
            f"most of the mass ({_fmt_percent(edge)}) lies in the outermost cells of the box: "
            "exp(-E) is probably not normalisable beyond the box, and log Z depends on the box"
        )
    return (
        f"the density is not negligible at the box edge ({_fmt_percent(edge)} of the mass lies "
        "in the outermost cells); widen the box"
    )


def _space_with_box(energy: Energy, box: Box | None) -> ContinuousSpace:
    space = continuous_space(energy)
    if space.dim > MAX_QUADRATURE_DIM:
        raise EbmlabError(
            f"quadrature is limited to 1-{MAX_QUADRATURE_DIM} dimensions, this energy has {space.dim}; use AIS"
        )
    if box is None:
        return space
    return ContinuousSpace(space.dim, tuple((float(lo), float(hi)) for lo, hi in box))


def log_z_quadrature(
    energy: Energy, n: int | tuple[int, ...] | None = None, box: Box | None = None, chunk: int = 4096
) -> ExactLogZ:
    """Midpoint rule on the box (default: the energy's box), n points per axis (default by dim).

    log Z = logsumexp(-E(grid)) + log(cell_volume), float64.
    """
    t0 = time.perf_counter()
    space = _space_with_box(energy, box)
    grid = make_grid(space, n)
    E = _grid_energies(energy, grid, chunk)
    neg = -E
    lse = _logsumexp(neg)
    log_z = lse + math.log(grid.cell_volume)
    if not math.isfinite(log_z):
        raise NotNormalisableError(f"log Z is not finite ({log_z}) on the box {space.box}")
    edge = _edge_fraction(neg - lse)
    return ExactLogZ(log_z, "quadrature", edge, _edge_warning(edge), grid.size, time.perf_counter() - t0)


def grid_log_density(energy: Energy, grid: Grid, chunk: int = 4096) -> np.ndarray:
    """Normalised log density on the grid (float64, grid.shape): log p = -E - log Z_grid,
    so that sum(exp(log p)) * grid.cell_volume = 1."""
    E = _grid_energies(energy, grid, chunk)
    neg = -E
    out = neg - (_logsumexp(neg) + math.log(grid.cell_volume))
    return out


def all_states(space: BinarySpace, start: int = 0, stop: int | None = None, dtype=torch.float64) -> Tensor:
    """States start..stop-1 of all 2^n, shape (stop - start, n), values space.values.

    State k holds the binary digits of k with unit 0 the most significant (itertools.product order).
    """
    n = space.n
    if n > 30:
        raise EbmlabError(f"cannot list all 2^{n} states of {n} binary units")
    total = 1 << n
    stop = total if stop is None else min(stop, total)
    k = torch.arange(start, stop, dtype=torch.int64)
    shifts = torch.arange(n - 1, -1, -1, dtype=torch.int64)
    bits = ((k[:, None] >> shifts) & 1).to(dtype)
    off, on = space.values
    return bits if off == 0.0 else bits * (on - off) + off


@torch.no_grad()
def _state_energies(energy: Energy, max_units: int, chunk: int) -> np.ndarray:
    space = binary_space(energy)
    if space.n > max_units:
        raise EbmlabError(
            f"enumeration is limited to {max_units} binary units (2^{max_units} states); this model has "
            f"{space.n}; use AIS"
        )
    try:
        device = next(energy.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    total = 1 << space.n
    out = np.empty(total, dtype=np.float64)
    for s in range(0, total, chunk):
        x = all_states(space, s, s + chunk).to(device)
        out[s : s + x.shape[0]] = energy(x).to(torch.float64).cpu().numpy()

    def where(i: int) -> str:
        return f"state {i} " + _fmt_point(all_states(space, i, i + 1)[0].numpy())

    _check_energies(out, where, "states")
    return out


def log_z_enumerate(energy: Energy, max_units: int = 24, chunk: int = 65536) -> ExactLogZ:
    """log Z = logsumexp over all 2^n states of -E (float64); refuses n > max_units."""
    t0 = time.perf_counter()
    E = _state_energies(energy, max_units, chunk)
    log_z = _logsumexp(-E)
    if not math.isfinite(log_z):
        raise NotNormalisableError(f"log Z is not finite ({log_z})")
    return ExactLogZ(log_z, "enumeration", 0.0, None, E.size, time.perf_counter() - t0)


def state_log_probs(energy: Energy, max_units: int = 24, chunk: int = 65536) -> np.ndarray:
    """Exact log p of every state, (2^n,) float64, in all_states order."""
    neg = -_state_energies(energy, max_units, chunk)
    return neg - _logsumexp(neg)


def exact_log_z(energy: Energy, method: str = "auto", **kw) -> ExactLogZ:
    """Exact reference log Z. method='auto': quadrature for a continuous space, enumeration for a
    binary one; 'quadrature' | 'enumeration' force one; 'closed_form' uses energy.log_z_closed_form()
    (log Z over all of R^d). Extra keywords go to the chosen routine."""
    if method == "auto":
        method = "enumeration" if isinstance(energy.space, BinarySpace) else "quadrature"
    if method == "quadrature":
        return log_z_quadrature(energy, **kw)
    if method == "enumeration":
        return log_z_enumerate(energy, **kw)
    if method == "closed_form":
        fn = getattr(energy, "log_z_closed_form", None)
        if fn is None:
            raise EbmlabError(f"{energy.describe()} has no closed-form log Z")
        t0 = time.perf_counter()
        return ExactLogZ(float(fn()), "closed_form", 0.0, None, 0, time.perf_counter() - t0)
    raise EbmlabError(f"method must be auto, quadrature, enumeration or closed_form, got {method!r}")
