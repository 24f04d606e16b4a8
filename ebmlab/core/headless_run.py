"""One headless training run, shared by `ebmlab run` and each task of `ebmlab sweep` (so both give the same numbers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .history import History
from .trainer import Trainer


def train_headless(
    exp: Any,
    weights: dict[str, np.ndarray] | None = None,
    resolve: Callable | None = None,
    on_step: Callable[[int], None] | None = None,
) -> tuple[Trainer, float]:
    """Build a Trainer, evaluate, train exp.training.steps steps (stopping at the first failure), evaluate
    the last step if the schedule skipped it. Returns (trainer, training seconds); the whole history is kept."""
    trainer = Trainer(exp, weights, resolve)
    trainer.history = History(cap=10_000_000)
    trainer.evaluate()
    t0 = time.perf_counter()
    for i in range(exp.training.steps):
        if not trainer.step():
            break
        if on_step is not None:
            on_step(i + 1)
    if trainer.step_count % exp.training.eval_every:
        trainer.evaluate()
    return trainer, time.perf_counter() - t0
