"""Live changes between steps: apply a new, already validated experiment to a running Trainer
with the smallest rebuild, all-or-nothing (on any error the trainer is exactly as before)."""

from __future__ import annotations

from typing import Any

RESET_FIELDS = ("model", "seed", "device", "weights")
RESET_TRAINING = ("dtype", "holdout")


def needs_reset(old: Any, new: Any) -> bool:
    """True when the change can only be applied by building a new run from step 0."""
    if any(getattr(old, f) != getattr(new, f) for f in RESET_FIELDS):
        return True
    return any(getattr(old.training, f) != getattr(new.training, f) for f in RESET_TRAINING)


def apply_live(trainer: Any, new: Any) -> list[str]:
    """Apply `new` to `trainer` in place (caller checked needs_reset is False).
    Returns the sections that were rebuilt. Raises (and rolls back) on failure."""
    old = trainer.exp
    saved = dict(trainer.__dict__)
    saved_groups = list(trainer.optimiser.param_groups)
    rebuilt: list[str] = []
    try:
        trainer.exp = new
        if old.data != new.data:
            trainer._build_data()
            rebuilt.append("data")
        if old.sampler != new.sampler:
            trainer._build_sampler()
            rebuilt.append("sampler")
        if old.optimiser.name != new.optimiser.name:
            trainer._build_optimiser()
            rebuilt.append("optimiser")
        else:
            for g in trainer.optimiser.param_groups:
                if "momentum" in g:
                    g["momentum"] = new.optimiser.momentum
        if rebuilt or old.estimator != new.estimator:
            trainer._build_estimator()
            rebuilt.append("estimator")
        if "sampler" in rebuilt or old.chains != new.chains:
            if old.chains == new.chains and trainer.chain_state is not None:
                x = trainer.chain_state.x
                trainer.chain_state = trainer.sampler.init(x, trainer.energy, trainer.sampler_params)
            else:
                trainer._build_chains()
            rebuilt.append("chains")
        if old.logz != new.logz:
            trainer._logz_pool.clear()  # estimates made with other settings are not pooled with new ones
            trainer.logz_warning = None
        trainer.evaluator.grid_points = new.training.grid_points
        trainer._last_good = [p.detach().clone() for p in trainer._params()]
    except BaseException:
        trainer.__dict__.clear()
        trainer.__dict__.update(saved)
        trainer.optimiser.param_groups[:] = saved_groups
        raise
    return rebuilt
