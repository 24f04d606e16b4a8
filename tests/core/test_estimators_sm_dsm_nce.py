"""Score matching, denoising score matching and NCE against closed forms and known optima.

Statistical tolerances are derived from standard errors (4 SE): the DSM SE from the spread of the
closed-form minimiser over independent noise draws, the NCE SE from the sandwich (Godambe) covariance
H^-1 V H^-1 of the fitted objective. Optimiser-precision checks use full-batch float64 L-BFGS on a
deterministic objective (the noise generator is re-seeded at each evaluation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.errors import ConfigError
from ebmlab.core.estimators import dsm, nce, sm
from ebmlab.core.estimators.base import ESTIMATORS, EstimatorContext
from ebmlab.core.params import check

GAUSS = "0.5*(p11*(x-m1)**2 + 2*p12*(x-m1)*(y-m2) + p22*(y-m2)**2)"
GAUSS_INIT = {"p11": 1.0, "p12": 0.0, "p22": 1.0, "m1": 0.0, "m2": 0.0}
TRUE_MEAN = np.array([0.5, -1.0])
TRUE_COV = np.array([[1.0, 0.6], [0.6, 2.0]])
MIX = "-logsumexp(log(sigmoid(t)) - (x-3)**2/(2*0.25), log(1-sigmoid(t)) - (x+3)**2/(2*0.25))"
MIX_LOG_Z = 0.5 * math.log(2 * math.pi * 0.25)  # weights sum to one: Z = sqrt(2 pi 0.25)
Z4 = 4.0  # tolerance in standard errors


def gaussian_data(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.multivariate_normal(TRUE_MEAN, TRUE_COV, size=n))


def mixture_data(n: int, seed: int, w: float = 0.8) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random(n) < w, 3.0, -3.0)
    return torch.as_tensor(sign + 0.5 * rng.standard_normal(n))[:, None]


def moments(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and BIASED sample covariance (the Gaussian MLE)."""
    a = x.numpy() - x.numpy().mean(0)
    return x.numpy().mean(0), a.T @ a / a.shape[0]


def gauss_energy(**values: float) -> ExpressionEnergy:
    return ExpressionEnergy(GAUSS, params={**GAUSS_INIT, **values})


def gauss_params(e: ExpressionEnergy) -> tuple[np.ndarray, np.ndarray]:
    v = e.param_values
    return np.array([[v["p11"], v["p12"]], [v["p12"], v["p22"]]]), np.array([v["m1"], v["m2"]])


def build(name: str, energy, data: torch.Tensor, seed: int = 0, **kw):
    est = ESTIMATORS.get(name)
    impl = est.make(check(est.params_cls(**kw), "estimator"), EstimatorContext(energy.space, data))
    return impl, impl.init(energy, torch.Generator().manual_seed(seed))


def fit_lbfgs(energy, impl, batch, state, seed: int = 1, rounds: int = 3) -> list[torch.Tensor]:
    """Full-batch L-BFGS on the deterministic objective (same noise at every evaluation)."""
    params = list(energy.parameters()) + impl.extra_parameters(state)
    opt = torch.optim.LBFGS(
        params, max_iter=300, tolerance_grad=1e-12, tolerance_change=1e-16, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss, _, _ = impl.loss(energy, batch, state, torch.Generator().manual_seed(seed))
        loss.backward()
        return loss

    for _ in range(rounds):
        opt.step(closure)
    closure()
    grad_norm = max(float(p.grad.abs().max()) for p in params)
    assert grad_norm < 1e-7, f"optimiser did not converge: max |grad| = {grad_norm:.3g}"
    return params


def test_sm_loss_matches_gaussian_closed_form():
    x = gaussian_data(500, seed=0)
    P = np.array([[1.3, -0.4], [-0.4, 0.7]])
    m = np.array([0.2, -0.5])
    e = gauss_energy(p11=P[0, 0], p12=P[0, 1], p22=P[1, 1], m1=m[0], m2=m[1])
    impl, state = build("sm", e, x)
    loss, _, info = impl.loss(e, x, state, torch.Generator().manual_seed(0))
    # J = E[0.5 (x-m)^T P^2 (x-m) - tr P] = 0.5 tr(P^2 (S + (xbar-m)(xbar-m)^T)) - tr P
    xbar, S = moments(x)
    dm = (xbar - m)[:, None]
    expected = 0.5 * np.trace(P @ P @ (S + dm @ dm.T)) - np.trace(P)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert info["laplacian_term"] == pytest.approx(np.trace(P), rel=1e-12)


def test_sliced_sm_is_unbiased_within_its_standard_error():
    x = gaussian_data(2000, seed=1)
    P = np.array([[1.3, -0.4], [-0.4, 0.7]])
    e = gauss_energy(p11=P[0, 0], p12=P[0, 1], p22=P[1, 1])
    exact, _, _ = build("sm", e, x)[0].loss(e, x, None, torch.Generator().manual_seed(0))
    impl, _ = build("sm", e, x, method="sliced", n_projections=4)
    sliced, _, _ = impl.loss(e, x, None, torch.Generator().manual_seed(2))
    # sliced - exact = -mean(v^T P v - tr P), v ~ N(0, I): Var(v^T P v) = 2 tr(P^2)
    se = math.sqrt(2 * np.trace(P @ P) / (x.shape[0] * 4))
    assert abs(float(sliced.detach()) - float(exact.detach())) < Z4 * se


def test_sm_optimum_is_the_gaussian_mle():
    x = gaussian_data(2000, seed=2)
    e = gauss_energy()
    impl, state = build("sm", e, x)
    fit_lbfgs(e, impl, x, state)
    P, m = gauss_params(e)
    xbar, S = moments(x)
    np.testing.assert_allclose(P, np.linalg.inv(S), atol=1e-7)
    np.testing.assert_allclose(m, xbar, atol=1e-7)


def dsm_least_squares(x: np.ndarray, eps: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact minimiser of the antithetic DSM loss for E = 0.5 (u-m)^T P (u-m), given the noise.

    Per noisy point u = x + sigma e (e = eps or -eps): residual/sigma = P u - b - e/sigma, b = P m,
    linear in (p11, p12, p22, b1, b2) -> ordinary least squares."""
    u = np.concatenate([x + sigma * eps, x - sigma * eps])
    t = np.concatenate([eps, -eps]) / sigma
    zero, one = np.zeros(u.shape[0]), np.ones(u.shape[0])
    rows1 = np.stack([u[:, 0], u[:, 1], zero, -one, zero], 1)
    rows2 = np.stack([zero, u[:, 0], u[:, 1], zero, -one], 1)
    coef, *_ = np.linalg.lstsq(np.concatenate([rows1, rows2]), np.concatenate([t[:, 0], t[:, 1]]), rcond=None)
    P = np.array([[coef[0], coef[1]], [coef[1], coef[2]]])
    return P, np.linalg.solve(P, coef[3:])


def test_dsm_converges_to_mle_of_smoothed_data():
    sigma, reps = 0.5, 10
    x = gaussian_data(1000, seed=3)
    batch = x.repeat(reps, 1)  # several noise draws per data point in one deterministic objective
    e = gauss_energy()
    impl, state = build("dsm", e, batch, sigma=sigma)
    fit_lbfgs(e, impl, batch, state, seed=7)
    P_hat, m_hat = gauss_params(e)
    # 1) the optimiser reached the exact minimiser for this noise draw
    _, _, info = impl.loss(e, batch, state, torch.Generator().manual_seed(7))
    eps = ((info["noisy"] - batch) / sigma).numpy()
    P_ls, m_ls = dsm_least_squares(batch.numpy(), eps, sigma)
    np.testing.assert_allclose(P_hat, P_ls, atol=1e-7)
    np.testing.assert_allclose(m_hat, m_ls, atol=1e-7)
    # 2) that minimiser is the MLE of data * N(0, sigma^2 I) up to the noise-draw standard error
    xbar, S = moments(x)
    P_target = np.linalg.inv(S + sigma**2 * np.eye(2))
    rng = np.random.default_rng(11)
    draws = [dsm_least_squares(batch.numpy(), rng.standard_normal(batch.shape), sigma) for _ in range(100)]
    Ps = np.stack([d[0] for d in draws])
    sd_P = Ps.std(0, ddof=1)
    assert np.all(np.abs(P_hat - P_target) < Z4 * sd_P)
    # with antithetic pairs the noisy points average exactly to xbar, so m_hat = xbar for ANY draw
    np.testing.assert_allclose(m_hat, xbar, atol=1e-7)
    assert np.all(np.abs(Ps.mean(0) - P_target) < Z4 * sd_P / math.sqrt(len(draws)))
    # and it is NOT the MLE of the raw data (the smoothing is resolved by this test)
    assert np.abs(P_hat - np.linalg.inv(S)).max() > 10 * sd_P.max()


def test_dsm_antithetic_pairs_reduce_gradient_variance():
    """The parameter gradient's leading term -sigma eps^T d/dtheta grad E(x) is odd in eps, zero-mean and
    O(sigma), while the signal is O(sigma^2): eps/-eps pairs cancel it, so Var drops by ~sigma^-2 = 100."""
    x = gaussian_data(200, seed=4)
    e = gauss_energy(p11=0.9, p12=-0.2, p22=0.5, m1=0.5, m2=-1.0)
    params = list(e.parameters())
    var = {}
    for anti in (True, False):
        impl, _ = build("dsm", e, x, sigma=0.1, antithetic=anti)
        grads = []
        for s in range(40):
            loss = impl.loss(e, x, None, torch.Generator().manual_seed(s))[0]
            grads.append(torch.stack(torch.autograd.grad(loss, params)).numpy())
        var[anti] = np.var(np.array(grads), axis=0, ddof=1).sum()
    # 40 draws estimate a variance to ~25%: a factor 10 leaves a wide margin below the expected ~100
    assert var[True] < 0.1 * var[False]


def per_sample_jacobian(values: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """d values_i / d params_k, (n, p), by differentiating J^T u with respect to u (p backward passes)."""
    u = torch.ones_like(values, requires_grad=True)
    jtu = torch.autograd.grad(values, params, grad_outputs=u, create_graph=True)
    cols = [torch.autograd.grad(g, u, retain_graph=True)[0] for g in jtu]
    return torch.stack(cols, 1).detach()


def nce_sandwich(energy, impl, batch, state, seed: int, params: list[torch.Tensor]) -> torch.Tensor:
    """Sandwich covariance H^-1 V H^-1 of the NCE estimate of `params` (data and noise both random)."""
    n = batch.shape[0]
    m = max(1, round(impl.params.nu * n))
    log_nu = math.log(m / n)
    gen = torch.Generator().manual_seed(seed)
    y = state.noise.sample(m, gen)  # the loss's own noise draw (its first use of gen)
    loss, _, info = impl.loss(energy, batch, state, torch.Generator().manual_seed(seed))
    assert torch.equal(info["noise"], y[: info["noise"].shape[0]])
    g_x = nce.log_ratio(energy, batch, state.c, state.noise, log_nu)
    g_y = nce.log_ratio(energy, y, state.c, state.noise, log_nu)
    psi_x = -torch.sigmoid(-g_x.detach())[:, None] * per_sample_jacobian(g_x, params)
    psi_y = torch.sigmoid(g_y.detach())[:, None] * per_sample_jacobian(g_y, params)
    V = torch.cov(psi_x.T) / n + m * torch.cov(psi_y.T) / n**2
    grads = torch.autograd.grad(loss, params, create_graph=True)
    H = torch.stack([torch.stack(torch.autograd.grad(g, params, retain_graph=True)) for g in grads])
    Hinv = torch.linalg.inv(H.detach())
    return Hinv @ V @ Hinv.T


def test_nce_recovers_gaussian_mle_and_log_z():
    x = gaussian_data(2000, seed=5)
    e = gauss_energy()
    impl, state = build("nce", e, x, noise="fitted_gaussian", fit_scale=1.5, nu=4.0)
    assert impl.extra_parameters(state) == [state.c]
    params = fit_lbfgs(e, impl, x, state, seed=9)
    cov = nce_sandwich(e, impl, x, state, 9, params)
    se = cov.diagonal().sqrt().numpy()
    P_hat, m_hat = gauss_params(e)
    xbar, S = moments(x)
    P_mle = np.linalg.inv(S)
    # Var(NCE - MLE) = Var(NCE) - Var(MLE) <= Var(NCE): the NCE SE bounds the distance to the MLE
    est = np.array([P_hat[0, 0], P_hat[0, 1], P_hat[1, 1], m_hat[0], m_hat[1]])
    mle = np.array([P_mle[0, 0], P_mle[0, 1], P_mle[1, 1], xbar[0], xbar[1]])
    assert np.all(np.abs(est - mle) < Z4 * se[:5]), (est, mle, se)
    # c estimates log Z(theta_hat) = 0.5 d log 2 pi - 0.5 log det P (delta method for the SE)
    p11, p12, p22, c = params[0], params[1], params[2], params[5]
    h = c - (math.log(2 * math.pi) - 0.5 * torch.log(p11 * p22 - p12**2))
    dh = torch.stack(torch.autograd.grad(h, params, allow_unused=True, materialize_grads=True))
    se_h = float(torch.sqrt(dh @ cov @ dh))
    assert abs(float(h.detach())) < Z4 * se_h, (float(h.detach()), se_h)
    _, _, info = impl.loss(e, x, state, torch.Generator().manual_seed(0))
    assert info["c"] == pytest.approx(float(c.detach()))
    assert info["noise"].shape == (nce.N_INFO_NOISE, 2)


def mixture_energy(t: float = 0.0) -> ExpressionEnergy:
    return ExpressionEnergy(MIX, params={"t": t}, box=((-6.0, 6.0),))


def test_nce_recovers_mixture_weight_and_log_z():
    x = mixture_data(2000, seed=6)
    e = mixture_energy()
    impl, state = build("nce", e, x, noise="uniform_box", nu=4.0)
    params = fit_lbfgs(e, impl, x, state, seed=3)
    cov = nce_sandwich(e, impl, x, state, 3, params)
    t, c = float(params[0].detach()), float(params[1].detach())
    w = 1 / (1 + math.exp(-t))
    se_w = w * (1 - w) * math.sqrt(float(cov[0, 0]))  # delta method, dw/dt = w (1 - w)
    se_c = math.sqrt(float(cov[1, 1]))
    assert abs(w - 0.8) < Z4 * se_w, (w, se_w)
    assert abs(c - MIX_LOG_Z) < Z4 * se_c, (c, se_c)


def test_sm_is_blind_to_weights_of_separated_modes():
    """Known property: on modes 12 sd apart the score inside each mode does not depend on t."""
    x = mixture_data(2000, seed=6)
    e = mixture_energy(t=0.0)
    impl, state = build("sm", e, x)
    (t,) = list(e.parameters())
    loss, _, _ = impl.loss(e, x, state, torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad(loss, [t])
    assert abs(float(g)) < 1e-8
    opt = torch.optim.Adam([t], lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        impl.loss(e, x, state, torch.Generator().manual_seed(0))[0].backward()
        opt.step()
    assert abs(float(t.detach())) < 1e-3  # still w = 0.5, whereas the data say 0.8 (NCE finds it, above)


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (dsm.DSMParams, {"sigma": 0.0}, "estimator.sigma: must be > 0, got 0.0"),
        (dsm.DSMParams, {"sigma": -1.0}, "estimator.sigma: must be > 0, got -1.0"),
        (nce.NCEParams, {"nu": 0.0}, "estimator.nu: must be > 0, got 0.0"),
        (nce.NCEParams, {"nu": -2.0}, "estimator.nu: must be > 0, got -2.0"),
        (nce.NCEParams, {"noise_scale": -1.0}, "estimator.noise_scale: must be > 0, got -1.0"),
        (nce.NCEParams, {"fit_scale": 0.0}, "estimator.fit_scale: must be > 0, got 0.0"),
        (nce.NCEParams, {"noise": "laplace"}, "estimator.noise: must be one of"),
        (sm.SMParams, {"method": "hutch"}, "estimator.method: must be one of 'exact', 'sliced'"),
        (sm.SMParams, {"n_projections": 0}, "estimator.n_projections: must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused(cls, kwargs, message):
    with pytest.raises(ConfigError) as err:
        check(cls(**kwargs), "estimator")
    assert message in str(err.value)


def test_nce_noise_mean_must_match_dimension_and_registration():
    x = gaussian_data(10, seed=0)
    with pytest.raises(ConfigError, match="estimator.noise_mean: must have 2 entries"):
        build("nce", gauss_energy(), x, noise="gaussian", noise_mean=[0.0, 0.0, 0.0])
    assert all(ESTIMATORS.get(name).spaces == ("continuous",) for name in ("sm", "dsm", "nce"))
