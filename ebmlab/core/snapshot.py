"""Immutable numpy snapshots of a run: the only thing that crosses from the worker to the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Snapshot:
    """State of a run after `step` training steps. Arrays are float32 numpy copies.

    status: 'ready' | 'running' | 'paused' | 'error'. message: what happened (errors name the
    quantity and the step). metrics: latest values (loss, lr, accept, nll_exact, log_z_exact, c,
    logz_estimate, logz_stderr, ess, rhat). history: name -> (steps, values[, stderr]).
    Drawing layers (None when the estimator does not produce them): data (n,d), chains (m,d),
    negatives (k,d), chain_age (k,), noisy (k,d), noise (k,d).
    """

    run_id: int
    step: int
    status: str
    message: str | None
    estimator: str
    sampler: str
    metrics: dict[str, float]
    params: dict[str, float]  # the model's named scalar parameters
    history: dict[str, tuple[np.ndarray, ...]]
    data: np.ndarray
    labels: np.ndarray | None = None
    chains: np.ndarray | None = None
    negatives: np.ndarray | None = None
    chain_age: np.ndarray | None = None
    noisy: np.ndarray | None = None
    noise: np.ndarray | None = None
    extras: dict = field(default_factory=dict)
    experiment: Any = None  # the (frozen) settings this run uses
    derived: dict[str, float] = field(default_factory=dict)  # derived quantities of the parameters (w = sigmoid(t))


@dataclass(frozen=True)
class Landscape:
    """The model on a grid (continuous) or over all states (binary), for the heatmap/curve/bars.

    Continuous: axes: per-dimension grid centres; energy: E on the grid (shape of the grid,
    or a 2-D slice at `slice_at` for 3-D); log_density: energy-based log p = -E - log Z (log Z
    over the box by quadrature). Binary: states (2^n, n), log_density (2^n,) exact log p.
    """

    run_id: int
    step: int
    kind: str  # 'curve' (1-D), 'image' (2-D), 'slice' (3-D), 'states' (binary)
    axes: tuple[np.ndarray, ...]
    energy: np.ndarray
    log_density: np.ndarray
    log_z: float
    states: np.ndarray | None = None
    slice_at: float | None = None
    extras: dict = field(default_factory=dict)
