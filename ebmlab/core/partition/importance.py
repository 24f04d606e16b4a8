"""Base distributions q(x) and simple importance sampling of Z = int exp(-E(x)) dx.

A base has `dim`, `sample(n, gen, dtype) -> (n, d)`, `log_prob(x) -> (n,)` (normalised, float of
x's dtype) and, for continuous bases, `grad_log_prob(x) -> (n, d)` (used by annealed gradients).

Importance sampling: x_i ~ q, log w_i = -E(x_i) - log q(x_i), so E_q[w] = Z and
log Z_hat = logmeanexp(log w) (see stats.summarize_log_weights for the error bar).
For a continuous energy the target is restricted to the energy's view box (the domain of the
quadrature reference): particles outside the box get weight 0 (log w = -inf), not dropped.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from ..energies.base import Energy
from ..errors import EbmlabError, NotNormalisableError
from ..grid import evaluate_on_grid, make_grid
from ..space import BinarySpace, Box, ContinuousSpace
from .stats import LogZEstimate, summarize_log_weights

LOG_2PI = math.log(2 * math.pi)


class Base(Protocol):
    """Continuous bases also give grad_log_prob(x) (n, d), log_prob_and_grad(x) and log_mass(box)."""

    dim: int

    def sample(self, n: int, gen: torch.Generator, dtype: torch.dtype = torch.float64) -> Tensor: ...

    def log_prob(self, x: Tensor) -> Tensor: ...


class GaussianBase:
    """Diagonal Gaussian q(x) = prod_i N(x_i; mean_i, scale_i^2).

    log q(x) = -0.5 sum_i ((x_i - m_i) / s_i)^2 - sum_i log s_i - (d/2) log 2 pi;
    grad log q(x) = -(x - m) / s^2.
    """

    def __init__(self, mean, scale=1.0):
        m = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
        s = torch.as_tensor(scale, dtype=torch.float64).reshape(-1).expand(m.shape[0]).clone()
        if not bool(torch.isfinite(m).all()) or not bool((s > 0).all()) or not bool(torch.isfinite(s).all()):
            raise EbmlabError(f"a Gaussian base needs finite means and scales > 0, got {m.tolist()}, {s.tolist()}")
        self.mean, self.scale = m, s
        self.dim = int(m.shape[0])
        self._ones = torch.ones(self.dim, dtype=torch.float64)  # sums over a small last axis as a matvec
        # scalar mean / scale when all axes agree: torch broadcasts over a short last axis slowly
        self._m: float | Tensor = float(m[0]) if bool((m == m[0]).all()) else m
        self._s: float | Tensor = float(s[0]) if bool((s == s[0]).all()) else s
        self._log_norm = float(-torch.log(s).sum() - 0.5 * self.dim * LOG_2PI)

    @classmethod
    def fit(cls, data, min_scale: float = 1e-3) -> GaussianBase:
        """Moment-matched base from data (n, d): per-axis mean and std (ddof 1), floored at min_scale."""
        x = torch.as_tensor(np.asarray(data) if not isinstance(data, Tensor) else data, dtype=torch.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise EbmlabError(f"fitting a Gaussian base needs data of shape (n >= 2, d), got {tuple(x.shape)}")
        return cls(x.mean(0), x.std(0).clamp(min=min_scale))

    @classmethod
    def for_box(cls, box: Box, width: float = 5.0) -> GaussianBase:
        """Centred on the box, scale_i = (hi_i - lo_i) / width (+/- 2.5 sd spans the box by default)."""
        lo = torch.tensor([b[0] for b in box], dtype=torch.float64)
        hi = torch.tensor([b[1] for b in box], dtype=torch.float64)
        return cls(0.5 * (lo + hi), (hi - lo) / width)

    def sample(self, n: int, gen: torch.Generator, dtype: torch.dtype = torch.float64) -> Tensor:
        z = torch.randn(n, self.dim, generator=gen, dtype=torch.float64)
        return (self.mean + self.scale * z).to(dtype)

    def _z(self, x: Tensor) -> tuple[Tensor, float | Tensor]:
        m, s = self._m, self._s
        m, s = (m if isinstance(m, float) else m.to(x.dtype)), (s if isinstance(s, float) else s.to(x.dtype))
        return (x - m) / s, s

    def log_prob(self, x: Tensor) -> Tensor:
        z = self._z(x)[0]
        return (z * z) @ self._ones.to(x.dtype) * -0.5 + self._log_norm

    def grad_log_prob(self, x: Tensor) -> Tensor:
        s = self.scale.to(x.dtype)
        return -(x - self.mean.to(x.dtype)) / (s * s)

    def log_prob_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(log q (n,), grad log q (n, d)) sharing z = (x - m) / s."""
        z, s = self._z(x)
        return (z * z) @ self._ones.to(x.dtype) * -0.5 + self._log_norm, z / -s

    def log_mass(self, box: Box) -> float:
        """log q(box) = sum_i log(Phi(b_i) - Phi(a_i)), standardised bounds, stable in both tails."""
        lo = (torch.tensor([b[0] for b in box], dtype=torch.float64) - self.mean) / self.scale
        hi = (torch.tensor([b[1] for b in box], dtype=torch.float64) - self.mean) / self.scale
        flip = lo > 0  # both bounds in the right tail: use Phi(-a) - Phi(-b)
        a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
        la, lb = torch.special.log_ndtr(a), torch.special.log_ndtr(b)
        return float((lb + torch.log1p(-torch.exp(la - lb))).sum())

    def __repr__(self) -> str:
        return f"GaussianBase(mean={self.mean.tolist()}, scale={self.scale.tolist()})"


class UniformBoxBase:
    """Uniform on the box: log q = -log vol inside, -inf outside; grad log q = 0."""

    def __init__(self, box: Box):
        self.box = tuple((float(lo), float(hi)) for lo, hi in box)
        ContinuousSpace(len(self.box), self.box)  # validates lo < hi
        self.dim = len(self.box)
        self.lo = torch.tensor([b[0] for b in self.box], dtype=torch.float64)
        self.hi = torch.tensor([b[1] for b in self.box], dtype=torch.float64)
        self._log_vol = float(torch.log(self.hi - self.lo).sum())

    def sample(self, n: int, gen: torch.Generator, dtype: torch.dtype = torch.float64) -> Tensor:
        u = torch.rand(n, self.dim, generator=gen, dtype=torch.float64)
        return (self.lo + (self.hi - self.lo) * u).to(dtype)

    def log_prob(self, x: Tensor) -> Tensor:
        inside = ((x >= self.lo.to(x.dtype)) & (x <= self.hi.to(x.dtype))).all(-1)
        return torch.where(inside, -self._log_vol, -math.inf).to(x.dtype)

    def grad_log_prob(self, x: Tensor) -> Tensor:
        return torch.zeros_like(x)

    def log_prob_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.log_prob(x), torch.zeros_like(x)

    def log_mass(self, box: Box) -> float:
        """log q(box) = log(volume of the overlap / volume of the base box)."""
        out = 0.0
        for (a, b), lo, hi in zip(box, self.lo.tolist(), self.hi.tolist()):
            w = min(b, hi) - max(a, lo)
            out += math.log(w / (hi - lo)) if w > 0 else -math.inf
        return out

    def __repr__(self) -> str:
        return f"UniformBoxBase({self.box})"


class UniformBinaryBase:
    """Uniform over the 2^n states: log q = -n log 2. spins '01' or 'pm1' as in BinarySpace."""

    def __init__(self, n: int, spins: str = "01"):
        self.space = BinarySpace(int(n), spins)  # validates
        self.dim = self.space.n
        self.spins = spins
        self._log_q = -self.dim * math.log(2.0)

    def sample(self, n: int, gen: torch.Generator, dtype: torch.dtype = torch.float64) -> Tensor:
        bits = (torch.rand(n, self.dim, generator=gen, dtype=torch.float64) < 0.5).to(dtype)
        off, on = self.space.values
        return bits if off == 0.0 else bits * (on - off) + off

    def log_prob(self, x: Tensor) -> Tensor:
        return torch.full(x.shape[:1], self._log_q, dtype=x.dtype, device=x.device)

    def __repr__(self) -> str:
        return f"UniformBinaryBase({self.dim}, spins={self.spins!r})"


def default_base(energy: Energy):
    """Gaussian centred on the energy's box with scale = box width / 5; uniform for binary models."""
    if isinstance(energy.space, BinarySpace):
        return UniformBinaryBase(energy.space.n, energy.space.spins)
    return GaussianBase.for_box(energy.space.box)


def check_base(energy: Energy, base) -> None:
    """Clear error when the base does not match the energy's space."""
    if base.dim != energy.dim:
        raise EbmlabError(f"the base has dimension {base.dim} but the energy has {energy.dim}")
    binary = isinstance(energy.space, BinarySpace)
    if binary != isinstance(base, UniformBinaryBase):
        kind = "binary" if binary else "continuous"
        raise EbmlabError(f"{base!r} does not fit a {kind} energy ({energy.describe()})")
    if binary and base.spins != energy.space.spins:
        raise EbmlabError(f"base spins {base.spins!r} differ from the model's {energy.space.spins!r}")


def in_box(x: Tensor, box: Box) -> Tensor:
    """(n,) bool: every coordinate within [lo, hi]."""
    lo = torch.tensor([b[0] for b in box], dtype=x.dtype, device=x.device)
    hi = torch.tensor([b[1] for b in box], dtype=x.dtype, device=x.device)
    return ((x >= lo) & (x <= hi)).all(-1)


@torch.no_grad()
def log_target_minus_base(energy: Energy, base, x: Tensor, restrict_to_box: bool = True) -> Tensor:
    """u(x) = -E(x) - log q(x) (n,), float64; -inf outside the box when restricted (continuous)."""
    e = energy(x).to(torch.float64)
    u = -e - base.log_prob(x).to(torch.float64)
    if restrict_to_box and isinstance(energy.space, ContinuousSpace):
        u = torch.where(in_box(x, energy.space.box), u, -math.inf)
    return u


def importance_log_z(
    energy: Energy,
    base=None,
    n: int = 10_000,
    gen: torch.Generator | None = None,
    exact_log_z: float | None = None,
    restrict_to_box: bool = True,
    chunk: int = 65_536,
) -> LogZEstimate:
    """Simple importance sampling: x ~ q (n draws, float64), log w = -E(x) - log q(x)."""
    if n < 2:
        raise EbmlabError(f"importance sampling needs n >= 2 particles, got {n}")
    if n > 10_000_000:
        raise EbmlabError(f"importance sampling is capped at 10,000,000 particles, got {n}")
    base = default_base(energy) if base is None else base
    check_base(energy, base)
    gen = torch.Generator().manual_seed(0) if gen is None else gen
    parts = []
    for s in range(0, n, chunk):
        x = base.sample(min(chunk, n - s), gen, torch.float64)
        parts.append(log_target_minus_base(energy, base, x, restrict_to_box))
    return summarize_log_weights(torch.cat(parts), "is", exact_log_z=exact_log_z)


# ---- exact references ------------------------------------------------------------------------------

EDGE_BAND, EDGE_RATIO = 0.02, 5.0


def reference_log_z(energy: Energy):
    """Exact log Z (an exact.ExactLogZ) when computable: quadrature in 1-2 D, enumeration up to 20 units,
    the closed form in higher dimensions; None otherwise. NotNormalisableError (NaN, -inf) propagates."""
    from .exact import exact_log_z

    binary = isinstance(energy.space, BinarySpace)
    try:
        if binary and energy.space.n <= 20 or not binary and energy.dim <= 2:
            return exact_log_z(energy)
        if hasattr(energy, "log_z_closed_form"):
            return exact_log_z(energy, method="closed_form")
    except NotNormalisableError:
        raise
    except EbmlabError:
        return None
    return None


def exact_samples(energy: Energy, n: int, gen: torch.Generator) -> Tensor:
    """n exact samples of p (n, d) float64: grid sampler (1-3 D) or enumeration (binary <= 20 units)."""
    if isinstance(energy.space, BinarySpace):
        from .exact import all_states, state_log_probs

        if energy.space.n > 20:
            raise EbmlabError(f"exact samples need enumeration, which stops at 20 units; got {energy.space.n}")
        logp = torch.as_tensor(state_log_probs(energy))
        k = torch.multinomial(torch.softmax(logp, 0), n, replacement=True, generator=gen)
        return all_states(energy.space)[k]
    if energy.dim > 3:
        raise EbmlabError(f"no exact sampler for a {energy.dim}-D energy: pass exact samples")
    from ..samplers.grid import sample_exact

    return sample_exact(energy, n, gen, grid_points=256 if energy.dim <= 2 else 96, dtype=torch.float64)


class PathGrid:
    """E and log q on a reference grid (1-D: 4096, 2-D: 256 points per axis, midpoint rule on the box) or
    on all states (binary <= 16 units): e, lq (M,) float64, log cell volume, grid shape (None if binary)."""

    def __init__(self, energy: Energy, base):
        from .exact import all_states

        with torch.no_grad():
            if isinstance(energy.space, BinarySpace):
                pts, self.logv, self.shape = all_states(energy.space), 0.0, None
                self.e = energy(pts).to(torch.float64)
            else:
                grid = make_grid(energy.space, 4096 if energy.dim == 1 else 256)
                pts, self.logv, self.shape = grid.points(), math.log(grid.cell_volume), grid.shape
                self.e = torch.as_tensor(evaluate_on_grid(energy, grid).reshape(-1))
            self.lq = base.log_prob(pts).to(torch.float64)

    @staticmethod
    def build(energy: Energy, base) -> PathGrid | None:
        if isinstance(energy.space, BinarySpace):
            return PathGrid(energy, base) if energy.space.n <= 16 else None
        return PathGrid(energy, base) if energy.dim <= 2 else None

    def check_edge(self) -> None:
        """NotNormalisableError when the outer 2% band of each axis holds over 5x its share of the volume:
        exp(-E) keeps growing toward the box edge (e.g. E = -x^2), so log Z would only measure the box."""
        if self.shape is None or not bool(torch.isfinite(self.e).all()):
            return
        p = torch.softmax(-self.e, 0).reshape(self.shape)
        band = torch.zeros(self.shape, dtype=torch.bool)
        for ax, n in enumerate(self.shape):
            m = max(1, math.ceil(EDGE_BAND * n))
            idx = [slice(None)] * len(self.shape)
            for sl in (slice(0, m), slice(n - m, n)):
                idx[ax] = sl
                band[tuple(idx)] = True
        mass, share = float(p[band].sum()), float(band.double().mean())
        if mass > EDGE_RATIO * share:
            raise NotNormalisableError(
                f"exp(-E) is not normalisable here: {100 * mass:.0f}% of its mass lies in the outer "
                f"{100 * EDGE_BAND:.0f}% of the box (a uniform density would put {100 * share:.0f}% there), so "
                "E keeps falling toward the edge and log Z would only measure the box; widen the box or fix E"
            )

    def log_z_beta(self, betas: np.ndarray, reverse: bool = False) -> np.ndarray | None:
        """log Z_beta = log sum f_beta * cell volume (F,) float64, log Z_0 = 0; reverse: log Z_1 - log Z_beta.
        None when E or log q is not finite on the grid."""
        if not bool(torch.isfinite(self.e).all()) or not bool(torch.isfinite(self.lq).all()):
            return None
        lse = [0.0 if b == 0 else float(torch.logsumexp((1 - b) * self.lq - b * self.e, 0)) + self.logv for b in betas]
        out = np.array(lse)
        return float(torch.logsumexp(-self.e, 0)) + self.logv - out if reverse else out
