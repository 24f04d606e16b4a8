"""Fully visible Boltzmann machines (Ising models) on n binary units."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from ..space import BinarySpace
from .base import Energy

Spins = Literal["01", "pm1"]


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


class BoltzmannMachine(Energy):
    """E(x) = -0.5 x^T W x - b^T x = -sum_{i<j} W_ij x_i x_j - sum_i b_i x_i.

    Spin convention (`spins`):
      - '01':  x_i in {0, 1}.  p(x_i = 1 | rest) = sigmoid(h_i);
      - 'pm1': x_i in {-1, +1}. p(x_i = +1 | rest) = sigmoid(2 h_i);
    with the local field h = x W + b (`local_field`; W has zero diagonal, so h_i ignores x_i).
    Positive W_ij favours aligned units (ferromagnetic); positive b_i favours x_i = on.

    W is symmetric with zero diagonal by construction: the trainable tensor `w_upper` (n, n) is
    read through its strict upper triangle and W = U + U^T. `bias` b (n,) is trainable too.
    dE/dx = -(x W + b) (analytic). Parameters are stored in `dtype` (float32 default; float64 for
    exact references) and cast to x.dtype in forward.
    """

    def __init__(self, W, b=None, spins: Spins = "pm1", dtype: torch.dtype = torch.float32):
        Wt = torch.as_tensor(W, dtype=torch.float64)
        if Wt.ndim != 2 or Wt.shape[0] != Wt.shape[1]:
            raise ValueError(f"W must be square (n, n), got {tuple(Wt.shape)}")
        n = Wt.shape[0]
        if not torch.allclose(Wt, Wt.T) or bool((torch.diagonal(Wt) != 0).any()):
            raise ValueError("W must be symmetric with a zero diagonal")
        bt = torch.zeros(n, dtype=torch.float64) if b is None else torch.as_tensor(b, dtype=torch.float64)
        super().__init__(BinarySpace(n, spins))
        self.w_upper = nn.Parameter(torch.triu(Wt, 1).to(dtype))
        self.bias_param = nn.Parameter(bt.reshape(n).to(dtype))

    @property
    def n(self) -> int:
        return self.space.n

    @property
    def spins(self) -> str:
        return self.space.spins

    def coupling(self, dtype: torch.dtype | None = None) -> Tensor:
        """W (n, n), symmetric, zero diagonal."""
        U = torch.triu(self.w_upper, 1)
        W = U + U.T
        return W if dtype is None else W.to(dtype)

    def bias(self, dtype: torch.dtype | None = None) -> Tensor:
        """b (n,)."""
        return self.bias_param if dtype is None else self.bias_param.to(dtype)

    def local_field(self, x: Tensor) -> Tensor:
        """h = x W + b, shape (batch, n)."""
        return x @ self.coupling(x.dtype) + self.bias(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        W, b = self.coupling(x.dtype), self.bias(x.dtype)
        return -0.5 * ((x @ W) * x).sum(-1) - x @ b

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            W, b = self.coupling(x.dtype), self.bias(x.dtype)
            xw = x @ W
            return -0.5 * (xw * x).sum(-1) - x @ b, -(xw + b)

    def conditional_on_prob(self, x: Tensor) -> Tensor:
        """p(x_i = on | rest) for every unit i, shape (batch, n)."""
        h = self.local_field(x)
        return torch.sigmoid(h if self.spins == "01" else 2 * h)

    # ---- constructors -------------------------------------------------------------------------

    @classmethod
    def ising_lattice(
        cls,
        rows: int,
        cols: int,
        J: float = 1.0,
        h: float | Tensor = 0.0,
        periodic: bool = False,
        spins: Spins = "pm1",
        dtype: torch.dtype = torch.float32,
    ) -> BoltzmannMachine:
        """Nearest-neighbour lattice: W_ij = J for lattice neighbours, unit (r, c) has index r*cols + c.

        `h`: scalar or (rows*cols,) field. periodic=True wraps an axis only when it has >= 3 sites
        (on a length-2 axis the wrap-around bond is the same bond, which is not counted twice).
        """
        n = rows * cols
        W = torch.zeros(n, n, dtype=torch.float64)

        def link(i: int, j: int) -> None:
            W[i, j] = W[j, i] = J

        for r in range(rows):
            for c in range(cols):
                i = r * cols + c
                if c + 1 < cols:
                    link(i, r * cols + c + 1)
                elif periodic and cols >= 3:
                    link(i, r * cols)
                if r + 1 < rows:
                    link(i, (r + 1) * cols + c)
                elif periodic and rows >= 3:
                    link(i, c)
        b = torch.as_tensor(h, dtype=torch.float64).expand(n).clone()
        return cls(W, b, spins, dtype)

    @classmethod
    def all_to_all(
        cls,
        n: int,
        scale: float = 1.0,
        seed: int | torch.Generator = 0,
        spins: Spins = "pm1",
        bias_scale: float = 0.0,
        dtype: torch.dtype = torch.float32,
    ) -> BoltzmannMachine:
        """Random symmetric couplings W_ij = W_ji ~ N(0, scale^2) (i < j), b_i ~ N(0, bias_scale^2)."""
        gen = _generator(seed)
        G = torch.randn(n, n, generator=gen, dtype=torch.float64) * scale
        U = torch.triu(G, 1)
        b = torch.randn(n, generator=gen, dtype=torch.float64) * bias_scale
        return cls(U + U.T, b, spins, dtype)

    @classmethod
    def zeros(cls, n: int, spins: Spins = "pm1", dtype: torch.dtype = torch.float32) -> BoltzmannMachine:
        """W = 0, b = 0: the uniform distribution over the 2^n states."""
        return cls(torch.zeros(n, n), torch.zeros(n), spins, dtype)

    def describe(self) -> str:
        return f"BoltzmannMachine(n={self.n}, spins={self.spins})"
