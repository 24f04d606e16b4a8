"""The divergence guard: pause a run whose model ran away, keeping the model of the last good evaluation.

A run has diverged when either criterion holds (the Trainer checks the first after every evaluation, the
second after every step):

1. Held-out NLL, wherever the exact NLL is computed (1-3-D continuous, binary up to 20 units):

       NLL_t > NLL_ref + NLL_MARGIN,      NLL_ref = max(log V, NLL_start)

   log V is the NLL of the uniform density (continuous: V the volume of the box; binary: 2^n states), the
   score of a model that knows nothing. NLL_start is the held-out NLL at the first evaluation on these
   data (the run's start, or the first evaluation after a live data change), so a model that merely starts
   badly is never called diverged. NLL_MARGIN = ln(1e10) = 23.03 nats: the model then gives held-out points
   (geometric mean) ten orders of magnitude less density than both the uniform density and the model it
   started from. Healthy training lowers the NLL, with transients of a few nats; a 23-nat gap is reached
   only when the model's mass has left the data: an energy falling without bound toward the box edge
   (log Z running away) or a sampler-driven estimator following chains that diverged. Likewise, an exact
   NLL that was finite at the start and no longer is (log Z or E(data) not finite) is a divergence.
   The criterion judges density estimators only: a loss blind to the density has none to diverge. JEM with
   alpha = 0 is a plain classifier (cross-entropy cannot see a shift of all logits by g(x)), so its density
   drifts by design (lesson 10: tens of nats worse than uniform, with perfect accuracy); only 2 applies.
2. Loss magnitude, for every estimator (and the only criterion without an exact NLL):

       |loss_t| > LOSS_FACTOR * max(1, L_ref),   L_ref = max |loss| over the run's first LOSS_WINDOW steps

   LOSS_FACTOR = 1e6: six orders of magnitude beyond the start. Every estimator's loss is an average of
   energies, energy differences or squared scores of order one to a few hundred in a healthy run; a loss
   of 1e6 x that means energies differing by far more than any float64 density ratio (e^745) can express:
   the negatives or the model have left the data (CD and PCD with a sampler step too large for the box).

What is kept: a `Checkpoint` (a copy of the trained parameters, the estimator's extra parameters and state,
and the metrics) is taken at every evaluation that passes; on divergence the Trainer restores it, clears the
optimiser state and pauses with one line naming the step, the value, the reference and the kept model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from .space import BinarySpace, ContinuousSpace

NLL_MARGIN = 10 * math.log(10.0)  # 23.03 nats: ten orders of magnitude of density per held-out point
LOSS_FACTOR = 1e6
LOSS_WINDOW = 10
SAMPLER_ESTIMATORS = ("cd", "pcd", "jem")


def log_volume(space: Any) -> float | None:
    """log V: the NLL (nats per point) of the uniform density on the box, or over the 2^n binary states."""
    if isinstance(space, ContinuousSpace):
        return float(sum(math.log(hi - lo) for lo, hi in space.box))
    if isinstance(space, BinarySpace):
        return space.n * math.log(2.0)
    return None


@dataclass
class Checkpoint:
    """The trained state at one evaluation: energy parameters by name, the estimator's extra parameters
    (restored only into the same estimator), its state and the metrics."""

    step: int
    params: dict[str, torch.Tensor]
    impl: Any
    extra: list[torch.Tensor]
    est_state: Any
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def take(cls, trainer: Any) -> Checkpoint:
        impl = trainer.estimator_impl
        params = {n: p.detach().clone() for n, p in trainer.energy.named_parameters() if p.requires_grad}
        extra = [p.detach().clone() for p in impl.extra_parameters(trainer.est_state)]
        return cls(trainer.step_count, params, impl, extra, trainer.est_state, dict(trainer.metrics))

    @torch.no_grad()
    def restore(self, trainer: Any) -> None:
        """Copy the parameters back in place (the optimiser keeps its tensors); the estimator's extra
        parameters and state only when the estimator is the one checkpointed."""
        for name, p in trainer.energy.named_parameters():
            if name in self.params:
                p.copy_(self.params[name])
        impl = trainer.estimator_impl
        if impl is self.impl:
            now = impl.extra_parameters(trainer.est_state)
            if len(now) == len(self.extra) and all(a.shape == b.shape for a, b in zip(now, self.extra)):
                for p, keep in zip(now, self.extra):
                    p.copy_(keep)
            trainer.est_state = self.est_state
        trainer.metrics.clear()
        trainer.metrics.update(self.metrics)


class DivergenceGuard:
    """The two criteria of the module docstring for one run. `check_loss` after each step, `check_eval` after
    each evaluation; each returns None or the reason (without the 'model kept' part)."""

    def __init__(self, space: Any):
        self.log_v = log_volume(space)
        self.nll_start: float | None = None
        self.holdout: Any = None
        self.losses: list[float] = []

    @property
    def nll_ref(self) -> float | None:
        if self.nll_start is None:
            return None
        return self.nll_start if self.log_v is None else max(self.log_v, self.nll_start)

    def loss_limit(self) -> float | None:
        if len(self.losses) < LOSS_WINDOW:
            return None
        return LOSS_FACTOR * max(1.0, max(abs(v) for v in self.losses))

    def check_loss(self, estimator: str, loss: float) -> str | None:
        if len(self.losses) < LOSS_WINDOW:
            self.losses.append(loss)
            return None
        limit = self.loss_limit()
        if abs(loss) <= limit:
            return None
        start = max(abs(v) for v in self.losses)
        return (
            f"the {estimator} loss is {loss:.3g}, more than {LOSS_FACTOR:.0e} times its size at the start "
            f"(|loss| <= {start:.3g} in the first {LOSS_WINDOW} steps)"
        )

    def check_eval(self, nll: float | None, holdout: Any) -> str | None:
        """nll: the exact held-out NLL of this evaluation (None when it could not be computed)."""
        if holdout is not self.holdout:  # first evaluation, or a live data change: a new reference
            self.holdout = holdout
            self.nll_start = nll if nll is not None and math.isfinite(nll) else None
            return None
        ref = self.nll_ref
        if ref is None:
            return None
        uniform = "" if self.log_v is None else f"; a uniform density on the box scores {self.log_v:.3g}"
        if nll is None or not math.isfinite(nll):
            return f"the exact held-out NLL is no longer finite (it was {self.nll_start:.3g} nats at the start)"
        if nll > ref + NLL_MARGIN:
            start = f"{self.nll_start:.3g} at the start{uniform}"
            return f"held-out NLL {nll:.3g} nats ({start})"
        return None


def advice(estimator: str) -> str:
    if estimator == "nce":
        return "make the noise cover the data and the model (estimator.fit_scale), or lower the learning rate"
    if estimator in SAMPLER_ESTIMATORS:
        return "lower the sampler step size or the learning rate"
    return "lower the learning rate"


def trains_density(exp: Any) -> bool:
    """False when the estimator's loss does not depend on the density (JEM with alpha = 0)."""
    return not (exp.estimator.kind == "jem" and getattr(exp.estimator.settings, "alpha", 1.0) == 0.0)


def evaluate_and_check(trainer: Any) -> str | None:
    """Evaluate the trainer's model; return the divergence reason, or None after keeping a checkpoint of it.
    The exact metrics this evaluation could not compute keep their last value on display."""
    kept = {k: trainer.metrics.pop(k) for k in ("nll_exact", "log_z_exact") if k in trainer.metrics}
    trainer.evaluate()
    nll = trainer.metrics.get("nll_exact")
    for k, v in kept.items():
        trainer.metrics.setdefault(k, v)
    judged = not trainer.frozen and trains_density(trainer.exp)
    reason = trainer.guard.check_eval(nll, trainer.holdout) if judged else None
    if not judged:  # the density was not trained: the next judged evaluation sets a new reference
        trainer.guard.holdout = None
    if reason is None:
        trainer.checkpoint = Checkpoint.take(trainer)
    return reason


def restore_checkpoint(trainer: Any, step_no: int, reason: str) -> str:
    """Put the last good checkpoint back (parameters, metrics), clear the optimiser state and the log Z pool;
    returns the one-line message."""
    ck = trainer.checkpoint
    ck.restore(trainer)
    trainer.optimiser.state.clear()
    trainer._last_good = [p.detach().clone() for p in trainer._params()]
    trainer._logz_pool.clear()
    return (
        f"training diverged at step {step_no}: {reason}; the model from step {ck.step} was kept"
        f" — {advice(trainer.estimator.name)}"
    )
