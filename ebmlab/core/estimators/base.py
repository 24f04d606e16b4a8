"""The estimator contract. One file per estimator registers an `Estimator` in ESTIMATORS.

An estimator is bound to its settings and context by `make(params, ctx) -> impl`, where impl has
    init(energy, gen) -> state                         (NamedTuple or None; e.g. PCD's chains)
    loss(energy, batch, state, gen) -> (loss, state, info)
    extra_parameters(state) -> list[torch.nn.Parameter]  (learned by the optimiser too, e.g. NCE's c)
An impl may also define `loss_labelled(energy, batch, labels, state, gen)`: the trainer calls it
instead of `loss` when the data set has class labels (labels: (b,) int64), e.g. for JEM.
`loss` is a scalar tensor whose gradient w.r.t. the energy's parameters is the estimator's update
direction (minimised by the optimiser). `info` is a dict of what the window draws and the metrics
show; known keys: 'negatives' (n,d) CD/PCD negative samples, 'chains' (n,d) PCD persistent chains,
'chain_age' (n,) steps since (re)initialisation, 'noisy' (n,d) DSM's noisy samples, 'noise' (n,d)
NCE's noise samples, 'c' (float) NCE's learned log-normaliser, 'accept' (float) sampler acceptance.
Tensors in info are detached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from ..registry import Registry
from ..samplers.base import Sampler
from ..space import Space


@dataclass(frozen=True)
class EstimatorContext:
    """What an estimator may use besides the energy: the space, the whole training set
    (n, d) on the model's device and dtype, and the sampler chosen in the experiment
    (a continuous kernel for continuous models, Gibbs for binary ones)."""

    space: Space
    data: Tensor
    sampler: Sampler | None = None
    sampler_params: Any = None
    labels: Tensor | None = None  # (n,) int64 class labels of `data`, when the data set has them


class EstimatorImpl(Protocol):
    def init(self, energy: torch.nn.Module, gen: torch.Generator) -> Any: ...

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]: ...

    def extra_parameters(self, state: Any) -> list[torch.nn.Parameter]: ...


@dataclass(frozen=True)
class Estimator:
    name: str
    params_cls: type
    make: Callable[[Any, EstimatorContext], EstimatorImpl]
    spaces: tuple[str, ...]  # subset of ("continuous", "binary")
    description: str = ""


ESTIMATORS: Registry[Estimator] = Registry("estimator")


def register(estimator: Estimator) -> Estimator:
    return ESTIMATORS.register(estimator.name, estimator)


class StatelessImpl:
    """Convenience base for estimators without state or extra parameters."""

    def init(self, energy: torch.nn.Module, gen: torch.Generator) -> Any:
        return None

    def extra_parameters(self, state: Any) -> list[torch.nn.Parameter]:
        return []
