"""Sampler kernels in the style of blackjax: pure init/step functions over NamedTuples.

A kernel is registered as a `Sampler`:
    init(x, energy, params) -> State           (State has at least .x, shape (chains, d))
    step(gen, state, energy, params) -> (State, Info)
The loop lives outside the kernel, so one step can be taken, shown and taken again.
Randomness comes only from the explicit `torch.Generator` `gen`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch
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


def metropolis(gen: torch.Generator, log_alpha: Tensor, old: tuple, new: tuple) -> tuple[list[Tensor], Info]:
    """Accept each chain's proposal with probability min(1, exp(log_alpha)) (log_alpha: (chains,)).

    A non-finite log_alpha (NaN/inf energy or gradient at the proposal) counts as -inf: rejected, so a
    bad proposal never enters the state. `old`/`new` are matching tuples of per-chain tensors whose
    first dimension is the chain (x (chains, d), E (chains,), ...). Returns the merged fields and Info.
    """
    log_alpha = torch.nan_to_num(log_alpha, nan=-math.inf, posinf=-math.inf)
    ref = old[0]
    u = torch.rand(log_alpha.shape, generator=gen, dtype=ref.dtype, device=ref.device)
    acc = u.log_() < log_alpha
    acc_col = acc.unsqueeze(1)
    merged = [torch.where(acc_col if o.ndim == 2 else acc, n, o) for o, n in zip(old, new)]
    return merged, Info(log_alpha.clamp_(max=0.0).exp_(), acc.to(ref.dtype))
