"""Fields drawn over the 2-D landscape besides the energy, in `Landscape.extras` (arrays of the image's shape):

- 'nce_log_ratio': NCE's classifier log-ratio G(x) = -E(x) - c - log q(x) - log nu; its decision boundary
  is G = 0 (data on the side G > 0).
- 'class_margin': a labelled classifier's decision boundary as zero level sets: for two classes one field
  f1(x) - f0(x) (shape (H, W)); for K > 2 classes one field per class f_k(x) - max_{j != k} f_j(x)
  (shape (K, H, W)), whose zero contours are the borders of class k's region.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .grid import make_grid
from .snapshot import Landscape


def with_extras(trainer: Any, land: Landscape) -> Landscape:
    """`land` with the fields that apply to this run added to its extras (2-D images only)."""
    if land.kind != "image":
        return land
    extras = dict(land.extras)
    state = trainer.est_state
    if trainer.estimator.name == "nce" and hasattr(state, "noise"):
        extras["nce_log_ratio"] = nce_log_ratio(trainer, land, state)
    if trainer.train_labels is not None and hasattr(trainer.energy, "logits"):
        extras["class_margin"] = class_margin(trainer.energy, land, trainer.device)
    return replace(land, extras=extras) if extras != land.extras else land


@torch.no_grad()
def nce_log_ratio(trainer: Any, land: Landscape, state: Any) -> np.ndarray:
    g = make_grid(trainer.energy.space, land.energy.shape)
    lq = state.noise.log_prob(g.points(device=trainer.device)).double().cpu().numpy().reshape(g.shape)
    nu = float(getattr(trainer.exp.estimator.settings, "nu", 1.0))
    return -land.energy - float(state.c.detach()) - lq - math.log(nu)


@torch.no_grad()
def class_margin(energy: Any, land: Landscape, device: torch.device) -> np.ndarray:
    """The margin field(s) on the landscape's own axes (see the module docstring)."""
    shape = tuple(len(a) for a in land.axes)
    mesh = np.stack(np.meshgrid(*land.axes, indexing="ij"), axis=-1).reshape(-1, len(shape))
    p = next(energy.parameters(), None)
    pts = torch.as_tensor(mesh, dtype=p.dtype if p is not None else torch.float32, device=device)
    f = torch.cat([energy.logits(pts[s : s + 8192]) for s in range(0, len(pts), 8192)]).double().cpu().numpy()
    k = f.shape[1]
    if k == 2:
        return (f[:, 1] - f[:, 0]).reshape(shape)
    out = np.empty((k,) + shape)
    for c in range(k):
        others = np.delete(f, c, axis=1).max(axis=1)
        out[c] = (f[:, c] - others).reshape(shape)
    return out
