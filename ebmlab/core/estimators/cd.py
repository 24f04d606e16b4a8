"""Contrastive divergence CD-k (name 'cd').

Negatives x- come from k steps of the experiment's sampler kernel (ctx.sampler with
ctx.sampler_params; Gibbs for binary models) started AT the data batch x+:

    loss = mean_b E(x+_b) - mean_b E(x-_b)      (x- detached)

so d loss / d theta = E_data[dE/dtheta] - E_{K^k data}[dE/dtheta], an approximation of the
log-likelihood gradient that is biased towards "the data is already a fixed point" (e.g. CD with short
local moves cannot learn the relative weights of well-separated modes).

`run_kernel` and `resolve_sampler` are shared with PCD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import EbmlabError
from ..params import param
from ..samplers.base import Sampler
from ..space import BinarySpace
from .base import Estimator, EstimatorContext, StatelessImpl, register


@dataclass(frozen=True)
class CDParams:
    k: int = param(1, lo=1, hi=10000, help="sampler steps from the data batch to the negatives")


def resolve_sampler(ctx: EstimatorContext, estimator: str) -> tuple[Sampler, Any]:
    """The context's sampler and its params (defaults when ctx.sampler_params is None), checked
    against the space (a continuous kernel for continuous models, a binary one for binary models)."""
    sampler = ctx.sampler
    if sampler is None:
        raise EbmlabError(f"estimator {estimator!r} needs a sampler for its negative samples; none is set")
    want = "binary" if isinstance(ctx.space, BinarySpace) else "continuous"
    if sampler.space not in (want, "any"):
        raise EbmlabError(
            f"estimator {estimator!r}: sampler {sampler.name!r} works on {sampler.space} spaces, "
            f"but the model is {want}; choose a {want} sampler"
        )
    params = ctx.sampler_params if ctx.sampler_params is not None else sampler.params_cls()
    return sampler, params


@torch.no_grad()
def run_kernel(
    sampler: Sampler, params: Any, energy: torch.nn.Module, x: Tensor, k: int, gen: torch.Generator
) -> tuple[Any, float]:
    """k kernel steps from x (n, d), re-initialising the kernel state at x with the CURRENT energy
    (kernel states cache E and grad E, stale after a parameter update).

    Returns (final sampler state, mean acceptance probability over the k steps and the chains)."""
    state = sampler.init(x.detach(), energy, params)
    acc = torch.zeros((), dtype=torch.float64, device=x.device)
    for _ in range(k):
        state, info = sampler.step(gen, state, energy, params)
        acc += info.accept_prob.to(torch.float64).mean()
    return state, float(acc) / k


class CDImpl(StatelessImpl):
    """CD-k; stateless (the chains restart at each batch)."""

    def __init__(self, params: CDParams, ctx: EstimatorContext):
        self.params = params
        self.sampler, self.sampler_params = resolve_sampler(ctx, "cd")

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: Any, gen: torch.Generator
    ) -> tuple[Tensor, Any, dict]:
        """batch (b, d) -> (scalar loss, None, {'negatives': (b, d), 'accept': float})."""
        sstate, accept = run_kernel(self.sampler, self.sampler_params, energy, batch, self.params.k, gen)
        neg = sstate.x.detach()
        loss = energy(batch).mean() - energy(neg).mean()
        return loss, state, {"negatives": neg, "accept": accept}


def make(params: CDParams, ctx: EstimatorContext) -> CDImpl:
    return CDImpl(params, ctx)


register(
    Estimator(
        "cd",
        CDParams,
        make,
        ("continuous", "binary"),
        "Contrastive divergence CD-k: negatives from k sampler steps started at the data batch",
    )
)
