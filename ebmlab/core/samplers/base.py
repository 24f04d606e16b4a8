"""Sampler kernels in the style of blackjax: pure init/step functions over NamedTuples.

A kernel is registered as a `Sampler`:
    init(x, energy, params) -> State           (State has at least .x, shape (chains, d))
    step(gen, state, energy, params) -> (State, Info)
The loop lives outside the kernel, so one step can be taken, shown and taken again.
Randomness comes only from the explicit `torch.Generator` `gen`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from torch import Tensor

from ..registry import Registry


class Info(NamedTuple):
    """Per-step information. accept_prob, accepted: (chains,) float tensors (1.0 for unadjusted kernels)."""

    accept_prob: Tensor
    accepted: Tensor


@dataclass(frozen=True)
class Sampler:
    name: str
    params_cls: type
    init: Callable[..., Any]
    step: Callable[..., tuple[Any, Info]]
    space: Literal["continuous", "binary", "any"]
    description: str = ""


SAMPLERS: Registry[Sampler] = Registry("sampler")


def register(sampler: Sampler) -> Sampler:
    return SAMPLERS.register(sampler.name, sampler)
