"""The Energy contract: a torch module E(x) -> (batch,) that knows its space."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..space import BinarySpace, ContinuousSpace, Space


class Energy(nn.Module):
    """E: (batch, d) -> (batch,). p(x) = exp(-E(x)) / Z.

    Subclasses implement `forward`. `energy_and_grad` uses autograd unless a subclass
    overrides it with an analytic gradient. Works in float32 and float64 (the dtype of x).
    """

    space: Space

    def __init__(self, space: Space):
        super().__init__()
        self.space = space

    @property
    def dim(self) -> int:
        return self.space.dim

    @property
    def is_binary(self) -> bool:
        return isinstance(self.space, BinarySpace)

    def forward(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(E(x) (batch,), dE/dx (batch, d)), both detached from the parameter graph."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            e = self(xr)
            (g,) = torch.autograd.grad(e.sum(), xr)
        return e.detach(), g.detach()

    def grad(self, x: Tensor) -> Tensor:
        """dE/dx, shape (batch, d)."""
        return self.energy_and_grad(x)[1]

    def named_scalars(self) -> dict[str, float]:
        """Scalar parameters worth reporting by name (e.g. an expression's a, r)."""
        return {}

    def describe(self) -> str:
        return type(self).__name__


def continuous_space(energy: Energy) -> ContinuousSpace:
    """The energy's continuous space, or a clear error for a binary model."""
    if not isinstance(energy.space, ContinuousSpace):
        raise TypeError(f"{energy.describe()} is a binary model; this needs a continuous energy")
    return energy.space


def binary_space(energy: Energy) -> BinarySpace:
    if not isinstance(energy.space, BinarySpace):
        raise TypeError(f"{energy.describe()} is continuous; this needs a binary model")
    return energy.space


class FunctionEnergy(Energy):
    """Wrap a plain torch function f: (batch, d) -> (batch,) as an Energy (tests, benchmarks).

    `grad_fn`, if given, is the analytic dE/dx: (batch, d) -> (batch, d).
    """

    def __init__(self, fn, space: Space, grad_fn=None, name: str = "function"):
        super().__init__(space)
        self._fn = fn
        self._grad_fn = grad_fn
        self._name = name

    def forward(self, x: Tensor) -> Tensor:
        return self._fn(x)

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self._grad_fn is None:
            return super().energy_and_grad(x)
        with torch.no_grad():
            return self._fn(x), self._grad_fn(x)

    def describe(self) -> str:
        return self._name
