"""Sampler kernels vs exact references (grid quadrature, brute-force enumeration).

Every statistical check is a chi-square test of iid samples (one final state per chain) against
exact bin probabilities, rejected at p < 1e-3, with fixed generators. Each check is paired with a
deliberately wrong sampler or target that must fail it (so the test has power at this size).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from ebmlab.core.energies.base import FunctionEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.energies.rbm import RBM
from ebmlab.core.errors import ConfigError, NotNormalisableError
from ebmlab.core.grid import evaluate_on_grid, make_grid
from ebmlab.core.params import check, from_dict
from ebmlab.core.samplers import SAMPLERS, sample_exact
from ebmlab.core.space import ContinuousSpace

P_MIN = 1e-3
N = 40000  # chains = iid samples per check


def double_well(scale: float = 1.0) -> FunctionEnergy:
    """E = scale (x^2 - 1)^2 on [-3, 3]."""
    return FunctionEnergy(
        lambda x: scale * (x[:, 0] ** 2 - 1) ** 2,
        ContinuousSpace.square(1, -3.0, 3.0),
        grad_fn=lambda x: scale * 4 * x * (x**2 - 1),
        name="double well",
    )


def gaussian2d() -> FunctionEnergy:
    """E = x^T P x / 2, covariance [[1, .6], [.6, 1]], on [-5, 5]^2."""
    P = torch.linalg.inv(torch.tensor([[1.0, 0.6], [0.6, 1.0]], dtype=torch.float64))
    return FunctionEnergy(
        lambda x: 0.5 * ((x @ P.to(x.dtype)) * x).sum(1),
        ContinuousSpace.square(2, -5.0, 5.0),
        grad_fn=lambda x: x @ P.to(x.dtype),
        name="gaussian",
    )


def chi2_p(samples: torch.Tensor, energy, bins: int) -> float:
    """p-value of binned samples vs exp(-E) integrated on a fine grid (bins per axis; samples
    outside the box are counted in the edge bins). Bins expecting < 5 samples are pooled."""
    space = energy.space
    d = space.dim
    fine = bins * (4096 // bins if d == 1 else 512 // bins)
    grid = make_grid(space, fine)
    e = evaluate_on_grid(energy, grid)
    w = np.exp(-(e - e.min()))
    shape = (bins, fine // bins) * d
    order = [2 * i for i in range(d)] + [2 * i + 1 for i in range(d)]
    prob = w.reshape(shape).transpose(order).reshape((bins,) * d + (-1,)).sum(-1).reshape(-1)
    prob /= prob.sum()
    x = samples.double().numpy()
    idx = np.zeros(len(x), dtype=np.int64)
    for j, (lo, hi) in enumerate(space.box):
        k = np.clip(np.floor((x[:, j] - lo) / (hi - lo) * bins), 0, bins - 1).astype(np.int64)
        idx = idx * bins + k
    return _chi2(np.bincount(idx, minlength=bins**d), prob)


def _chi2(counts: np.ndarray, prob: np.ndarray) -> float:
    exp = prob * counts.sum()
    small = exp < 5
    obs_k = np.append(counts[~small], counts[small].sum())
    exp_k = np.append(exp[~small], exp[small].sum())
    if exp_k[-1] == 0:
        obs_k, exp_k = obs_k[:-1], exp_k[:-1]
    return float(chisquare(obs_k, exp_k).pvalue)


def run(name: str, energy, x0: torch.Tensor, steps: int, seed: int = 0, **params):
    s = SAMPLERS.get(name)
    p = check(s.params_cls(**params))
    gen = torch.Generator().manual_seed(seed)
    state = s.init(x0, energy, p)
    infos = []
    for _ in range(steps):
        state, info = s.step(gen, state, energy, p)
        infos.append(info)
    return state, infos


def far_start(n: int, d: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) * 4 - 2


# ---- convergence from a non-stationary start -------------------------------------------------

CONVERGE = [
    ("mala", double_well(), 300, {"step_size": 0.1}, 32),
    ("rwm", double_well(), 300, {"step_size": 1.0}, 32),
    ("hmc", double_well(), 100, {"step_size": 0.2, "n_leapfrog": 5}, 32),
    ("langevin", double_well(), 2000, {"step_size": 0.003}, 32),
    ("mala", gaussian2d(), 200, {"step_size": 0.3}, 16),
    ("hmc", gaussian2d(), 60, {"step_size": 0.3, "n_leapfrog": 5}, 16),
    ("rwm", gaussian2d(), 300, {"step_size": 1.0}, 16),
]


@pytest.mark.parametrize("name,energy,steps,params,bins", CONVERGE)
def test_sampler_matches_exact_density(name, energy, steps, params, bins):
    state, infos = run(name, energy, far_start(N, energy.dim), steps, **params)
    assert torch.isfinite(state.x).all()
    assert chi2_p(state.x, energy, bins) > P_MIN
    acc = torch.stack([i.accept_prob for i in infos])
    assert ((acc >= 0) & (acc <= 1)).all()


@pytest.mark.parametrize(
    "name,energy,steps,params",
    [
        ("langevin", double_well(), 300, {"step_size": 0.3}),  # = MALA without the MH correction
        ("mala", double_well(0.7), 300, {"step_size": 0.1}),  # right sampler, wrong target
        ("hmc", gaussian2d(), 5, {"step_size": 0.3, "n_leapfrog": 1}),  # not converged yet
    ],
)
def test_wrong_sampler_fails_the_same_check(name, energy, steps, params):
    state, _ = run(name, energy, far_start(N, energy.dim), steps, **params)
    target = double_well() if energy.dim == 1 else gaussian2d()
    assert chi2_p(state.x, target, 32 if energy.dim == 1 else 16) < P_MIN


# ---- invariance: start at exact samples, a few steps keep the distribution -------------------


@pytest.mark.parametrize(
    "name,params",
    [("mala", {"step_size": 0.5}), ("hmc", {"step_size": 0.5, "n_leapfrog": 3}), ("rwm", {"step_size": 2.0})],
)
@pytest.mark.parametrize("energy", [double_well(), gaussian2d()], ids=["well", "gauss"])
def test_invariance_from_exact_samples(name, params, energy):
    gen = torch.Generator().manual_seed(7)
    x0 = sample_exact(energy, N, gen, grid_points=2048 if energy.dim == 1 else 512)
    bins = 32 if energy.dim == 1 else 16
    assert chi2_p(x0, energy, bins) > P_MIN
    state, infos = run(name, energy, x0, 5, seed=8, **params)
    assert torch.stack([i.accepted for i in infos]).mean() > 0.2  # the chains really moved
    assert chi2_p(state.x, energy, bins) > P_MIN


def test_ula_big_step_breaks_invariance():
    energy = double_well()
    x0 = sample_exact(energy, N, torch.Generator().manual_seed(7), grid_points=2048)
    state, _ = run("langevin", energy, x0, 5, step_size=0.5)
    assert chi2_p(state.x, energy, 32) < P_MIN


# ---- exact grid sampler -----------------------------------------------------------------------


@pytest.mark.parametrize("energy", [double_well(), gaussian2d()], ids=["well", "gauss"])
def test_grid_sampler_matches_density(energy):
    state, infos = run("grid", energy, torch.zeros(N, energy.dim), 2, grid_points=256)
    assert state.x.shape == (N, energy.dim) and state.x.dtype == torch.float32
    assert chi2_p(state.x, energy, 32 if energy.dim == 1 else 16) > P_MIN
    if energy.dim == 1:  # power: the same draws fail against a different target
        assert chi2_p(state.x, double_well(0.7), 32) < P_MIN
    assert infos[-1].accept_prob.eq(1).all()


def test_grid_sampler_errors():
    bad = FunctionEnergy(lambda x: torch.full_like(x[:, 0], float("nan")), ContinuousSpace.square(1))
    with pytest.raises(NotNormalisableError):
        sample_exact(bad, 10, torch.Generator())


# ---- Gibbs on binary models vs enumeration ----------------------------------------------------


def enumerate_probs(energy, n: int, values: tuple[float, float]) -> tuple[torch.Tensor, np.ndarray]:
    states = torch.tensor(list(itertools.product(values, repeat=n)), dtype=torch.float64)
    with torch.no_grad():
        logp = -energy(states)
    return states, torch.softmax(logp, 0).numpy()


def state_index(x: torch.Tensor, on: float = 1.0) -> np.ndarray:
    bits = (x == on).long()
    return (bits * (2 ** torch.arange(x.shape[1] - 1, -1, -1))).sum(1).numpy()


def gibbs_p(energy, target, n: int, values, seed: int = 0, sweeps: int = 20) -> float:
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor(values)[torch.randint(0, 2, (N, n), generator=gen)]
    state, infos = run("gibbs", energy, x0, 2, seed=seed + 1, sweeps=sweeps)
    assert infos[-1].accept_prob.eq(1).all()
    assert set(state.x.unique().tolist()) <= set(values)
    _, prob = enumerate_probs(target, n, values)
    return _chi2(np.bincount(state_index(state.x), minlength=2**n), prob)


@pytest.mark.parametrize("spins", ["01", "pm1"])
def test_gibbs_ising_lattice_matches_enumeration(spins):
    bm = BoltzmannMachine.ising_lattice(3, 3, J=0.4, h=0.1, spins=spins)
    values = bm.space.values
    assert gibbs_p(bm, bm, 9, values) > P_MIN
    wrong = BoltzmannMachine.ising_lattice(3, 3, J=0.25, h=0.1, spins=spins)
    assert gibbs_p(bm, wrong, 9, values) < P_MIN


def test_gibbs_random_bm_matches_enumeration():
    bm = BoltzmannMachine.all_to_all(6, scale=0.7, seed=3, spins="01", bias_scale=0.5)
    assert gibbs_p(bm, bm, 6, (0.0, 1.0)) > P_MIN


def test_gibbs_rbm_matches_enumeration():
    rbm = RBM(5, 3, seed=0, scale=1.0)
    with torch.no_grad():
        rbm.b.copy_(torch.tensor([0.5, -0.5, 0.2, 0.0, -1.0]))
        rbm.c.copy_(torch.tensor([0.3, -0.7, 0.1]))
    assert gibbs_p(rbm, rbm, 5, (0.0, 1.0)) > P_MIN
    wrong = RBM(5, 3, seed=0, scale=1.0)
    assert gibbs_p(rbm, wrong, 5, (0.0, 1.0)) < P_MIN


def test_gibbs_rejects_continuous_energy():
    with pytest.raises(TypeError, match="binary model"):
        SAMPLERS.get("gibbs").init(torch.zeros(3, 1), double_well())


# ---- robustness, determinism, params ----------------------------------------------------------


@pytest.mark.parametrize("name", ["mala", "hmc", "rwm", "langevin"])
def test_nan_energy_proposals_are_rejected(name):
    """E = x^2/2 for x < 1, NaN beyond: chains must never step past 1 or go non-finite."""
    space = ContinuousSpace.square(1)
    energy = FunctionEnergy(
        lambda x: torch.where(x[:, 0] < 1, 0.5 * x[:, 0] ** 2, torch.nan),
        space,
        grad_fn=lambda x: torch.where(x < 1, x, torch.nan),
    )
    state, infos = run(name, energy, torch.full((2000, 1), 0.9), 20, step_size=0.5)
    assert torch.isfinite(state.x).all() and (state.x < 1).all()
    assert torch.isfinite(state.energy).all()
    if hasattr(state, "grad"):
        assert torch.isfinite(state.grad).all()
    acc = torch.stack([i.accept_prob for i in infos])
    assert torch.isfinite(acc).all() and ((acc >= 0) & (acc <= 1)).all()
    assert torch.stack([i.accepted for i in infos]).mean() < 1  # some were rejected


@pytest.mark.parametrize("name", ["mala", "hmc", "rwm", "langevin", "grid"])
def test_same_seed_same_chains(name):
    energy = gaussian2d()
    a, _ = run(name, energy, far_start(500, 2), 10, seed=3)
    b, _ = run(name, energy, far_start(500, 2), 10, seed=3)
    c, _ = run(name, energy, far_start(500, 2), 10, seed=4)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)


def test_gibbs_same_seed_same_chains():
    bm = BoltzmannMachine.ising_lattice(2, 3, J=0.5)
    x0 = torch.ones(100, 6)
    a, _ = run("gibbs", bm, x0, 3, seed=1)
    b, _ = run("gibbs", bm, x0, 3, seed=1)
    assert torch.equal(a.x, b.x)


def test_registry_and_params():
    assert set(SAMPLERS.names()) >= {"langevin", "mala", "hmc", "rwm", "gibbs", "grid"}
    for name in SAMPLERS.names():
        check(SAMPLERS.get(name).params_cls())
    with pytest.raises(ConfigError, match="step_size"):
        from_dict(SAMPLERS.get("mala").params_cls, {"step_size": 0.0})
    with pytest.raises(ConfigError, match="n_leapfrog"):
        from_dict(SAMPLERS.get("hmc").params_cls, {"n_leapfrog": 0})


def test_float64_chains_keep_dtype():
    state, infos = run("mala", gaussian2d(), far_start(10, 2).double(), 2)
    assert state.x.dtype == torch.float64 and infos[0].accept_prob.dtype == torch.float64
