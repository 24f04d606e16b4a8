"""A classifier read as an energy-based model (JEM, Grathwohl et al. 2020).

An MLP f: R^d -> R^K gives K logits. Read as a classifier, p(y | x) = softmax(f(x))[y]. Read as an
energy-based model of the joint, p(x, y) = exp(f(x)[y]) / Z, so marginalising y gives

    p(x) = sum_y exp(f(x)[y]) / Z,   E(x) = -logsumexp_y f(x)[y]

and p(y | x) = p(x, y) / p(x) is the same softmax: the classifier never looks at Z, so a plain
classifier leaves the density exp(-E) untrained (shifting every logit by the same g(x) changes
p(x) but not a single class probability).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..space import Box, ContinuousSpace
from .base import Energy
from .mlp import ACTIVATIONS, _generator


class ClassifierEnergy(Energy):
    """E(x) = -logsumexp_y f(x)[y] + confine * |x|^2, with f: R^dim -> R^classes an MLP (the logits).

    Layers: Linear(dim, width), act, ..., Linear(width, width), act, Linear(width, classes); `depth`
    is the number of hidden layers. x: (batch, dim) -> E: (batch,); `logits(x)`: (batch, classes);
    `class_probs(x)`: (batch, classes), rows summing to 1.

    `confine` (fixed, not trained; default 0.0) adds a quadratic wall to E only, so that exp(-E) is
    normalisable on all of R^dim and sampler chains cannot run off to infinity (the logits of an
    MLP can grow linearly far from the data). It does not change p(y | x).

    Weights are initialised like torch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    from an explicit generator/seed (never torch's global RNG). Parameters are stored in `dtype`
    (float32 default) and cast to x.dtype in `forward`.
    """

    def __init__(
        self,
        dim: int,
        classes: int,
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
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be >= 1, got depth={depth}, width={width}")
        if classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {classes}")
        if confine < 0:
            raise ValueError(f"confine must be >= 0, got {confine}")
        self.classes, self.width, self.depth, self.activation = int(classes), width, depth, activation
        self.confine = float(confine)
        self._act = ACTIVATIONS[activation]
        gen = _generator(seed)
        sizes = [dim] + [width] * depth + [self.classes]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            k = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(fan_out, fan_in, dtype=dtype).uniform_(-k, k, generator=gen)))
            self.biases.append(nn.Parameter(torch.empty(fan_out, dtype=dtype).uniform_(-k, k, generator=gen)))

    def logits(self, x: Tensor) -> Tensor:
        """f(x): (batch, dim) -> (batch, classes), in x's dtype."""
        dt = x.dtype
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = F.linear(h, w.to(dt), b.to(dt))
            if i < last:
                h = self._act(h)
        return h

    def energy_from_logits(self, x: Tensor, logits: Tensor) -> Tensor:
        """E given precomputed logits (saves a forward pass when both are needed)."""
        e = -torch.logsumexp(logits, dim=-1)
        if self.confine:
            e = e + self.confine * (x * x).sum(-1)
        return e

    def forward(self, x: Tensor) -> Tensor:
        return self.energy_from_logits(x, self.logits(x))

    def class_probs(self, x: Tensor) -> Tensor:
        """p(y | x) = softmax(f(x)): (batch, classes)."""
        return torch.softmax(self.logits(x), dim=-1)

    def describe(self) -> str:
        return f"Classifier({self.dim}->{self.width}x{self.depth}->{self.classes}, {self.activation})"
