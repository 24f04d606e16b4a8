"""A full-covariance Gaussian energy with a closed-form partition function."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..space import Box, ContinuousSpace
from .base import Energy


def default_box(mean: Tensor, cov: Tensor, width: float = 4.0) -> Box:
    """mean_i +/- width * sd_i on each axis."""
    sd = torch.sqrt(torch.diagonal(cov))
    return tuple((float(m - width * s), float(m + width * s)) for m, s in zip(mean, sd))


class GaussianEnergy(Energy):
    """E(x) = 0.5 (x - m)^T P (x - m), P = C^{-1} the precision (no normalising constant).

    Trainable parameters: `mean` (d,) and the precision's Cholesky factor P = L L^T, L lower
    triangular with positive diagonal, stored as `log_diag` (d,) (diag L = exp(log_diag)) and the
    strictly lower part `offdiag` (d, d) (only its strictly lower triangle is used). So P stays
    positive definite under any gradient step. dE/dx = P (x - m) (analytic).

    Z = (2 pi)^{d/2} det(P)^{-1/2}: see `log_z_closed_form`. Default box: mean +/- 4 sd per axis.
    Parameters are stored in `dtype` (float32 default; float64 for exact references), cast to x.dtype.
    """

    def __init__(self, mean, covariance, box: Box | None = None, dtype: torch.dtype = torch.float32):
        m = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
        d = m.shape[0]
        cov = torch.as_tensor(covariance, dtype=torch.float64).reshape(d, d)
        if not torch.allclose(cov, cov.T, atol=1e-10 * float(cov.abs().max()) + 1e-14):
            raise ValueError("covariance must be symmetric")
        prec = torch.linalg.inv(cov)
        prec = 0.5 * (prec + prec.T)
        L, info = torch.linalg.cholesky_ex(prec)
        if int(info) != 0:
            raise ValueError("covariance must be positive definite")
        if box is None:
            box = default_box(m, cov)
        super().__init__(ContinuousSpace(d, tuple((float(lo), float(hi)) for lo, hi in box)))
        self.mean = nn.Parameter(m.to(dtype))
        self.log_diag = nn.Parameter(torch.log(torch.diagonal(L)).to(dtype))
        self.offdiag = nn.Parameter(torch.tril(L, -1).to(dtype))

    def precision_factor(self, dtype: torch.dtype | None = None) -> Tensor:
        """L (d, d), lower triangular, P = L L^T."""
        L = torch.tril(self.offdiag, -1) + torch.diag(torch.exp(self.log_diag))
        return L if dtype is None else L.to(dtype)

    def precision(self, dtype: torch.dtype | None = None) -> Tensor:
        """P = L L^T (d, d)."""
        L = self.precision_factor(dtype)
        return L @ L.T

    def covariance(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """C = P^{-1} (d, d)."""
        return torch.linalg.inv(self.precision(dtype))

    def forward(self, x: Tensor) -> Tensor:
        z = (x - self.mean.to(x.dtype)) @ self.precision_factor(x.dtype)  # rows: (L^T (x - m))^T
        return 0.5 * (z * z).sum(-1)

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            diff = x - self.mean.to(x.dtype)
            P = self.precision(x.dtype)
            g = diff @ P  # P symmetric: rows are (P (x - m))^T
            return 0.5 * (g * diff).sum(-1), g

    def log_z_closed_form(self) -> float:
        """log Z over R^d = 0.5 d log(2 pi) - 0.5 log det P, with log det P = 2 sum log diag L."""
        with torch.no_grad():
            return 0.5 * self.dim * math.log(2 * math.pi) - float(self.log_diag.double().sum())

    def describe(self) -> str:
        return f"Gaussian(d={self.dim})"
