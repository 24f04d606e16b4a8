"""AIS one frame at a time, for the window's worker thread: runs `ais_frames` on a frozen copy of the current
model so the window can animate, pause, single-step and stop it. Publishes immutable numpy AISUpdate objects."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StartAIS:
    """Run AIS on a copy of the current model. settings: AISParams fields (particles, temps, kernel...)."""

    settings: dict = field(default_factory=dict)
    reverse: bool = True  # also run reverse AIS at the end where exact samples exist


@dataclass(frozen=True)
class AISControl:
    action: str  # 'play' | 'pause' | 'step' | 'stop'


@dataclass(frozen=True)
class AISSpeed:
    frames_per_second: float | None  # None: as fast as possible


@dataclass(frozen=True)
class AISBackground:
    """What the view needs once per run: for 1-2-D energies E and log q on a grid (numpy float64),
    so the intermediate density log f_beta = (1 - beta) log q - beta E is a numpy blend per frame."""

    kind: str  # 'image' | 'curve' | 'none'
    axes: tuple[np.ndarray, ...]
    energy: np.ndarray | None
    log_q: np.ndarray | None
    exact_log_z: float | None
    betas: np.ndarray | None = None  # the schedule, for the exact path curve
    exact_log_z_beta: np.ndarray | None = None


@dataclass(frozen=True)
class AISUpdate:
    token: int
    status: str  # 'running' | 'paused' | 'done' | 'stopped' | 'error'
    frame: Any  # ebmlab.core.partition.ais.AISFrame (numpy inside)
    background: AISBackground
    history: tuple[np.ndarray, ...]  # (betas, log_z, stderr, ess) of the frames so far
    reverse: Any = None  # LogZEstimate of reverse AIS, when run
    warnings: tuple[str, ...] = ()
    message: str | None = None


class AISRunner:
    """Owns one AIS run (worker thread only)."""

    def __init__(self, energy, start: StartAIS, token: int, view_grid: int = 128):
        import torch

        from ..params import from_dict
        from .ais import AISParams, ais_frames, validate_params
        from .importance import default_base

        self.token = token
        self.energy = copy.deepcopy(energy).double()
        for p in self.energy.parameters():
            p.requires_grad_(False)
        self.params = validate_params(from_dict(AISParams, dict(start.settings), "ais"), self.energy)
        self.base = default_base(self.energy)
        self.reverse_wanted = start.reverse
        self.gen = torch.Generator().manual_seed(self.params.seed)
        self.frames = ais_frames(self.energy, self.params, self.base, self.gen)
        self.background = self._background(view_grid)
        self.playing = True
        self.pending_steps = 0
        self.rec: list[tuple[float, float, float, float]] = []
        self.last: AISUpdate | None = None
        self.finished = False

    def _background(self, n: int) -> AISBackground:
        import torch

        from ..grid import evaluate_on_grid, make_grid
        from ..space import ContinuousSpace
        from .importance import reference_log_z

        sp = self.energy.space
        try:
            ref = reference_log_z(self.energy)
            exact = None if ref is None else float(ref.log_z)
        except Exception:
            exact = None
        if not isinstance(sp, ContinuousSpace) or sp.dim > 2:
            return AISBackground("none", (), None, None, exact)
        g = make_grid(sp, n if sp.dim == 2 else 1024)
        e = evaluate_on_grid(self.energy, g)
        with torch.no_grad():
            lq = self.base.log_prob(g.points()).double().numpy().reshape(g.shape)
        kind = "image" if sp.dim == 2 else "curve"
        return AISBackground(kind, g.axes, e, lq, exact)

    def advance(self) -> AISUpdate | None:
        """Next frame (or None when finished)."""
        if self.finished:
            return None
        try:
            frame = next(self.frames)
        except StopIteration:
            self.finished = True
            return None
        self.rec.append((frame.beta, frame.log_z, frame.stderr, frame.ess))
        hist = tuple(np.array(c, dtype=np.float64) for c in zip(*self.rec))
        status, reverse, warnings, bg = "running", None, (), self.background
        if frame.done:
            self.finished = True
            status = "done"
            res = frame.result
            warnings = tuple(res.estimate.warnings)
            if res.exact_log_z_beta is not None:
                bg = AISBackground(
                    bg.kind, bg.axes, bg.energy, bg.log_q, bg.exact_log_z, res.trace.betas, res.exact_log_z_beta
                )
            reverse, more = self._reverse(res.estimate)
            warnings += more
        self.last = AISUpdate(self.token, status, frame, bg, hist, reverse, warnings)
        return self.last

    def _reverse(self, forward) -> tuple[Any, tuple[str, ...]]:
        from .ais import reverse_ais
        from .checked import exact_samples_available

        if not (self.reverse_wanted and exact_samples_available(self.energy)):
            return None, ()
        rev = reverse_ais(self.energy, self.params, None, self.base, self.gen)
        gap = rev.log_z - forward.log_z
        se = math.sqrt(rev.stderr**2 + forward.stderr**2)
        if gap > 3 * se:
            return rev, (f"forward and reverse AIS disagree by {gap:.3g} ± {se:.2g}: some mode was probably missed",)
        return rev, ()

    def close(self) -> None:
        self.frames.close()
