"""Joint energy-based model training JEM (name 'jem'), Grathwohl et al. (2020), "Your classifier is
secretly an energy based model and you should treat it like one".

The model is a classifier with logits f(x) (model kind 'classifier', `ClassifierEnergy`), read as
p(x, y) ∝ exp(f(x)[y]), so E(x) = -logsumexp_y f(x)[y] and p(y | x) = softmax(f(x)). JEM maximises
log p(x, y) = log p(y | x) + log p(x):

    loss = CE(f(x+), y+) + alpha * [mean_b E(x+_b) - mean_c E(x-_c)]      (x- detached)

The first term is the ordinary cross-entropy of the labelled batch; the second is PCD's estimate of
-log p(x) (up to a constant), with persistent chains x- in the estimator STATE (a `PCDState`, exactly
as the 'pcd' estimator: a fraction `reinit` restarts at random data rows, then k steps of the
experiment's sampler). alpha = 0 gives a plain classifier: the loss is exactly the cross-entropy and
the density exp(-E) is not trained to match the data (the logits are free up to a per-x shift,
which changes p(x) but no class probability). The chains still advance at alpha = 0, so the window
keeps showing samples of the (untrained) density.

Without labels (`loss`, called when the data set has none), or with an energy that has no `logits`
(not a classifier, so the labels cannot be used), only the generative term is left and it is used
unweighted: JEM is then plain PCD, on any continuous energy, and info has no 'accuracy'.

info: 'negatives', 'chains' (n, d), 'chain_age' (n,), 'accept' (float) as PCD; with labels also
'accuracy' (float, accuracy of argmax f(x) on the training batch) and 'cross_entropy' (float).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import EbmlabError
from ..params import param
from .base import Estimator, EstimatorContext, register
from .cd import resolve_sampler, run_kernel
from .pcd import PCDState, _random_rows, _uniform


@dataclass(frozen=True)
class JEMParams:
    alpha: float = param(
        1.0, lo=0.0, hi=100.0, help="weight of the generative term log p(x); 0 trains a plain classifier"
    )
    n_chains: int = param(256, lo=1, hi=1_000_000, log=True, help="number of persistent chains")
    k: int = param(5, lo=1, hi=10000, help="sampler steps per update")
    init: Literal["data", "uniform"] = param(
        "uniform", choices=("data", "uniform"), help="start chains at random data rows, or uniform on the box"
    )
    reinit: float = param(0.05, lo=0.0, hi=1.0, help="fraction of chains restarted at each update")
    reinit_from: Literal["data", "uniform"] = param(
        "uniform",
        choices=("data", "uniform"),
        help="restart chains at random data rows, or uniform on the box (JEM's choice: finds spurious modes)",
    )


class JEMImpl:
    """Cross-entropy + alpha * PCD; the persistent chains live in a PCDState."""

    def __init__(self, params: JEMParams, ctx: EstimatorContext):
        self.params = params
        self.ctx = ctx
        self.sampler, self.sampler_params = resolve_sampler(ctx, "jem")

    def init(self, energy: torch.nn.Module, gen: torch.Generator) -> PCDState:
        n, data = self.params.n_chains, self.ctx.data
        chains = _random_rows(data, n, gen) if self.params.init == "data" else _uniform(self.ctx.space, n, data, gen)
        return PCDState(chains, torch.zeros(n, dtype=torch.int64, device=chains.device), None)

    def extra_parameters(self, state: Any) -> list[torch.nn.Parameter]:
        return []

    def _generative(
        self, energy: torch.nn.Module, batch: Tensor, state: PCDState | None, gen: torch.Generator
    ) -> tuple[Tensor, PCDState, dict]:
        """PCD's term mean E(x+) - mean E(x-): restart a fraction of the chains, then k kernel steps."""
        if state is None:
            state = self.init(energy, gen)
        chains, age = state.chains, state.age
        p = self.params
        if p.reinit > 0.0:
            n = chains.shape[0]
            u = torch.rand(n, generator=gen, device=gen.device).to(chains.device)
            mask = u < p.reinit
            if p.reinit_from == "data":
                fresh = _random_rows(self.ctx.data, n, gen)
            else:
                fresh = _uniform(self.ctx.space, n, chains, gen)
            chains = torch.where(mask[:, None], fresh, chains)
            age = torch.where(mask, torch.zeros_like(age), age)
        sstate, accept = run_kernel(self.sampler, self.sampler_params, energy, chains, p.k, gen)
        neg = sstate.x.detach()
        age = age + p.k
        loss = energy(batch).mean() - energy(neg).mean()
        info = {"negatives": neg, "chains": neg, "chain_age": age, "accept": accept}
        return loss, PCDState(neg, age, sstate), info

    def loss(
        self, energy: torch.nn.Module, batch: Tensor, state: PCDState | None, gen: torch.Generator
    ) -> tuple[Tensor, PCDState, dict]:
        """No labels: the generative PCD term alone, unweighted (JEM reduces to PCD)."""
        return self._generative(energy, batch, state, gen)

    def loss_labelled(
        self, energy: torch.nn.Module, batch: Tensor, labels: Tensor, state: PCDState | None, gen: torch.Generator
    ) -> tuple[Tensor, PCDState, dict]:
        """batch (b, d), labels (b,) int -> (CE + alpha * PCD term, new PCDState, info)."""
        logits_fn = getattr(energy, "logits", None)
        if logits_fn is None:  # not a classifier: the labels cannot be used, JEM is plain PCD
            return self._generative(energy, batch, state, gen)
        logits = logits_fn(batch)
        labels = labels.to(device=logits.device, dtype=torch.long)
        n_classes = logits.shape[-1]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
            raise EbmlabError(
                f"estimator 'jem': the data has labels {int(labels.min())}..{int(labels.max())}, "
                f"but the classifier has {n_classes} classes (set model.classes)"
            )
        ce = F.cross_entropy(logits, labels)
        gen_loss, new_state, info = self._generative(energy, batch, state, gen)
        loss = ce if self.params.alpha == 0.0 else ce + self.params.alpha * gen_loss
        with torch.no_grad():
            accuracy = float((logits.argmax(dim=-1) == labels).to(torch.float64).mean())
        info = {**info, "accuracy": accuracy, "cross_entropy": float(ce.detach())}
        return loss, new_state, info


def make(params: JEMParams, ctx: EstimatorContext) -> JEMImpl:
    return JEMImpl(params, ctx)


register(
    Estimator(
        "jem",
        JEMParams,
        make,
        ("continuous",),
        "JEM: a classifier's cross-entropy + alpha * PCD on its implied density E(x) = -logsumexp f(x)",
    )
)
