"""Noise-contrastive estimation (name 'nce'), Gutmann & Hyvärinen (2010, 2012).

The model's log-density is log p_model(x) = -E(x) - c with c a LEARNED scalar, so at the optimum
exp(-E - c) is normalised and **c estimates log Z** (compare c with the exact log Z, not with -log Z).
Training tells data x (n points) from noise y ~ q (m = round(nu n) points) by logistic regression on

    G(u) = -E(u) - c - log q(u) - log nu_eff,     nu_eff = m / n,
    loss = -[ mean_x log sigmoid(G(x)) + nu_eff * mean_y log sigmoid(-G(y)) ].

Noise q (param `noise`):
  'fitted_gaussian': N(mean, fit_scale^2 * C) with mean and biased covariance C of the training set;
  'uniform_box':     uniform on the space's box (data outside the box get log q = -inf: no signal);
  'gaussian':        N(noise_mean, noise_scale^2 I) (noise_mean empty: the origin).
q should be broad enough to cover the data and overlap the model; larger nu lowers the variance.

c is an nn.Parameter kept in the estimator's STATE (NCEState) and returned by `extra_parameters`, so
the experiment's optimiser trains it with the energy. `init` sets c by importance sampling,
c0 = log mean_j exp(-E(y_j) - log q(y_j)) over 1024 noise draws (a log Z estimate of the initial model).

info: 'noise' (<= 256, d) noise samples of this step (detached), 'c' (float, the log Z estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError
from ..params import param
from ..space import ContinuousSpace
from .base import Estimator, EstimatorContext, register

N_INFO_NOISE = 256
N_INIT_SAMPLES = 1024


@dataclass(frozen=True)
class NCEParams:
    noise: str = param(
        "fitted_gaussian",
        choices=("fitted_gaussian", "uniform_box", "gaussian"),
        help="noise distribution q: Gaussian fitted to the data, uniform on the box, or a chosen Gaussian",
    )
    nu: float = param(1.0, lo=0, lo_open=True, hi=1000.0, log=True, help="noise samples per data sample")
    fit_scale: float = param(
        1.0,
        lo=0,
        lo_open=True,
        log=True,
        help="'fitted_gaussian': multiplies the fitted standard deviations",
    )
    noise_mean: list[float] = param([], help="'gaussian': mean of q (empty: the origin)")
    noise_scale: float = param(1.0, lo=0, lo_open=True, log=True, help="'gaussian': standard deviation of q")


def _randn(shape: tuple[int, ...], gen: torch.Generator, like: Tensor) -> Tensor:
    return torch.randn(shape, generator=gen, dtype=like.dtype, device=gen.device).to(like.device)


class GaussianNoise(NamedTuple):
    """q = N(mean, L L^T); mean (d,), chol = L (d, d) lower triangular."""

    mean: Tensor
    chol: Tensor

    def sample(self, n: int, gen: torch.Generator) -> Tensor:
        """(n, d) = mean + z L^T, z ~ N(0, I) (one (n, d) normal draw from gen)."""
        z = _randn((n, self.mean.shape[0]), gen, self.mean)
        return self.mean + z @ self.chol.T

    def log_prob(self, x: Tensor) -> Tensor:
        """log q(x), (n,) = -0.5 |L^{-1}(x - mean)|^2 - sum log diag L - d/2 log 2 pi."""
        L = self.chol.to(x.dtype)
        diff = (x - self.mean.to(x.dtype)).T
        z = torch.linalg.solve_triangular(L, diff, upper=False)
        d = x.shape[1]
        log_det = torch.log(torch.diagonal(L)).sum()
        return -0.5 * (z * z).sum(0) - log_det - 0.5 * d * math.log(2 * math.pi)


class UniformNoise(NamedTuple):
    """q = uniform on the box [lo_i, hi_i]; lo, hi (d,)."""

    lo: Tensor
    hi: Tensor

    def sample(self, n: int, gen: torch.Generator) -> Tensor:
        """(n, d) uniform draws (one (n, d) uniform draw from gen)."""
        u = torch.rand((n, self.lo.shape[0]), generator=gen, dtype=self.lo.dtype, device=gen.device)
        return self.lo + u.to(self.lo.device) * (self.hi - self.lo)

    def log_prob(self, x: Tensor) -> Tensor:
        """-log volume inside the box, -inf outside; (n,)."""
        lo, hi = self.lo.to(x.dtype), self.hi.to(x.dtype)
        inside = ((x >= lo) & (x <= hi)).all(-1)
        val = -torch.log(hi - lo).sum()
        return torch.where(inside, val, torch.full_like(val, -math.inf))


NoiseDist = Union[GaussianNoise, UniformNoise]


class NCEState(NamedTuple):
    """c: learned log-normaliser (0-d nn.Parameter; estimates log Z); noise: the distribution q."""

    c: nn.Parameter
    noise: NoiseDist


def log_ratio(energy: nn.Module, u: Tensor, c: Tensor, noise: NoiseDist, log_nu: float) -> Tensor:
    """G(u) = -E(u) - c - log q(u) - log nu, shape (n,); differentiable in the energy's params and c."""
    return -energy(u) - c.to(u.dtype) - noise.log_prob(u) - log_nu


def make_noise(params: NCEParams, ctx: EstimatorContext) -> NoiseDist:
    """Build q from the settings and the context (data for 'fitted_gaussian', box for 'uniform_box')."""
    data = ctx.data
    dtype, device = data.dtype, data.device
    d = ctx.space.dim
    if params.noise == "uniform_box":
        if not isinstance(ctx.space, ContinuousSpace):
            raise ConfigError(["estimator.noise: 'uniform_box' needs a continuous space"])
        box = torch.tensor(ctx.space.box, dtype=dtype, device=device)
        return UniformNoise(box[:, 0], box[:, 1])
    if params.noise == "gaussian":
        mean = list(params.noise_mean) or [0.0] * d
        if len(mean) != d:
            raise ConfigError([f"estimator.noise_mean: must have {d} entries (one per dimension), got {len(mean)}"])
        chol = params.noise_scale * torch.eye(d, dtype=dtype, device=device)
        return GaussianNoise(torch.tensor(mean, dtype=dtype, device=device), chol)
    if data.ndim != 2 or data.shape[0] < 2:
        raise DataError("NCE with noise 'fitted_gaussian' needs at least 2 data points")
    x = data.detach().to(torch.float64)
    mean = x.mean(0)
    cov = (x - mean).T @ (x - mean) / x.shape[0]
    jitter = 1e-6 * float(torch.diagonal(cov).mean()) + 1e-12
    cov = cov + jitter * torch.eye(d, dtype=torch.float64, device=device)
    L, info = torch.linalg.cholesky_ex(cov)
    if int(info) != 0:
        raise DataError("NCE: the data covariance is not positive definite; use another noise")
    return GaussianNoise(mean.to(dtype), (params.fit_scale * L).to(dtype))


class NCEImpl:
    """NCE; state = NCEState(c, noise)."""

    def __init__(self, params: NCEParams, ctx: EstimatorContext):
        self.params = params
        self.noise = make_noise(params, ctx)
        self.dtype = ctx.data.dtype

    def init(self, energy: nn.Module, gen: torch.Generator) -> NCEState:
        """c0 = log mean exp(-E(y) - log q(y)), y ~ q (importance-sampling log Z; 0 if not finite)."""
        with torch.no_grad():
            y = self.noise.sample(N_INIT_SAMPLES, gen)
            log_w = -energy(y).to(torch.float64) - self.noise.log_prob(y).to(torch.float64)
            c0 = float(torch.logsumexp(log_w, 0)) - math.log(N_INIT_SAMPLES)
        if not math.isfinite(c0):
            c0 = 0.0
        c = nn.Parameter(torch.tensor(c0, dtype=self.dtype, device=y.device))
        return NCEState(c, self.noise)

    def extra_parameters(self, state: NCEState) -> list[nn.Parameter]:
        return [state.c]

    def loss(self, energy: nn.Module, batch: Tensor, state: NCEState, gen: torch.Generator) -> tuple[Tensor, Any, dict]:
        """batch (n, d) -> (logistic NCE loss, state, {'noise': (<=256, d), 'c': float}).

        Draws the m = max(1, round(nu n)) noise points with exactly one `state.noise.sample(m, gen)`."""
        n = batch.shape[0]
        m = max(1, int(round(self.params.nu * n)))
        nu_eff = m / n
        y = state.noise.sample(m, gen).to(batch.dtype)
        log_nu = math.log(nu_eff)
        with torch.enable_grad():
            g_data = log_ratio(energy, batch.detach(), state.c, state.noise, log_nu)
            g_noise = log_ratio(energy, y, state.c, state.noise, log_nu)
            loss = -(F.logsigmoid(g_data).mean() + nu_eff * F.logsigmoid(-g_noise).mean())
        info = {"noise": y[:N_INFO_NOISE].detach(), "c": float(state.c.detach())}
        return loss, state, info


def make(params: NCEParams, ctx: EstimatorContext) -> NCEImpl:
    return NCEImpl(params, ctx)


register(
    Estimator(
        "nce",
        NCEParams,
        make,
        ("continuous",),
        "Noise-contrastive estimation: logistic regression data vs noise; learns c, an estimate of log Z",
    )
)
