"""Estimators cd, pcd, mle, pl: oracles (closed-form MLEs, enumeration, analytic conditionals),
parameter recovery with tolerances derived from standard errors, settings checks, info and state."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.energies.gaussian import GaussianEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.energies.mixture import GaussianMixtureEnergy
from ebmlab.core.energies.rbm import RBM
from ebmlab.core.errors import ConfigError, EbmlabError
from ebmlab.core.estimators import cd, mle, pcd, pl
from ebmlab.core.estimators.base import ESTIMATORS, EstimatorContext
from ebmlab.core.params import check
from ebmlab.core.partition.exact import all_states, log_z_enumerate, state_log_probs
from ebmlab.core.samplers import SAMPLERS
from ebmlab.core.samplers.gibbs import GibbsParams
from ebmlab.core.samplers.langevin import LangevinParams, MALAParams
from ebmlab.core.space import BinarySpace, ContinuousSpace


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one torch thread is faster and timings do not depend on the machine's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_impl(name, energy, data, params=None, sampler=None, sampler_params=None):
    est = ESTIMATORS.get(name)
    ctx = EstimatorContext(energy.space, data, SAMPLERS.get(sampler) if sampler else None, sampler_params)
    return est.make(params if params is not None else est.params_cls(), ctx)


def train(impl, energy, data, iters, lr, avg=0, lr_avg=None, opt="adam", seed=0):
    """Full-batch loop; with avg > 0 the last `avg` iterates (at lr_avg) are averaged and loaded."""
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in energy.parameters() if p.requires_grad]
    optim = (torch.optim.Adam if opt == "adam" else torch.optim.SGD)(params, lr=lr)
    state, total = impl.init(energy, gen), 0.0
    for it in range(iters):
        if avg and it == iters - avg:
            optim.param_groups[0]["lr"] = lr_avg
        optim.zero_grad()
        loss, state, _ = impl.loss(energy, data, state, gen)
        loss.backward()
        optim.step()
        if avg and it >= iters - avg:
            total = total + parameters_to_vector(params).detach().double()
    if avg:
        with torch.no_grad():
            vector_to_parameters((total / avg).to(params[0].dtype), params)


def lbfgs(impl, energy, data, rounds=3):
    """Deterministic full-batch L-BFGS to optimiser precision."""
    gen, kw = torch.Generator(), dict(max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15)
    optim = torch.optim.LBFGS(energy.parameters(), lr=1, line_search_fn="strong_wolfe", **kw)

    def closure():
        optim.zero_grad()
        (loss := impl.loss(energy, data, None, gen)[0]).backward()
        return loss

    for _ in range(rounds):
        optim.step(closure)


GAUSS = "0.5*(p11*(x-m1)**2 + 2*p12*(x-m1)*(y-m2) + p22*(y-m2)**2)"
NAMES = ["m1", "m2", "p11", "p12", "p22"]


def theta_of(energy):
    return np.array([energy.param_values[k] for k in NAMES])


N_GAUSS, N_MIX, N_BM, N_SPINS = 2000, 1000, 2000, 10


@pytest.fixture(scope="module")
def gauss():
    """Data (N, 2), closed-form MLE theta = (xbar, inverse biased covariance) and its asymptotic SE:
    Var(xbar_i) = S_ii / N and Cov(P_ij, P_kl) = (P_ik P_jl + P_il P_jk) / N."""
    X = np.random.default_rng(0).multivariate_normal([0.5, -0.3], [[1.0, 0.5], [0.5, 0.8]], size=N_GAUSS)
    xbar, S = X.mean(0), np.cov(X.T, bias=True)
    P = np.linalg.inv(S)  # closed-form MLE of the precision
    theta = np.array([xbar[0], xbar[1], P[0, 0], P[0, 1], P[1, 1]])
    var = [S[0, 0], S[1, 1], 2 * P[0, 0] ** 2, P[0, 0] * P[1, 1] + P[0, 1] ** 2, 2 * P[1, 1] ** 2]
    return torch.tensor(X), theta, np.sqrt(np.array(var) / N_GAUSS)


def gauss_energy():
    # box ~7 sd wide on each side of the data: the mass outside is < 1e-10
    start = dict(m1=0.0, m2=0.0, p11=1.0, p12=0.0, p22=1.0)
    return ExpressionEnergy(GAUSS, params=start, box=((-7.0, 8.0), (-7.0, 7.0)))


@pytest.mark.parametrize("name", ["mle", "pl"])
def test_mle_and_pl_equal_closed_form_gaussian(gauss, name):
    # MLE: midpoint quadrature of a Gaussian is spectrally accurate; the rest is optimiser precision.
    # PL: for a Gaussian with a full precision matrix the conditionals are regressions
    # x_i | x_-i ~ N(m_i - sum_j P_ij/P_ii (x_j - m_j), 1/P_ii). Maximising each conditional alone gives
    # the least-squares regression, whose coefficients and residual variance are exactly
    # -S^-1_ij / S^-1_ii and 1 / S^-1_ii: the unconstrained optimum is the symmetric P = S^-1 with
    # m = xbar, so the (constrained) PL maximiser is the MLE.
    data, theta, e = *gauss[:2], gauss_energy()
    lbfgs(make_impl(name, e, data), e, data)
    np.testing.assert_allclose(theta_of(e), theta, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name,params,sp", [("cd", cd.CDParams(10), MALAParams(0.1)), ("pcd", None, MALAParams(0.3))])
def test_cd_pcd_within_one_standard_error_of_mle(gauss, name, params, sp):
    # Full-batch positives, so the only gradient noise is from the negatives; averaging the last
    # iterates at a small step makes that noise ~0.1 SE (measured by batch means). The claim tested:
    # CD-10 (MALA) and PCD (1000 chains) land within ONE standard error (from N) of the exact MLE.
    (data, theta, se), e = gauss, gauss_energy()
    impl = make_impl(name, e, data, params or pcd.PCDParams(1000), "mala", sp)
    train(impl, e, data, iters=1000, lr=0.02, avg=500, lr_avg=0.005, seed=1)
    dev = (theta_of(e) - theta) / se
    assert np.all(np.abs(dev) < 1.0), dev


def mode_weight(name, data, params=None, sampler=None, sp=None):
    """Train only the weight of modes at +-2 (sd 0.5: 8 sd apart) from w = 0.5, by plain SGD."""
    e = GaussianMixtureEnergy([[2.0], [-2.0]], scales=[0.5, 0.5], weights=[0.5, 0.5])
    e.requires_grad_(False).logits.requires_grad_(True)
    train(make_impl(name, e, data, params, sampler, sp), e, data, iters=200, lr=2.0, opt="sgd")
    return float(e.weights()[0].detach())


def test_mle_learns_mode_weight_cd1_does_not():
    rng = np.random.default_rng(3)
    X = np.where(rng.random(N_MIX) < 0.8, 2.0, -2.0) + 0.5 * rng.standard_normal(N_MIX)
    data, frac = torch.tensor(X[:, None]), float((X > 0).mean())
    # responsibilities are 0/1 up to exp(-32), so the MLE is the fraction of points in the right mode
    # (to float32 optimiser precision), and that is within 3 SE sqrt(w(1-w)/N) of the true 0.8
    w = mode_weight("mle", data)
    assert abs(w - frac) < 1e-5 and abs(w - 0.8) < 3 * math.sqrt(0.8 * 0.2 / N_MIX)
    # Known property: short-step CD-1 negatives stay in the mode they started in, so positives and
    # negatives have the same responsibilities (hence dE/d logits): the weight gradient is ~1e-6, and
    # the SGD that takes the MLE from 0.5 to 0.81 moves w by < 1% of that. (Adam would rescale this
    # tiny gradient to full-size steps and random-walk w: not a CD signal.)
    for sampler, sp in [("mala", MALAParams(0.01)), ("langevin", LangevinParams(0.01))]:
        assert abs(mode_weight("cd", data, cd.CDParams(k=1), sampler, sp) - 0.5) < 0.01 * abs(frac - 0.5)


@pytest.fixture(scope="module")
def bm():
    """Exact samples of a random 10-spin BM; MLE by enumeration (L-BFGS); the SE of every coupling and
    bias from the Fisher information Cov_p(T) at the MLE, T = (x_i x_j (i<j), x_i)."""
    true = BoltzmannMachine.all_to_all(N_SPINS, scale=0.3, seed=1, bias_scale=0.2)
    states, p_true = all_states(true.space), torch.tensor(state_log_probs(true)).exp()
    data = states[torch.multinomial(p_true, N_BM, True, generator=torch.Generator().manual_seed(0))]
    e = BoltzmannMachine.zeros(N_SPINS)
    lbfgs(make_impl("mle", e, data), e, data)
    iu = torch.triu_indices(N_SPINS, N_SPINS, 1)
    T = torch.cat([states[:, iu[0]] * states[:, iu[1]], states], 1)
    p = torch.tensor(state_log_probs(e)).exp()
    mu = p @ T  # model moments at the MLE
    fisher = (T - mu).T @ ((T - mu) * p[:, None])
    se = torch.sqrt(torch.diagonal(torch.linalg.inv(fisher)) / N_BM).numpy()
    # independent check of the reference: at the MLE the model moments E_p[T] equal the data moments
    index = ((data > 0).long() * (2 ** torch.arange(N_SPINS - 1, -1, -1))).sum(1)  # all_states order
    assert float((T[index].mean(0) - mu).abs().max()) < 1e-5
    return data, bm_theta(e), se, exact_nll(e, data)


def bm_theta(e):
    W, iu = e.coupling(torch.float64).detach(), torch.triu_indices(e.n, e.n, 1)
    return torch.cat([W[iu[0], iu[1]], e.bias(torch.float64).detach()]).numpy()


def exact_nll(e, data):
    with torch.no_grad():
        return float(e(data).double().mean()) + log_z_enumerate(e).log_z


@pytest.mark.parametrize("name,params", [("pl", None), ("cd", cd.CDParams(k=10))])
def test_bm_pl_cd10_within_one_standard_error(bm, name, params):
    (data, theta, se, *_), e = bm, BoltzmannMachine.zeros(N_SPINS)
    impl = make_impl(name, e, data, params, "gibbs", GibbsParams())
    lbfgs(impl, e, data) if name == "pl" else train(impl, e, data, 500, 0.05, avg=250, lr_avg=0.01, seed=2)
    dev = (bm_theta(e) - theta) / se
    assert np.abs(dev).max() < 1.0, dev


@pytest.mark.parametrize("name,params", [("cd", cd.CDParams(k=1)), ("pcd", pcd.PCDParams(n_chains=500))])
def test_bm_cd1_pcd_reduce_nll(bm, name, params):
    # The true parameters' training-NLL excess over the MLE is ~chi2_p / (2N) (p = 55 parameters):
    # require the learned model to be no worse than mean + 3 sd of that.
    (data, *_, nll_mle), e = bm, BoltzmannMachine.zeros(N_SPINS)
    nll0, p = exact_nll(e, data), N_SPINS * (N_SPINS + 1) // 2
    train(make_impl(name, e, data, params, "gibbs", GibbsParams()), e, data, 400, 0.05, 200, 0.01, seed=3)
    excess = exact_nll(e, data) - nll_mle
    assert excess < (p + 3 * math.sqrt(2 * p)) / (2 * N_BM) < 0.05 * (nll0 - nll_mle)


@pytest.mark.parametrize("spins", ["pm1", "01"])
def test_pl_closed_form_matches_flipping(spins):
    e = BoltzmannMachine.all_to_all(8, scale=0.7, seed=4, bias_scale=0.5, spins=spins)
    x = all_states(e.space)[::7]  # 37 of the 256 states
    flip = pl.flip_conditional_log_probs(e, x, e.space)
    torch.testing.assert_close(pl.bm_conditional_log_probs(e, x), flip, rtol=0, atol=1e-5)


def test_pl_and_mle_losses_match_gaussian_closed_forms():
    mean, cov = torch.tensor([0.3, -0.2]), torch.tensor([[1.0, 0.6], [0.6, 2.0]], dtype=torch.float64)
    e = GaussianEnergy(mean, cov, box=((-9.0, 9.0), (-12.0, 12.0)))
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = pl.quadrature_conditional_log_probs(e, x, e.space, 512)
    P, m, want = torch.linalg.inv(cov), mean.double(), []
    for i, j in [(0, 1), (1, 0)]:
        mu = m[i] - P[i, j] / P[i, i] * (x[:, j] - m[j])
        want.append(-0.5 * P[i, i] * (x[:, i] - mu) ** 2 + 0.5 * torch.log(P[i, i] / (2 * math.pi)))
    torch.testing.assert_close(got, torch.stack(want, 1), rtol=0, atol=1e-6)
    # the MLE loss is the exact NLL: mean E + closed-form log Z
    (loss, _, info), log_z = make_impl("mle", e, x).loss(e, x, None, torch.Generator()), e.log_z_closed_form()
    assert info["log_z"] == pytest.approx(log_z, abs=1e-6)
    assert float(loss.detach()) == pytest.approx(float(e(x).detach().double().mean()) + log_z, abs=1e-6)


@pytest.mark.parametrize(
    "obj,message",
    [
        (cd.CDParams(k=0), "estimator.k: must be >= 1, got 0"),
        (pcd.PCDParams(reinit=-0.1), "estimator.reinit: must be >= 0.0, got -0.1"),
        (pcd.PCDParams(reinit=1.5), "estimator.reinit: must be <= 1.0, got 1.5"),
        (pcd.PCDParams(n_chains=0), "estimator.n_chains: must be >= 1, got 0"),
        (pcd.PCDParams(init="gaussian"), "estimator.init: must be one of 'data', 'uniform', got 'gaussian'"),
        (mle.MLEParams(grid_points=4), "estimator.grid_points: must be >= 8, got 4"),
        (pl.PLParams(grid_points=4), "estimator.grid_points: must be >= 8, got 4"),
    ],
)
def test_bad_settings_rejected(obj, message):
    with pytest.raises(ConfigError) as err:
        check(obj, "estimator")
    assert err.value.problems == [message]
    for name in ("cd", "pcd", "mle", "pl"):  # defaults are valid
        check(ESTIMATORS.get(name).params_cls(), "estimator")


@pytest.mark.parametrize(
    "name,space,sampler,match",
    [
        ("mle", BinarySpace(21), None, "limited to 20 binary units; this model has 21"),
        ("mle", ContinuousSpace.square(4), None, "limited to 1-3 dimensions; this model has 4"),
        ("pl", ContinuousSpace.square(4), None, "limited to 1-3 dimensions for continuous models"),
        ("cd", ContinuousSpace.square(2), None, "needs a sampler"),
        ("pcd", ContinuousSpace.square(2), "gibbs", "choose a continuous sampler"),
    ],
)
def test_refusals(name, space, sampler, match):
    est = ESTIMATORS.get(name)
    ctx = EstimatorContext(space, torch.zeros(1, space.dim), sampler and SAMPLERS.get(sampler))
    with pytest.raises(EbmlabError, match=match):
        est.make(est.params_cls(), ctx)


def test_cd_info_pcd_init_and_reinit():
    e = GaussianEnergy([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]])
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    impl = make_impl("cd", e, x, cd.CDParams(k=3), "mala", MALAParams(0.5))
    loss, state, info = impl.loss(e, x, impl.init(e, torch.Generator()), torch.Generator().manual_seed(0))
    assert state is None and loss.ndim == 0 and loss.requires_grad
    assert info["negatives"].shape == (32, 2) and not info["negatives"].requires_grad
    assert 0.0 < info["accept"] < 1.0 and isinstance(info["accept"], float)
    # PCD: uniform init on the box; reinit=1 restarts every chain at the data (7, far outside the box)
    e = GaussianEnergy([0.0], [[1.0]], box=((-2.0, 3.0),))
    data, gen = torch.full((10, 1), 7.0), torch.Generator().manual_seed(0)
    impl = make_impl("pcd", e, data, pcd.PCDParams(n_chains=500, init="uniform", reinit=1.0), "mala")
    s0 = impl.init(e, gen)
    assert s0.chains.min() >= -2.0 and s0.chains.max() <= 3.0
    _, s1, _ = impl.loss(e, data, s0, gen)
    assert (s1.age == 1).all() and float(s1.chains.mean()) > 5.0


def test_pcd_state_carries_the_chains():
    e, gen = RBM(6, 4, seed=0), torch.Generator().manual_seed(0)
    data = all_states(e.space, dtype=torch.float32)[::3]
    impl = make_impl("pcd", e, data, pcd.PCDParams(n_chains=40, k=2, init="uniform"), "gibbs", GibbsParams())
    s0 = impl.init(e, gen)
    assert isinstance(s0, pcd.PCDState) and s0.chains.shape == (40, 6) and (s0.age == 0).all()
    _, s1, info = impl.loss(e, data, s0, gen)
    assert set(info) == {"negatives", "chains", "chain_age", "accept"}
    assert info["chains"].shape == (40, 6) and (info["chain_age"] == 2).all() and info["accept"] == 1.0
    _, s2, _ = impl.loss(e, data, s1, gen)
    assert (s2.age == 4).all() and (s0.age == 0).all()  # new state each call, old one untouched
    # the state is the only carrier: the same state and generator seed give the same chains
    assert torch.equal(*(impl.loss(e, data, s1, torch.Generator().manual_seed(5))[1].chains for _ in range(2)))
    assert not any(isinstance(v, torch.Tensor) for v in vars(impl).values())
