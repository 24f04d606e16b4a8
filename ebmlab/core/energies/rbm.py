"""Bernoulli-Bernoulli restricted Boltzmann machine; its energy on visibles is the free energy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..space import BinarySpace
from .base import Energy


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


class RBM(Energy):
    """Visibles v in {0,1}^{n_v}, hiddens h in {0,1}^{n_h}.

    Joint energy E(v, h) = -v.b - h.c - v W h, W (n_v, n_h), b (n_v,), c (n_h,).
    The model's energy on visibles is the free energy
        F(v) = -log sum_h exp(-E(v, h)) = -v.b - sum_j softplus(c_j + (v W)_j),
    so p(v) = exp(-F(v)) / Z with the same Z as the joint. Space: BinarySpace(n_v, '01').
    Init: W ~ N(0, scale^2) from `seed`, b = c = 0. Parameters stored in `dtype`, cast to v.dtype.
    """

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        seed: int | torch.Generator = 0,
        scale: float = 0.01,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(BinarySpace(n_visible, "01"))
        if n_hidden < 1:
            raise ValueError(f"n_hidden must be >= 1, got {n_hidden}")
        gen = _generator(seed)
        self.n_visible, self.n_hidden = n_visible, n_hidden
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen, dtype=dtype) * scale)
        self.b = nn.Parameter(torch.zeros(n_visible, dtype=dtype))
        self.c = nn.Parameter(torch.zeros(n_hidden, dtype=dtype))

    def forward(self, v: Tensor) -> Tensor:
        dt = v.dtype
        return -(v @ self.b.to(dt)) - F.softplus(self.c.to(dt) + v @ self.W.to(dt)).sum(-1)

    def joint_energy(self, v: Tensor, h: Tensor) -> Tensor:
        """E(v, h) = -v.b - h.c - v W h, shape (batch,)."""
        dt = v.dtype
        return -(v @ self.b.to(dt)) - (h @ self.c.to(dt)) - ((v @ self.W.to(dt)) * h).sum(-1)

    def hidden_prob(self, v: Tensor) -> Tensor:
        """p(h_j = 1 | v) = sigmoid(c + v W), shape (batch, n_h)."""
        return torch.sigmoid(self.c.to(v.dtype) + v @ self.W.to(v.dtype))

    def visible_prob(self, h: Tensor) -> Tensor:
        """p(v_i = 1 | h) = sigmoid(b + h W^T), shape (batch, n_v)."""
        return torch.sigmoid(self.b.to(h.dtype) + h @ self.W.to(h.dtype).T)

    def sample_hidden(self, v: Tensor, generator: torch.Generator) -> Tensor:
        """h ~ p(h | v) (batch, n_h), values in {0, 1}."""
        p = self.hidden_prob(v)
        return (torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device) < p).to(p.dtype)

    def sample_visible(self, h: Tensor, generator: torch.Generator) -> Tensor:
        """v ~ p(v | h) (batch, n_v), values in {0, 1}."""
        p = self.visible_prob(h)
        return (torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device) < p).to(p.dtype)

    def energy_and_grad(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """dF/dv = -b - sigmoid(c + v W) W^T (analytic)."""
        with torch.no_grad():
            dt = v.dtype
            a = self.c.to(dt) + v @ self.W.to(dt)
            e = -(v @ self.b.to(dt)) - F.softplus(a).sum(-1)
            return e, -self.b.to(dt) - torch.sigmoid(a) @ self.W.to(dt).T

    def describe(self) -> str:
        return f"RBM({self.n_visible} visible, {self.n_hidden} hidden)"
