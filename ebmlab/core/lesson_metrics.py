"""Numbers the lessons make claims about, recorded at every evaluation (metrics + history).

- `param:NAME`: each trained scalar parameter and each derived quantity of an expression model (e.g.
  w = sigmoid(t)), exact values.
- `accuracy`: held-out accuracy k / n of a classifier on labelled data (argmax_y f(x)[y] == label), with the
  binomial standard error sqrt(a~ (1 - a~) / n), a~ = (k + 1/2) / (n + 1), in `accuracy_stderr`.
- `data_mass`: exact probability the model puts on the distinct states of the data (binary models,
  sum_s exp(-E(s) - log Z) over those states, log Z by enumeration).
- `var_ratio:x` (y, z): the display chains' variance of each coordinate over the model's exact variance
  (quadrature on the evaluation grid). The m chains are independent, so the sample variance s^2 has
  standard error sqrt((m4 - s^4) / m) (m4: the sample's fourth central moment); the ratio's SE is that
  over the exact variance. Exact samplers (MALA, HMC) tend to 1; unadjusted Langevin stays off by its bias.
- `chain_energy` (SE in `chain_energy_stderr`) and `chain_energy_exact`: the chains' mean energy beside the
  exact E_p[E]: the bias of a sampler in one number (ULA runs hot: its chains sit at higher energy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .grid import evaluate_on_grid, make_grid
from .space import BinarySpace, ContinuousSpace

AXIS_NAMES = ("x", "y", "z")
MOMENT_GRID = {1: 512, 2: 96, 3: 32}  # points per axis for the exact moments (midpoint rule: smooth p converges fast)


def record(trainer: Any, step: int) -> None:
    """Add this evaluation's lesson numbers to trainer.metrics and trainer.history."""
    out: dict[str, tuple[float, float | None]] = {}
    out.update(parameter_values(trainer.energy))
    acc = held_out_accuracy(trainer.energy, trainer.holdout, trainer.holdout_labels)
    if acc is not None:
        out["accuracy"] = acc
    log_z = trainer.metrics.get("log_z_exact")
    if isinstance(trainer.energy.space, BinarySpace) and log_z is not None:
        out["data_mass"] = (data_state_mass(trainer.energy, trainer.data_states, log_z), None)
    if trainer.chain_state is not None and not trainer.is_binary and trainer.evaluator.exact_available:
        out.update(chain_statistics(trainer.energy, trainer.chain_state.x, trainer.exp.training.grid_points))
    for name, (value, se) in out.items():
        if not math.isfinite(value):
            continue
        trainer.metrics[name] = value
        if se is not None:
            trainer.metrics[name + "_stderr"] = se
        trainer.history.add(name, step, value, se)


SUMMARY_KEYS = ("accuracy", "accuracy_stderr", "data_mass", "chain_energy", "chain_energy_stderr", "chain_energy_exact")


def summary_fields(metrics: dict[str, float], derived: dict[str, float]) -> dict:
    """The lesson numbers for `ebmlab run --json`: derived quantities, accuracy, data mass, chain statistics
    (variance ratios as {'x': r, ...} with their SEs in 'chain_variance_ratio_stderr')."""
    out: dict = {"derived": derived} if derived else {}
    out.update({k: metrics[k] for k in SUMMARY_KEYS if k in metrics})
    ratios = {
        k.split(":", 1)[1]: v for k, v in metrics.items() if k.startswith("var_ratio:") and not k.endswith("_stderr")
    }
    if ratios:
        out["chain_variance_ratio"] = ratios
        out["chain_variance_ratio_stderr"] = {k: metrics.get(f"var_ratio:{k}_stderr") for k in ratios}
    return out


def parameter_values(energy: Any) -> dict[str, tuple[float, None]]:
    """`param:NAME` -> (value, None) for trained scalar parameters and derived quantities."""
    trained = set(getattr(energy, "trainable_names", ()))
    values = {f"param:{k}": (v, None) for k, v in energy.named_scalars().items() if k in trained}
    derived = getattr(energy, "derived_scalars", None)
    if derived is not None:
        values.update({f"param:{k}": (v, None) for k, v in derived().items()})
    return values


@torch.no_grad()
def held_out_accuracy(energy: Any, points: torch.Tensor, labels: torch.Tensor | None) -> tuple[float, float] | None:
    """(accuracy k/n, binomial SE at a~ = (k + 1/2)/(n + 1)) of argmax logits on labelled points; None without
    labels or logits."""
    if labels is None or not hasattr(energy, "logits") or len(points) == 0:
        return None
    pred = energy.logits(points).argmax(dim=-1)
    n = len(points)
    k = int((pred == labels.to(pred.device)).sum())
    shrunk = (k + 0.5) / (n + 1.0)  # never 0 or 1: a perfect score still has an error bar (~0.5 / n)
    return k / n, math.sqrt(shrunk * (1.0 - shrunk) / n)


def distinct_states(points: np.ndarray) -> np.ndarray:
    """The distinct rows of a binary data set (k, n), as float64 0/1."""
    return np.unique(np.asarray(points) > 0.5, axis=0).astype(np.float64)


@torch.no_grad()
def data_state_mass(energy: Any, states: np.ndarray, log_z: float) -> float:
    """sum over the given distinct states of p(s) = exp(-E(s) - log Z)."""
    p = next(energy.parameters(), None)
    device = p.device if p is not None else "cpu"
    e = energy(torch.as_tensor(states, dtype=torch.float64, device=device)).double().cpu().numpy()
    return float(np.exp(-e - log_z).sum())


@torch.no_grad()
def exact_moments(energy: Any, grid_points: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean (d,), variance (d,), mean energy E_p[E]) of p = exp(-E)/Z on the box, by quadrature (float64)."""
    space = energy.space
    assert isinstance(space, ContinuousSpace)
    g = make_grid(space, grid_points or MOMENT_GRID[space.dim])
    e = evaluate_on_grid(energy, g, chunk=1 << 15).ravel()
    w = np.exp(-(e - np.min(e)))
    w /= w.sum()
    pts = g.points().numpy()
    mean = w @ pts
    var = w @ (pts - mean) ** 2
    mean_e = float(w[w > 0] @ e[w > 0])
    return mean, var, mean_e


@torch.no_grad()
def chain_statistics(energy: Any, chains: torch.Tensor, grid_points: int = 0) -> dict[str, tuple[float, float | None]]:
    """The display chains against the exact model (1-3-D, >= 10 chains):
    `var_ratio:x` ... -> (chain variance / exact variance, SE) per coordinate, `chain_energy` -> (mean E over
    the chains, SE = sd / sqrt(m)) and `chain_energy_exact` -> (E_p[E], None): a biased sampler (ULA) sits
    above the exact line (it samples a hotter distribution), an exact one converges onto it."""
    x = chains.detach()
    m, d = x.shape
    if m < 10 or d > 3:
        return {}
    _, exact_var, exact_e = exact_moments(energy, grid_points)
    e = energy(x).double().cpu().numpy()
    x = x.double().cpu().numpy()
    c = x - x.mean(axis=0)
    s2 = (c**2).mean(axis=0)
    m4 = (c**4).mean(axis=0)
    se = np.sqrt(np.maximum(m4 - s2**2, 0.0) / m)
    out: dict[str, tuple[float, float | None]] = {}
    for i in range(d):
        if exact_var[i] > 0:
            out[f"var_ratio:{AXIS_NAMES[i]}"] = (float(s2[i] / exact_var[i]), float(se[i] / exact_var[i]))
    e = e[np.isfinite(e)]
    if len(e) >= 10 and math.isfinite(exact_e):
        out["chain_energy"] = (float(e.mean()), float(e.std(ddof=1) / math.sqrt(len(e))))
        out["chain_energy_exact"] = (exact_e, None)
    return out
