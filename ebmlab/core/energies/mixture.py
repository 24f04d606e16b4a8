"""A Gaussian mixture energy: normalised by construction (Z = 1)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..space import Box, ContinuousSpace
from .base import Energy


class GaussianMixtureEnergy(Energy):
    """E(x) = -logsumexp_k [log w_k + log N(x; m_k, S_k)], so Z = 1 exactly (over R^d).

    Give either `covariances` (K, d, d) or isotropic `scales` (K,) (S_k = scales_k^2 I); default is
    unit scales. `weights` (K,) are normalised (default uniform).

    Trainable parameters: `logits` (K,) (w = softmax(logits)), `means` (K, d), and each component's
    precision Cholesky factor P_k = S_k^{-1} = L_k L_k^T stored as `log_diag` (K, d) and strictly
    lower `offdiag` (K, d, d). log N(x; m, S) = -0.5 |L^T (x - m)|^2 + sum log diag L - d/2 log 2 pi.
    Default box: the union of m_k +/- 4 sd per axis. Parameters are stored in `dtype`.
    """

    def __init__(
        self,
        means,
        covariances=None,
        scales=None,
        weights=None,
        box: Box | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        m = torch.as_tensor(means, dtype=torch.float64)
        if m.ndim != 2:
            raise ValueError(f"means must have shape (K, d), got {tuple(m.shape)}")
        K, d = m.shape
        if covariances is not None and scales is not None:
            raise ValueError("give either covariances or scales, not both")
        if covariances is not None:
            cov = torch.as_tensor(covariances, dtype=torch.float64).reshape(K, d, d)
        else:
            s = torch.ones(K, dtype=torch.float64) if scales is None else torch.as_tensor(scales)
            s = s.to(torch.float64).reshape(-1).expand(K)
            if (s <= 0).any():
                raise ValueError("scales must be > 0")
            cov = (s**2)[:, None, None] * torch.eye(d, dtype=torch.float64)
        prec = torch.linalg.inv(cov)
        L, info = torch.linalg.cholesky_ex(0.5 * (prec + prec.transpose(-1, -2)))
        if bool((info != 0).any()):
            raise ValueError("every covariance must be symmetric positive definite")
        w = torch.full((K,), 1.0 / K, dtype=torch.float64) if weights is None else torch.as_tensor(weights)
        w = w.to(torch.float64).reshape(K)
        if (w <= 0).any():
            raise ValueError("mixture weights must be > 0")
        if box is None:
            sd = torch.sqrt(torch.diagonal(cov, dim1=-2, dim2=-1))
            lo, hi = (m - 4 * sd).min(0).values, (m + 4 * sd).max(0).values
            box = tuple((float(a), float(b)) for a, b in zip(lo, hi))
        super().__init__(ContinuousSpace(d, tuple((float(lo), float(hi)) for lo, hi in box)))
        self.n_components = K
        self.logits = nn.Parameter(torch.log(w / w.sum()).to(dtype))
        self.means = nn.Parameter(m.to(dtype))
        self.log_diag = nn.Parameter(torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).to(dtype))
        self.offdiag = nn.Parameter(torch.tril(L, -1).to(dtype))

    def weights(self) -> Tensor:
        """w = softmax(logits), shape (K,)."""
        return torch.softmax(self.logits, 0)

    def precision_factors(self, dtype: torch.dtype | None = None) -> Tensor:
        """L_k (K, d, d), lower triangular, P_k = L_k L_k^T."""
        L = torch.tril(self.offdiag, -1) + torch.diag_embed(torch.exp(self.log_diag))
        return L if dtype is None else L.to(dtype)

    def covariances(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """S_k = (L_k L_k^T)^{-1}, shape (K, d, d)."""
        L = self.precision_factors(dtype)
        return torch.linalg.inv(L @ L.transpose(-1, -2))

    def component_log_probs(self, x: Tensor) -> Tensor:
        """log w_k + log N(x; m_k, S_k), shape (batch, K)."""
        dt = x.dtype
        diff = x[:, None, :] - self.means.to(dt)[None]  # (B, K, d)
        z = torch.einsum("bki,kij->bkj", diff, self.precision_factors(dt))  # (L_k^T diff)
        log_norm = self.log_diag.to(dt).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)
        return torch.log_softmax(self.logits.to(dt), 0) + log_norm - 0.5 * (z * z).sum(-1)

    def responsibilities(self, x: Tensor) -> Tensor:
        """Posterior p(k | x), shape (batch, K)."""
        return torch.softmax(self.component_log_probs(x), -1)

    def forward(self, x: Tensor) -> Tensor:
        return -torch.logsumexp(self.component_log_probs(x), -1)

    def log_z_closed_form(self) -> float:
        """log Z = 0 over R^d (the mixture is a normalised density)."""
        return 0.0

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float64) -> Tensor:
        """n exact samples (n, d): k ~ w, x = m_k + L_k^{-T} eps, eps ~ N(0, I)."""
        k = torch.multinomial(self.weights().double(), n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, 1, generator=generator, dtype=torch.float64)
        Lt = self.precision_factors(torch.float64).transpose(-1, -2)[k]  # (n, d, d) upper
        x = self.means.double()[k] + torch.linalg.solve_triangular(Lt, eps, upper=True).squeeze(-1)
        return x.to(dtype)

    def describe(self) -> str:
        return f"GaussianMixture(K={self.n_components}, d={self.dim})"
