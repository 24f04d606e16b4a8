"""A classifier read as an energy-based model (JEM, Grathwohl et al. 2020).

An MLP f: R^d -> R^K gives K logits. Read as a classifier, p(y | x) = softmax(f(x))[y]. Read as an
energy-based model of the joint, p(x, y) = exp(f(x)[y]) / Z, so marginalising y gives

    p(x) = sum_y exp(f(x)[y]) / Z,   E(x) = -logsumexp_y f(x)[y]

and p(y | x) = p(x, y) / p(x) is the same softmax: the classifier never looks at Z, so a plain
classifier leaves the density exp(-E) untrained (shifting every logit by the same g(x) changes
p(x) but not a single class probability).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..space import Box, ContinuousSpace
from .base import Energy
from .mlp import ACTIVATIONS, check_mlp_args, make_layers, run_layers


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
        check_mlp_args(activation, width, depth, confine)
        if classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {classes}")
        self.classes, self.width, self.depth, self.activation = int(classes), width, depth, activation
        self.confine = float(confine)
        self._act = ACTIVATIONS[activation]
        self.weights, self.biases = make_layers([dim] + [width] * depth + [self.classes], dtype, seed)

    def logits(self, x: Tensor) -> Tensor:
        """f(x): (batch, dim) -> (batch, classes), in x's dtype."""
        return run_layers(x, self.weights, self.biases, self._act)

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
