"""The annealing path: schedules 0 = beta_0 < ... < beta_K = 1, intermediate energies and their moves.

Path: log f_beta = (1 - beta) log q - beta E, i.e. E_beta = beta E - (1 - beta) log q (`AnnealedEnergy`),
so the registered sampler kernels move particles at any beta (`Transitions`, vectorised over particles).

Fixed shapes (`make_schedule`):
  linear:    beta_k = k / K
  geometric: beta_0 = 0, beta_k = beta_min^((K - k) / (K - 1)) for k >= 1 (beta_min = 1e-3 by default)
  sigmoid:   beta_k = (s(delta (2k/K - 1)) - s(-delta)) / (s(delta) - s(-delta)), s the logistic
             function, delta = 4 (Grosse, Maddison & Salakhutdinov 2013): dense at both ends.

Adaptive (`adaptive_schedule`): a pilot population of particles is annealed as in sequential Monte
Carlo; each next beta' is the largest value with conditional ESS (Zhou, Johansen & Aston 2016)
    CESS(beta') = (sum_i W_i v_i)^2 / sum_i W_i v_i^2,   v_i = exp((beta' - beta) u(x_i)),
equal to the target (e.g. 0.95), found by bisection; W are the current normalised weights and
u = -E - log q. Particles are resampled when their ESS falls below half and moved by a few MCMC
steps at beta'. Steps are thus small where the intermediate densities change fast. The pilot's
betas can be stretched onto a fixed K by interpolating beta as a function of the step fraction.
The pilot only chooses the schedule: the AIS run that uses it is independent of it, so the AIS
identity still holds.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..energies.base import Energy
from ..errors import EbmlabError
from ..samplers import SAMPLERS
from ..samplers.gibbs import GibbsParams, GibbsState
from ..space import BinarySpace, ContinuousSpace

KINDS = ("linear", "geometric", "sigmoid")
LANGEVIN_REASON = (
    "'langevin' (ULA) has no Metropolis correction, so its moves do not leave the intermediate densities "
    "invariant and the AIS weights would be biased; use 'mala', 'hmc' or 'rwm'"
)


def make_schedule(kind: str, K: int, beta_min: float = 1e-3, delta: float = 4.0) -> np.ndarray:
    """Betas (K+1,) float64, strictly increasing from exactly 0 to exactly 1."""
    if K < 1:
        raise EbmlabError(f"a schedule needs at least 1 temperature step, got {K}")
    if kind == "linear":
        b = np.linspace(0.0, 1.0, K + 1)
    elif kind == "geometric":
        if not 0 < beta_min < 1:
            raise EbmlabError(f"beta_min must be in (0, 1), got {beta_min}")
        b = np.concatenate([[0.0], np.geomspace(beta_min, 1.0, K)]) if K > 1 else np.array([0.0, 1.0])
    elif kind == "sigmoid":
        t = delta * (2.0 * np.arange(K + 1) / K - 1.0)
        s = 1.0 / (1.0 + np.exp(-t))
        b = (s - s[0]) / (s[-1] - s[0])
    else:
        raise EbmlabError(f"schedule must be one of {', '.join(KINDS)} or adaptive, got {kind!r}")
    b[0], b[-1] = 0.0, 1.0
    return b


def stretch(betas: np.ndarray, K: int) -> np.ndarray:
    """Resample a schedule onto K+1 points, interpolating beta linearly in the step fraction."""
    src = np.linspace(0.0, 1.0, len(betas))
    out = np.interp(np.linspace(0.0, 1.0, K + 1), src, betas)
    out[0], out[-1] = 0.0, 1.0
    if np.any(np.diff(out) <= 0):
        raise EbmlabError("the adaptive schedule is degenerate (repeated temperatures)")
    return out


def _cess(logW: np.ndarray, u: np.ndarray, d: float) -> float:
    """Conditional ESS in [0, 1] of the increment d * u under normalised log weights logW (-inf: dead)."""
    la, lb = np.logaddexp.reduce(logW + d * u), np.logaddexp.reduce(logW + 2 * d * u)
    return float(math.exp(2 * la - lb)) if math.isfinite(la) else 0.0


def adaptive_schedule(
    energy: Energy,
    base=None,
    K: int | None = None,
    target_cess: float = 0.95,
    particles: int = 1000,
    kernel: str = "mala",
    step_size: float = 0.1,
    steps_per_temp: int = 2,
    max_temps: int = 100_000,
    seed: int = 0,
    restrict_to_box: bool = True,
) -> np.ndarray:
    """Betas chosen by a pilot SMC run so each step has conditional ESS = target_cess (see module doc).

    K=None returns the pilot's own betas (their number depends on the target); an int K stretches
    them onto K+1 points. The pilot tunes its step size on the fly (it is only a pilot).
    """
    from .importance import check_base, default_base

    if not 0.0 < target_cess < 1.0:
        raise EbmlabError(f"target conditional ESS must be in (0, 1), got {target_cess}")
    if particles < 10:
        raise EbmlabError(f"the adaptive schedule needs at least 10 pilot particles, got {particles}")
    base = default_base(energy) if base is None else base
    check_base(energy, base)
    gen = torch.Generator().manual_seed(seed)
    tr = Transitions(energy, base, kernel, base.sample(particles, gen), step_size, restrict_to_box=restrict_to_box)
    logW = np.full(particles, -math.log(particles))
    betas = [0.0]
    while betas[-1] < 1.0:
        if len(betas) > max_temps:
            raise EbmlabError(
                f"the adaptive schedule needs more than {max_temps} temperatures for a conditional ESS "
                f"of {target_cess}; lower the target or use a fixed schedule"
            )
        beta, u = betas[-1], tr.u().numpy()
        dead = np.isnan(u) | np.isinf(u)  # u = -inf: zero weight; NaN / +inf: dropped
        logW, u = np.where(dead, -np.inf, logW), np.where(dead, 0.0, u)
        lo, hi = 0.0, 1.0 - beta
        if _cess(logW, u, hi) < target_cess:
            for _ in range(50):  # bisection on the step d = beta' - beta
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if _cess(logW, u, mid) >= target_cess else (lo, mid)
            hi = max(lo, 1e-9)
        logW = logW + hi * u
        lz = np.logaddexp.reduce(logW)
        if not math.isfinite(lz):
            raise EbmlabError("every pilot particle lost its weight while choosing the adaptive schedule")
        logW -= lz
        betas.append(min(beta + hi, 1.0))
        if betas[-1] >= 1.0:
            break
        if 1.0 / float(np.sum(np.exp(2 * logW))) < particles / 2:  # resample, then move
            idx = torch.multinomial(torch.as_tensor(np.exp(logW)), particles, replacement=True, generator=gen)
            tr.select(idx)
            logW = np.full(particles, -math.log(particles))
        tr.set_beta(betas[-1])
        for _ in range(steps_per_temp):
            tr.step_size *= math.exp(float(tr.step(gen) / tr.live()) - 0.65)
    return np.asarray(betas) if K is None else stretch(np.asarray(betas), K)


# ---- the intermediate energies and their transitions -------------------------------------------------


class Raw(NamedTuple):
    """Terms at particles x (n, d): e = E(x) (n,), +inf outside the box when restricted (so that u = -inf
    and E_beta = +inf there for beta > 0); g = dE/dx (n, d); lq = log q(x) (n,); glq = grad log q (n, d)
    (g and glq are None for kernels without gradients)."""

    x: Tensor
    e: Tensor
    g: Tensor | None
    lq: Tensor
    glq: Tensor | None


class AnnealedEnergy(Energy):
    """E_beta(x) = beta E(x) - (1 - beta) log q(x), +inf outside the box when restricted (continuous).

    Every evaluation records its energy terms in `last`, so `Transitions` can keep them for the particles
    without evaluating the energy again when beta changes.
    """

    def __init__(self, energy: Energy, base, beta: float = 0.0, restrict_to_box: bool = True):
        super().__init__(energy.space)
        self.energy, self.base, self.beta = energy, base, float(beta)
        self.box = None
        if restrict_to_box and isinstance(energy.space, ContinuousSpace):
            lo, hi = (torch.tensor(v, dtype=torch.float64) for v in zip(*energy.space.box))
            self.box = (0.5 * (lo + hi), 0.5 * (hi - lo), torch.ones(energy.dim, dtype=torch.float64))
        self.last: Raw | None = None

    def raw(self, x: Tensor, grad: bool) -> Raw:
        if grad:
            e, g = self.energy.energy_and_grad(x)
            lq, glq = self.base.log_prob_and_grad(x)
        else:
            with torch.no_grad():
                e, g = self.energy(x), None
            lq, glq = self.base.log_prob(x), None
        e = e.detach().to(x.dtype)
        if self.box is not None:  # distance outside the box, summed over axes (a matvec: fast for small d)
            c, half, ones = self.box
            e = torch.where(((x - c).abs_().sub_(half).clamp_(min=0) @ ones) == 0, e, math.inf)
        self.last = Raw(x, e, g, lq, glq)
        return self.last

    def combine(self, r: Raw) -> tuple[Tensor, Tensor | None]:
        """(E_beta, grad E_beta) from raw terms (no 0 * inf at beta = 0 or 1)."""
        b = self.beta
        if b == 0.0:
            return -r.lq, (None if r.glq is None else -r.glq)
        if b == 1.0:
            return r.e, r.g
        g = None if r.g is None else b * r.g - (1.0 - b) * r.glq
        return b * r.e - (1.0 - b) * r.lq, g

    def forward(self, x: Tensor) -> Tensor:
        return self.combine(self.raw(x, False))[0]

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.combine(self.raw(x, True))

    def describe(self) -> str:
        return f"annealed({self.energy.describe()}, beta={self.beta:.4g})"


class _ScaledBM:
    """Boltzmann machine seen at inverse temperature beta (uniform base): W and b scaled by beta."""

    def __init__(self, bm, beta: float):
        self.bm, self.beta, self.space = bm, beta, bm.space

    def coupling(self, dtype=None) -> Tensor:
        return self.beta * self.bm.coupling(dtype)

    def bias(self, dtype=None) -> Tensor:
        return self.beta * self.bm.bias(dtype)

    def local_field(self, x: Tensor) -> Tensor:
        return x @ self.coupling(x.dtype) + self.bias(x.dtype)


class Transitions:
    """Moves n particles at the current beta, vectorised over particles.

    Continuous: a registered MH kernel ('mala', 'hmc', 'rwm') on `AnnealedEnergy`; the raw terms at the
    current positions are cached from the kernel's last evaluation (checked against the accepted
    positions, re-evaluated otherwise), so a change of beta costs no energy evaluation. Binary: the
    registered Gibbs sweep on a beta-scaled Boltzmann machine, or single-site Metropolis flips
    accepted with min(1, exp(beta (E(x) - E(x')))) for any other binary model.
    """

    def __init__(
        self,
        energy: Energy,
        base,
        kernel: str,
        x: Tensor,
        step_size: float,
        n_leapfrog: int = 5,
        restrict_to_box: bool = True,
    ):
        if kernel == "langevin":
            raise EbmlabError(LANGEVIN_REASON)
        self.ann = AnnealedEnergy(energy, base, 0.0, restrict_to_box)
        self.kernel, self.step_size, self.n_leapfrog = kernel, float(step_size), int(n_leapfrog)
        self.binary = isinstance(energy.space, BinarySpace)
        x = x.detach().to(torch.float64)
        self._params, self._checks = (None, None), 0
        if self.binary:
            names = ("local_field", "coupling", "bias")
            self.bm = _ScaledBM(energy, 0.0) if all(hasattr(energy, a) for a in names) else None
            self.state = x
            self.raw = self.ann.raw(x, False)
            return
        self.sampler = SAMPLERS.get(kernel)
        if self.sampler.space == "binary":
            raise EbmlabError(f"{kernel!r} is for binary models; this energy is continuous")
        self.ann.last = None
        self.state = self.sampler.init(x, self.ann, self.params())
        self.raw = self.ann.last if self.ann.last is not None else self.ann.raw(x, "grad" in self.state._fields)

    def params(self):
        if self._params[0] != self.step_size:
            cls = self.sampler.params_cls
            kw = {"n_leapfrog": self.n_leapfrog} if self.kernel == "hmc" else {}
            self._params = (self.step_size, cls(step_size=self.step_size, **kw))
        return self._params[1]

    @property
    def x(self) -> Tensor:
        return self.state if self.binary else self.state.x

    def u(self) -> Tensor:
        """-E(x) - log q(x) at the particles (n,), -inf outside the box."""
        return -self.raw.e - self.raw.lq

    def set_beta(self, beta: float) -> None:
        self.ann.beta = float(beta)
        if not self.binary:
            e, g = self.ann.combine(self.raw)
            fields = {"energy": e, "grad": g} if "grad" in self.state._fields else {"energy": e}
            self.state = self.state._replace(**fields)

    def select(self, idx: Tensor) -> None:
        """Keep particles idx (resampling)."""
        self.raw = Raw(*(None if a is None else a[idx] for a in self.raw))
        if self.binary:
            self.state = self.state[idx]
        else:
            self.state = type(self.state)(*(f[idx] if isinstance(f, Tensor) else f for f in self.state))

    def live(self) -> Tensor:
        """Number of particles with a finite E_beta (the others cannot move), 0-d tensor."""
        return torch.isfinite(self.raw.e if self.binary else self.state.energy).sum().clamp(min=1)

    def step(self, gen: torch.Generator) -> Tensor:
        """One transition; returns the SUM of accept probs (0-d tensor): divide by `live()` for the rate."""
        if self.binary:
            return self._binary_step(gen)
        self.ann.last = None
        new, info = self.sampler.step(gen, self.state, self.ann, self.params())
        rec, acc = self.ann.last, info.accepted > 0
        self._checks += 1  # the kernel's last evaluation is at its proposal: verified on the first steps
        ok = rec is not None and rec.x.shape == new.x.shape
        if ok and self._checks <= 3:
            ok = bool(((new.x == rec.x) | ~acc[:, None]).all())
            self._checks = self._checks if ok else -(10**9)
        if ok:
            m2 = acc[:, None].expand(-1, new.x.shape[1]).contiguous()  # a full mask: 7x faster wheres
            pick = [torch.where(m, a, b) if a is not None else None for m, a, b in
                    zip((acc, m2, acc, m2), rec[1:], self.raw[1:])]  # fmt: skip
            self.raw = Raw(new.x, *pick)
        else:
            self.raw = self.ann.raw(new.x, "grad" in new._fields)
        self.state = new
        return info.accept_prob.sum()

    @torch.no_grad()
    def _binary_step(self, gen: torch.Generator) -> Tensor:
        b, x = self.ann.beta, self.state
        if self.bm is not None:
            self.bm.beta = b
            x = SAMPLERS.get("gibbs").step(gen, GibbsState(x), self.bm, GibbsParams(1))[0].x
            self.state, self.raw = x, self.ann.raw(x, False)
            return torch.tensor(float(x.shape[0]), dtype=torch.float64)
        e, (off, on) = self.raw.e, self.ann.space.values
        logu = torch.rand(x.shape, generator=gen, dtype=x.dtype).log_()
        acc = torch.zeros((), dtype=torch.float64)
        for i in range(x.shape[1]):
            xp = x.clone()
            xp[:, i] = (on + off) - xp[:, i]
            ep = self.ann.energy(xp).to(x.dtype)
            a = logu[:, i] < torch.nan_to_num(b * (e - ep), nan=-math.inf, posinf=-math.inf)
            x, e = torch.where(a[:, None], xp, x), torch.where(a, ep, e)
            acc = acc + a.to(torch.float64).sum()
        self.state, self.raw = x, self.raw._replace(x=x, e=e)
        return acc / x.shape[1]
