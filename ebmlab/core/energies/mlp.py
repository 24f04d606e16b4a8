"""A small multilayer-perceptron energy on a continuous box."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..space import Box, ContinuousSpace
from .base import Energy

ACTIVATIONS = {
    "silu": F.silu,
    "softplus": F.softplus,
    "tanh": torch.tanh,
    "relu": F.relu,
    "elu": F.elu,
}


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def make_layers(sizes: list[int], dtype: torch.dtype, seed: int | torch.Generator) -> tuple[nn.ParameterList, ...]:
    """Weights (out, in) and biases (out,) of Linear layers sizes[0] -> ... -> sizes[-1], initialised like
    torch's default Linear, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from an explicit seed/generator."""
    gen = _generator(seed)
    weights, biases = nn.ParameterList(), nn.ParameterList()
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        k = 1.0 / math.sqrt(fan_in)
        weights.append(nn.Parameter(torch.empty(fan_out, fan_in, dtype=dtype).uniform_(-k, k, generator=gen)))
        biases.append(nn.Parameter(torch.empty(fan_out, dtype=dtype).uniform_(-k, k, generator=gen)))
    return weights, biases


def run_layers(x: Tensor, weights: nn.ParameterList, biases: nn.ParameterList, act) -> Tensor:
    """The MLP's output (batch, sizes[-1]) in x's dtype: act between layers, none after the last."""
    dt = x.dtype
    h = x
    # the lists' own dicts: ParameterList indexing costs more Python than the small matmuls it feeds
    ws, bs = weights._parameters.values(), biases._parameters.values()
    last = len(ws) - 1
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = F.linear(h, w.to(dt), b.to(dt))
        if i < last:
            h = act(h)
    return h


def check_mlp_args(activation: str, width: int, depth: int, confine: float) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be >= 1, got depth={depth}, width={width}")
    if confine < 0:
        raise ValueError(f"confine must be >= 0, got {confine}")


class MLPEnergy(Energy):
    """E(x) = f_theta(x) + confine * |x|^2, with f_theta: R^dim -> R an MLP.

    Layers: Linear(dim, width), act, ..., Linear(width, width), act, Linear(width, 1); `depth` is
    the number of hidden layers. x: (batch, dim) -> E: (batch,).

    `confine` (fixed, not trained; default 0.0) adds a quadratic wall so that exp(-E) is
    normalisable on all of R^dim (an MLP alone can grow at most linearly, or flatten out, at
    infinity). On the view box the model is always normalisable; `confine` only matters off it.

    Weights are initialised like torch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    but from an explicit generator/seed. Parameters are stored in `dtype` (float32 default) and are
    cast to x.dtype in `forward`.
    """

    def __init__(
        self,
        dim: int,
        width: int = 64,
        depth: int = 2,
        activation: str = "silu",
        box: Box | None = None,
        seed: int | torch.Generator = 0,
        confine: float = 0.0,
        dtype: torch.dtype = torch.float32,
    ):
        if box is None:
            box = tuple((-3.0, 3.0) for _ in range(dim))
        super().__init__(ContinuousSpace(dim, tuple((float(lo), float(hi)) for lo, hi in box)))
        check_mlp_args(activation, width, depth, confine)
        self.width, self.depth, self.activation = width, depth, activation
        self.confine = float(confine)
        self._act = ACTIVATIONS[activation]
        self.weights, self.biases = make_layers([dim] + [width] * depth + [1], dtype, seed)

    def forward(self, x: Tensor) -> Tensor:
        h = run_layers(x, self.weights, self.biases, self._act)
        e = h.squeeze(-1)
        if self.confine:
            e = e + self.confine * (x * x).sum(-1)
        return e

    def describe(self) -> str:
        return f"MLP({self.dim}->{self.width}x{self.depth}->1, {self.activation})"
