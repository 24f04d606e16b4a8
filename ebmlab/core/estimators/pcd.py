"""Persistent contrastive divergence PCD (name 'pcd'), Tieleman (2008).

n_chains persistent chains x- live in the estimator's STATE (`PCDState`), never on the impl. Each
update: a random fraction `reinit` of the chains restarts at random data rows, then every chain takes
k steps of the experiment's sampler at the current parameters, and

    loss = mean_b E(x+_b) - mean_c E(x-_c)      (x- detached)

The kernel state is re-initialised at the chains each update (it caches E and grad E, which are
stale after the optimiser moved the parameters); the last one is kept in the state for inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor

from ..params import param
from ..space import BinarySpace, ContinuousSpace
from .base import Estimator, EstimatorContext, register
from .cd import resolve_sampler, run_kernel


@dataclass(frozen=True)
class PCDParams:
    n_chains: int = param(256, lo=1, hi=1_000_000, log=True, help="number of persistent chains")
    k: int = param(1, lo=1, hi=10000, help="sampler steps per update")
    init: Literal["data", "uniform"] = param(
        "data",
        choices=("data", "uniform"),
        help="start chains at random data rows, or uniform on the box / uniformly random binary states",
    )
    reinit: float = param(0.0, lo=0.0, hi=1.0, help="fraction of chains restarted at random data rows at each update")


class PCDState(NamedTuple):
    """chains: (n_chains, d) current negatives; age: (n_chains,) int64 kernel steps since
    (re)initialisation; sampler_state: the kernel state after the last update (None before)."""

    chains: Tensor
    age: Tensor
    sampler_state: Any = None


def _random_rows(data: Tensor, n: int, gen: torch.Generator) -> Tensor:
    idx = torch.randint(0, data.shape[0], (n,), generator=gen, device=gen.device)
    return data[idx.to(data.device)].detach().clone()


def _uniform(space: Any, n: int, like: Tensor, gen: torch.Generator) -> Tensor:
    """n points uniform on the box (continuous) or uniformly random states (binary), like's dtype."""
    u = torch.rand((n, space.dim), generator=gen, dtype=like.dtype, device=gen.device).to(like.device)
    if isinstance(space, BinarySpace):
        off, on = space.values
        return torch.where(u < 0.5, torch.full_like(u, off), torch.full_like(u, on))
    assert isinstance(space, ContinuousSpace)
    lo = torch.tensor([b[0] for b in space.box], dtype=like.dtype, device=like.device)
    hi = torch.tensor([b[1] for b in space.box], dtype=like.dtype, device=like.device)
    return lo + (hi - lo) * u


class PCDImpl:
    """PCD with persistent chains carried in a PCDState."""

    def __init__(self, params: PCDParams, ctx: EstimatorContext):
        self.params = params
        self.ctx = ctx
        self.sampler, self.sampler_params = resolve_sampler(ctx, "pcd")

    def init(self, energy: torch.nn.Module, gen: torch.Generator) -> PCDState:
        n, data = self.params.n_chains, self.ctx.data
        if self.params.init == "data":
            chains = _random_rows(data, n, gen)
        else:
            chains = _uniform(self.ctx.space, n, data, gen)
        return PCDState(chains, torch.zeros(n, dtype=torch.int64, device=chains.device), None)

    def extra_parameters(self, state: Any) -> list[torch.nn.Parameter]:
        return []

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: PCDState | None, gen: torch.Generator
    ) -> tuple[Tensor, PCDState, dict]:
        """batch (b, d) -> (scalar loss, new PCDState, info with 'negatives', 'chains' (n, d),
        'chain_age' (n,), 'accept' float)."""
        if state is None:
            state = self.init(energy, gen)
        chains, age = state.chains, state.age
        if self.params.reinit > 0.0:
            n = chains.shape[0]
            u = torch.rand(n, generator=gen, device=gen.device).to(chains.device)
            mask = u < self.params.reinit
            fresh = _random_rows(self.ctx.data, n, gen)
            chains = torch.where(mask[:, None], fresh, chains)
            age = torch.where(mask, torch.zeros_like(age), age)
        sstate, accept = run_kernel(self.sampler, self.sampler_params, energy, chains, self.params.k, gen)
        neg = sstate.x.detach()
        age = age + self.params.k
        loss = energy(batch).mean() - energy(neg).mean()
        new = PCDState(neg, age, sstate)
        info = {"negatives": neg, "chains": neg, "chain_age": age, "accept": accept}
        return loss, new, info


def make(params: PCDParams, ctx: EstimatorContext) -> PCDImpl:
    return PCDImpl(params, ctx)


register(
    Estimator(
        "pcd",
        PCDParams,
        make,
        ("continuous", "binary"),
        "Persistent CD: k sampler steps per update on persistent chains kept in the estimator state",
    )
)
