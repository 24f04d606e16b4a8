"""Annealed importance sampling (Neal 2001): forward, reverse, and the BDMC sandwich.

Geometric path between the base q (normalised, Z_0 = 1) and f_1 = exp(-E):
    log f_beta(x) = (1 - beta) log q(x) - beta E(x),   E_beta = -log f_beta = beta E - (1 - beta) log q.
Forward AIS: x ~ q; for k = 1..K: log w += (beta_k - beta_{k-1}) u(x), u = -E - log q, then (k < K)
move x by an MCMC kernel leaving f_{beta_k} invariant. E[w] = Z, log Z_hat = logmeanexp(log w), a
stochastic LOWER bound (Jensen: E[log Z_hat] <= log Z). Reverse AIS starts from exact samples of p and
anneals 1 -> 0 with the same increments; then E[w] = 1/Z, log Z_rev = -logmeanexp(log w), and
E[log Z_rev] >= log Z: a stochastic UPPER bound. BDMC (Grosse et al. 2015) runs both.

Only Metropolis-corrected kernels keep f_beta invariant, so 'langevin' (ULA) is refused. Step sizes
may be tuned by a pilot run (per range of beta, toward ~0.65 acceptance) and are then FROZEN: adapting
them on the particles being weighted would make the kernels depend on the weighted run and break the
AIS identity. Continuous targets are restricted to the energy's view box (the domain of the quadrature
reference); a Gaussian base's particles outside the box get weight 0. Chains whose weight becomes NaN
or +inf are dropped with a count and never poison the estimate or stop the run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..energies.base import Energy
from ..errors import ConfigError, EbmlabError
from ..params import check, from_dict, param
from ..space import BinarySpace
from .importance import PathGrid, check_base, default_base, importance_log_z, reference_log_z
from .importance import exact_samples as draw_exact
from .schedules import LANGEVIN_REASON, Transitions, adaptive_schedule, make_schedule
from .stats import LogZEstimate, bracket, exact_estimate, summarize_log_weights

TARGET_ACCEPT = 0.65


@dataclass(frozen=True)
class AISParams:
    """AIS settings. Step sizes are tuned by the pilot (if on) BEFORE the run and frozen during it."""

    particles: int = param(1000, lo=2, hi=200_000, help="number of AIS particles (chains)")
    temps: int = param(200, lo=1, hi=100_000, help="temperature steps K (betas 0 = b_0 < ... < b_K = 1)")
    schedule: str = param("sigmoid", choices=("linear", "geometric", "sigmoid", "adaptive"), help="beta path")
    kernel: str = param("mala", choices=("mala", "hmc", "rwm", "gibbs"), help="MH-corrected transition")
    steps_per_temp: int = param(1, lo=1, hi=1000, help="kernel steps at each temperature")
    step_size: float = param(0.1, lo=0.0, lo_open=True, hi=1e4, log=True, help="initial / fixed step")
    n_leapfrog: int = param(5, lo=1, hi=100, help="leapfrog steps (hmc only)")
    pilot: bool = param(True, help="tune step sizes per beta range in a short pilot run, then freeze")
    record_every: int = param(0, lo=0, hi=100_000, help="temperatures per frame (0: about 100 frames)")
    show: int = param(2000, lo=0, hi=200_000, help="particles per frame / snapshot")
    restrict_to_box: bool = param(True, help="target exp(-E) on the view box (as the exact reference)")
    exact_reference: bool = param(True, help="compute the exact log Z (1-2 D, binary <= 20 units)")
    seed: int = param(0, lo=0, hi=2**63 - 1, help="seed of the run's torch.Generator")


@dataclass(frozen=True)
class AISTrace:
    """Per frame f: betas[f], index[f] (temperature step), log_z_beta/stderr_beta/ess_beta (running
    estimate of log Z_beta; in reverse runs of log(Z_1 / Z_beta)), acceptance_beta (mean accept prob
    over the block); snapshots (F, <= show, d) float32 particles."""

    betas: np.ndarray
    index: np.ndarray
    log_z_beta: np.ndarray
    stderr_beta: np.ndarray
    ess_beta: np.ndarray
    acceptance_beta: np.ndarray
    snapshots: np.ndarray


@dataclass(frozen=True)
class AISResult:
    """estimate; trace; exact_log_z_beta (F,) the same quantity as trace.log_z_beta by float64 quadrature
    of f_beta (1-2 D) or enumeration (binary <= 16 units), else None; schedule (K+1,); step_sizes (K+1,)."""

    estimate: LogZEstimate
    trace: AISTrace
    exact_log_z_beta: np.ndarray | None
    schedule: np.ndarray
    step_sizes: np.ndarray
    seconds: float
    reverse: bool = False


@dataclass(frozen=True)
class AISFrame:
    """One animation frame: particles (<= show, d) float32, log_w (N,) float64, running estimate."""

    beta: float
    index: int
    n_temps: int
    particles: np.ndarray
    log_w: np.ndarray
    log_z: float
    stderr: float
    ess: float
    acceptance: float
    n_dropped: int
    result: AISResult | None = None

    @property
    def done(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class BDMCResult:
    """forward (lower bound) and reverse (upper bound) estimates; gap = reverse - forward with its SE."""

    forward: LogZEstimate
    reverse: LogZEstimate
    gap: float
    gap_stderr: float
    warnings: tuple[str, ...]


def validate_params(params: AISParams | None, energy: Energy) -> AISParams:
    """Range-checked params that fit the energy's space; ConfigError / EbmlabError otherwise."""
    params = AISParams() if params is None else params
    if params.kernel == "langevin":
        raise ConfigError([f"ais.kernel: {LANGEVIN_REASON}"])
    check(params, "ais")
    binary = isinstance(energy.space, BinarySpace)
    if binary and params.kernel != "gibbs":
        raise ConfigError([f"ais.kernel: {params.kernel!r} needs a continuous energy; use 'gibbs' for binary"])
    if not binary and params.kernel == "gibbs":
        raise ConfigError(["ais.kernel: 'gibbs' is for binary models; use 'mala', 'hmc' or 'rwm'"])
    return params


def _references(energy: Energy, base, p: AISParams):
    """(ExactLogZ or None, PathGrid or None) when p.exact_reference; refuses energies piling up at the edge."""
    if not p.exact_reference:
        return None, None
    ref, pg = reference_log_z(energy), PathGrid.build(energy, base)
    if pg is not None:
        pg.check_edge()
    return ref, pg


def _schedule(energy: Energy, base, p: AISParams) -> np.ndarray:
    if p.schedule != "adaptive":
        return make_schedule(p.schedule, p.temps)
    return adaptive_schedule(energy, base, K=p.temps, kernel=p.kernel, step_size=p.step_size, seed=p.seed)


def _pilot(energy: Energy, base, p: AISParams, betas: np.ndarray, gen: torch.Generator) -> np.ndarray:
    """Step size for every temperature index (K+1,): tuned per beta range on <= 512 pilot particles."""
    K = len(betas) - 1
    if not p.pilot or p.kernel == "gibbs":
        return np.full(K + 1, p.step_size)
    x = base.sample(min(p.particles, 512), gen, torch.float64)
    tr = Transitions(energy, base, p.kernel, x, p.step_size, p.n_leapfrog, p.restrict_to_box)
    n_bins = min(10, K)
    edges = np.linspace(0, K, n_bins + 1).round().astype(int)
    sizes = np.empty(K + 1)
    h = p.step_size
    steps = min(30, max(8, K // (2 * n_bins)))  # pilot cost: about K / 2 steps on <= 512 particles
    for i0, i1 in zip(edges[:-1], edges[1:]):
        tr.set_beta(float(betas[i1]))
        for t in range(steps):
            tr.step_size = h
            a = float(tr.step(gen) / tr.live())
            if math.isfinite(a):
                gain = 2.0 if t < steps // 2 else 0.5
                h = min(max(h * math.exp(gain * (a - TARGET_ACCEPT)), 1e-6), 1e4)
        sizes[i0 : i1 + 1] = h
    return sizes


def ais_frames(
    energy: Energy,
    params: AISParams | None = None,
    base=None,
    gen: torch.Generator | None = None,
    *,
    reverse: bool = False,
    samples: torch.Tensor | None = None,
) -> Iterator[AISFrame]:
    """Run AIS lazily: one frame at beta_0, then every `record_every` temperatures; the last frame has
    `.result`. reverse=True anneals 1 -> 0 from exact samples (drawn by the grid sampler / enumeration
    when `samples` is None). Close the generator to stop early."""
    t0 = time.perf_counter()
    p = validate_params(params, energy)
    base = default_base(energy) if base is None else base
    check_base(energy, base)
    gen = torch.Generator().manual_seed(p.seed) if gen is None else gen
    ref, pg = _references(energy, base, p)
    betas = _schedule(energy, base, p)
    K = len(betas) - 1
    sizes = _pilot(energy, base, p, betas, gen)
    if reverse:
        x = draw_exact(energy, p.particles, gen) if samples is None else samples
        x = torch.as_tensor(x).to(torch.float64)
        if x.ndim != 2 or x.shape[1] != energy.dim or x.shape[0] < 2:
            raise EbmlabError(f"exact samples must have shape (n >= 2, {energy.dim}), got {tuple(x.shape)}")
        path, sizes = betas[::-1].copy(), sizes[::-1].copy()
    else:
        x = base.sample(p.particles, gen, torch.float64)
        path = betas
    tr = Transitions(energy, base, p.kernel, x, float(sizes[0]), p.n_leapfrog, p.restrict_to_box)
    tr.set_beta(float(path[0]))
    method = "rais" if reverse else "ais"
    every = p.record_every or max(1, round(K / 100))
    log_w = torch.zeros(x.shape[0], dtype=torch.float64)
    rec: dict[str, list] = {k: [] for k in ("b", "i", "lz", "se", "ess", "acc", "snap")}
    acc_sum, acc_n = 0.0, 0

    def frame(j: int, acc: float, result: AISResult | None = None) -> AISFrame:
        lw = log_w.numpy().copy()
        s = summarize_log_weights(lw, method, reciprocal=reverse, khat=False)
        snap = tr.x[: p.show].to(torch.float32).numpy().copy()
        for key, v in zip(rec, (path[j], j, s.log_z, s.stderr, s.ess, acc, snap)):
            rec[key].append(v)
        return AISFrame(float(path[j]), j, K, snap, lw, s.log_z, s.stderr, s.ess, acc, s.n_dropped, result)

    yield frame(0, float("nan"))
    # reverse: f_0 restricted to the box has mass q(box) < 1, so E[w_rev] = q(box) / Z; divide it out
    box = energy.space.box if p.restrict_to_box and not isinstance(energy.space, BinarySpace) else None
    log_mass = base.log_mass(box) if reverse and box is not None else 0.0
    for j in range(1, K + 1):
        log_w += (path[j] - path[j - 1]) * tr.u()
        if j == K and log_mass:
            log_w -= log_mass
        if j < K:
            tr.set_beta(float(path[j]))
            tr.step_size = float(sizes[j])
            for _ in range(p.steps_per_temp):
                acc_sum = acc_sum + tr.step(gen)
                acc_n += 1
        if j % every == 0 or j == K:
            acc = float(acc_sum / tr.live()) / acc_n if acc_n else float("nan")
            acc_sum, acc_n = 0.0, 0
            out = frame(j, acc)
            if j == K:
                trace = AISTrace(*(np.asarray(rec[k], dtype=np.float64) for k in list(rec)[:-1]), np.stack(rec["snap"]))
                est = summarize_log_weights(
                    log_w,
                    method,
                    exact_log_z=None if ref is None else ref.log_z,
                    reciprocal=reverse,
                    extra_warnings=_accept_notes(trace, p.kernel),
                )
                curve = None if pg is None else pg.log_z_beta(trace.betas, reverse)
                sz = sizes[::-1].copy() if reverse else sizes
                res = AISResult(est, trace, curve, betas, sz, time.perf_counter() - t0, reverse)
                out = replace(out, result=res)
            yield out


def _accept_notes(trace: AISTrace, kernel: str) -> tuple[str, ...]:
    accs = trace.acceptance_beta[np.isfinite(trace.acceptance_beta)]
    if kernel == "gibbs" or not accs.size or float(accs.mean()) >= 0.05:
        return ()
    return (
        f"the kernel accepted only {100 * float(accs.mean()):.1f}% of its moves: the step size is too large, "
        "so the chains barely move and AIS degrades to importance sampling",
    )


def _last(frames: Iterator[AISFrame]) -> AISFrame:
    frame = None
    for frame in frames:  # noqa: B007
        pass
    return frame


def run_ais(
    energy: Energy, params: AISParams | None = None, base=None, gen: torch.Generator | None = None
) -> AISResult:
    """Forward AIS to the end (consumes `ais_frames`)."""
    return _last(ais_frames(energy, params, base, gen)).result


def reverse_ais(
    energy: Energy,
    params: AISParams | None = None,
    exact_samples: torch.Tensor | None = None,
    base=None,
    gen: torch.Generator | None = None,
) -> LogZEstimate:
    """Reverse AIS (1 -> 0 from exact samples of p): log Z_rev = -logmeanexp(log w_rev), an upper bound
    in expectation, with the delta-method SE of the reverse weights."""
    return _last(ais_frames(energy, params, base, gen, reverse=True, samples=exact_samples)).result.estimate


def bdmc(
    energy: Energy,
    params: AISParams | None = None,
    base=None,
    gen: torch.Generator | None = None,
    exact_samples: torch.Tensor | None = None,
) -> BDMCResult:
    """Bidirectional Monte Carlo: forward (lower) and reverse (upper) AIS; warns when the gap
    reverse - forward exceeds 3 standard errors (or reverse falls below forward by as much)."""
    p = validate_params(params, energy)
    gen = torch.Generator().manual_seed(p.seed) if gen is None else gen
    fwd = run_ais(energy, p, base, gen)
    rev = reverse_ais(energy, p, exact_samples, base, gen)
    f, r = fwd.estimate, rev
    gap = r.log_z - f.log_z
    se = math.sqrt(f.stderr**2 + r.stderr**2)
    warns = []
    if gap > 3 * se:
        warns.append(
            f"forward and reverse AIS disagree by {gap:.3g} ± {se:.2g}: some mode was probably missed; "
            "add temperatures or particles"
        )
    elif gap < -3 * se:
        warns.append(
            f"reverse AIS lies {-gap:.3g} ± {se:.2g} below forward AIS: the exact samples are probably "
            "not from p, or an error bar is wrong"
        )
    return BDMCResult(f, r, gap, se, tuple(warns))


def estimate_log_z(energy: Energy, method: str = "ais", **settings) -> LogZEstimate:
    """log Z by 'exact' | 'is' | 'ais' | 'rais' | 'bdmc'. settings: AISParams fields (IS uses particles,
    seed, restrict_to_box), plus base, gen, exact_samples. exact_log_z is filled whenever computable.
    'bdmc' reports the sandwich [forward, reverse] as one estimate (see stats.bracket)."""
    base, gen, samples = settings.pop("base", None), settings.pop("gen", None), settings.pop("exact_samples", None)
    if settings.get("kernel") == "langevin":
        raise ConfigError([f"ais.kernel: {LANGEVIN_REASON}"])
    p = validate_params(from_dict(AISParams, settings, "ais"), energy)
    if method == "exact":
        ref = reference_log_z(energy)
        if ref is None:
            raise EbmlabError(f"no exact log Z for {energy.describe()} (use 'ais')")
        return exact_estimate(ref.log_z, ref.n_points, ref.warning)
    if method == "is":
        ref, _ = _references(energy, default_base(energy) if base is None else base, p)
        gen = torch.Generator().manual_seed(p.seed) if gen is None else gen
        return importance_log_z(energy, base, p.particles, gen, None if ref is None else ref.log_z, p.restrict_to_box)
    if method == "ais":
        return run_ais(energy, p, base, gen).estimate
    if method == "rais":
        return reverse_ais(energy, p, samples, base, gen)
    if method == "bdmc":
        res = bdmc(energy, p, base, gen, samples)
        return bracket(res.forward, res.reverse, res.warnings)
    raise EbmlabError(f"method must be one of exact, is, ais, rais, bdmc; got {method!r}")
