"""Exact log Z (quadrature, enumeration) against closed forms and independent computations.

Tolerances: the midpoint rule on a smooth integrand that is negligible at the box edge converges
exponentially fast (the measured error at these grid sizes is ~1e-15), so the error is bounded by
the mass the box cuts off (computed per case below) plus float64 rounding of a few 1e-12.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import erf, erfc, gamma

from ebmlab.core.energies.base import FunctionEnergy
from ebmlab.core.energies.gaussian import GaussianEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.energies.mixture import GaussianMixtureEnergy
from ebmlab.core.energies.rbm import RBM
from ebmlab.core.errors import EbmlabError, NotNormalisableError
from ebmlab.core.grid import make_grid
from ebmlab.core.partition.exact import (
    all_states,
    exact_log_z,
    grid_log_density,
    log_z_enumerate,
    log_z_quadrature,
    state_log_probs,
)
from ebmlab.core.space import BinarySpace, ContinuousSpace

ROUND = 1e-11  # float64 rounding in a logsumexp over <= 1e6 terms, with margin


def tail_mass(dist_in_sd: float) -> float:
    """P(|z| > t) for z ~ N(0, 1)."""
    return float(erfc(dist_in_sd / math.sqrt(2)))


def func(fn, dim: int, lo: float, hi: float) -> FunctionEnergy:
    return FunctionEnergy(fn, ContinuousSpace.square(dim, lo, hi))


# ---- quadrature vs closed forms --------------------------------------------------------------


def test_gaussian_1d():
    sd = math.sqrt(2.5)
    g = GaussianEnergy([0.7], [[2.5]], box=((0.7 - 9 * sd, 0.7 + 9 * sd),), dtype=torch.float64)
    r = log_z_quadrature(g)
    assert r.method == "quadrature" and r.n_points == 4096 and r.warning is None
    assert r.log_z == pytest.approx(0.5 * math.log(2 * math.pi * 2.5), abs=tail_mass(9) + ROUND)
    assert r.log_z == pytest.approx(g.log_z_closed_form(), abs=tail_mass(9) + ROUND)


def test_gaussian_2d_full_covariance():
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    sd = np.sqrt(np.diag(cov))
    box = tuple((m - 9 * s, m + 9 * s) for m, s in zip([0.3, -0.2], sd))
    g = GaussianEnergy([0.3, -0.2], cov, box=box, dtype=torch.float64)
    r = log_z_quadrature(g, n=256)
    # the mass outside the box is at most the sum of the marginal tails (9 sd each)
    assert r.log_z == pytest.approx(g.log_z_closed_form(), abs=2 * tail_mass(9) + ROUND)
    exact = math.log(2 * math.pi) + 0.5 * math.log(np.linalg.det(cov))
    assert r.log_z == pytest.approx(exact, abs=2 * tail_mass(9) + ROUND)
    assert r.warning is None and r.edge_fraction < 1e-12


def test_ring():
    ring = func(lambda x: 0.1 * ((x**2).sum(-1) - 1) ** 2, 2, -5, 5)
    exact = math.log((math.pi / 2) * math.sqrt(math.pi / 0.1) * (1 + erf(math.sqrt(0.1))))
    assert exact == pytest.approx(2.471842, abs=1e-6)
    r = log_z_quadrature(ring)
    # E >= 0.1 * 24^2 = 57.6 on the box boundary: the cut-off mass is below e^-57
    assert r.log_z == pytest.approx(exact, abs=ROUND)
    assert r.n_points == 512 * 512 and r.warning is None


def test_quartic_1d():
    q = func(lambda x: x[:, 0] ** 4, 1, -4, 4)
    r = log_z_quadrature(q)
    assert r.log_z == pytest.approx(math.log(2 * gamma(1.25)), abs=ROUND)  # cut-off mass < e^-256


def test_product_of_gaussians_3d():
    s = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    e = FunctionEnergy(
        lambda x: 0.5 * ((x / s.to(x.dtype)) ** 2).sum(-1),
        ContinuousSpace(3, tuple((-9 * float(v), 9 * float(v)) for v in s)),
    )
    r = log_z_quadrature(e)
    assert r.n_points == 96**3
    exact = float(0.5 * torch.log(2 * math.pi * s**2).sum())
    assert r.log_z == pytest.approx(exact, abs=3 * tail_mass(9) + ROUND)


def test_mixture_is_normalised():
    mix = GaussianMixtureEnergy(
        [[-2.0, 0.0], [1.0, 1.5], [1.5, -1.0]],
        covariances=[[[1.0, 0.5], [0.5, 1.0]], [[0.3, 0.0], [0.0, 0.6]], [[0.5, -0.2], [-0.2, 0.4]]],
        weights=[0.2, 0.5, 0.3],
        box=((-12.0, 10.0), (-10.0, 10.0)),  # >= 9 sd from every mean on every axis
    ).double()
    r = exact_log_z(mix)
    assert r.log_z == pytest.approx(0.0, abs=2 * tail_mass(9) + ROUND)
    assert exact_log_z(mix, method="closed_form").log_z == 0.0


def test_grid_log_density_is_normalised():
    g = GaussianEnergy([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], box=((-8, 8), (-8, 8)))
    grid = make_grid(g.space, 64)
    lp = grid_log_density(g, grid)
    assert lp.shape == (64, 64) and lp.dtype == np.float64
    assert float(np.exp(lp).sum() * grid.cell_volume) == pytest.approx(1.0, abs=1e-12)


# ---- warnings and errors ---------------------------------------------------------------------


def test_edge_warning_fires_on_a_small_box_only():
    narrow = log_z_quadrature(func(lambda x: 0.5 * (x**2).sum(-1), 2, -1.5, 1.5), n=128)
    assert narrow.edge_fraction > 1e-4
    assert narrow.warning is not None and "box edge" in narrow.warning and "widen the box" in narrow.warning
    wide = log_z_quadrature(func(lambda x: 0.5 * (x**2).sum(-1), 2, -8, 8), n=128)
    assert wide.warning is None and wide.edge_fraction < 1e-10


def test_nan_energy_raises():
    e = func(lambda x: torch.sqrt(x[:, 0]) + x[:, 1] ** 2, 2, -2, 2)
    with pytest.raises(NotNormalisableError, match=r"NaN at 2048 grid points, e\.g\. at \("):
        log_z_quadrature(e, n=64)


def test_minus_inf_energy_raises():
    e = func(lambda x: torch.where(x[:, 0] > 1, -math.inf, x[:, 0] ** 2), 1, -3, 3)
    with pytest.raises(NotNormalisableError, match="-inf"):
        log_z_quadrature(e)


def test_unbounded_below_energy_on_a_box_is_finite_but_warned():
    """-x^2 is not normalisable on R, but on (-30, 30) it is: log Z ~ 900 + log(2 D(30)) ~ 896.6
    (D = Dawson's function). We return that finite number, with a warning that the mass sits at the
    box edge, rather than raising: the box is the domain the lab integrates over."""
    r = log_z_quadrature(func(lambda x: -(x[:, 0] ** 2), 1, -30, 30))
    assert math.isfinite(r.log_z) and 890 < r.log_z < 900
    assert r.edge_fraction > 0.5 and r.warning is not None and "most of the mass" in r.warning


def test_zero_density_everywhere_raises():
    with pytest.raises(NotNormalisableError, match=r"\+inf"):
        log_z_quadrature(func(lambda x: torch.full_like(x[:, 0], math.inf), 1, -1, 1), n=16)


def test_dimension_limits():
    e4 = func(lambda x: (x**2).sum(-1), 4, -1, 1)
    with pytest.raises(EbmlabError, match="1-3 dimensions.*use AIS"):
        log_z_quadrature(e4)
    with pytest.raises(EbmlabError, match="limited to 24 binary units"):
        log_z_enumerate(BoltzmannMachine.zeros(25))
    with pytest.raises(TypeError):
        log_z_quadrature(BoltzmannMachine.zeros(3))


def test_box_override():
    e = func(lambda x: 0.5 * x[:, 0] ** 2, 1, -1, 1)
    r = log_z_quadrature(e, box=((-10.0, 10.0),))
    assert r.log_z == pytest.approx(0.5 * math.log(2 * math.pi), abs=ROUND) and r.warning is None


# ---- enumeration -----------------------------------------------------------------------------


def test_all_states_order_and_values():
    s01 = all_states(BinarySpace(3, "01"))
    assert s01.tolist() == [list(map(float, p)) for p in itertools.product([0, 1], repeat=3)]
    spm = all_states(BinarySpace(3, "pm1"))
    assert spm.tolist() == [list(map(float, p)) for p in itertools.product([-1, 1], repeat=3)]
    assert torch.equal(all_states(BinarySpace(3), 2, 5), s01[2:5])


def _transfer_matrix_log_z(J: float, h: np.ndarray, vals: tuple[float, float]) -> float:
    """2 x 3 open lattice, unit (r, c) = h[r * 3 + c]. Column states (s_top, s_bottom);
    Z = sum over 3 columns of prod D_c(s) * prod T(s, s') with within-column weight
    D_c(s) = exp(J s_top s_bot + h_top s_top + h_bot s_bot) and T = exp(J (s_top s'_top + s_bot s'_bot))."""
    cols = list(itertools.product(vals, repeat=2))
    T = np.array([[math.exp(J * (a[0] * b[0] + a[1] * b[1])) for b in cols] for a in cols])

    def D(c: int) -> np.ndarray:
        return np.diag([math.exp(J * s[0] * s[1] + h[c] * s[0] + h[3 + c] * s[1]) for s in cols])

    one = np.ones(4)
    return math.log(one @ D(0) @ T @ D(1) @ T @ D(2) @ one)


@pytest.mark.parametrize("spins", ["01", "pm1"])
def test_ising_2x3_vs_transfer_matrix(spins):
    h = np.array([0.3, -0.2, 0.1, 0.5, -0.4, 0.0])
    bm = BoltzmannMachine.ising_lattice(2, 3, J=0.7, h=torch.tensor(h), spins=spins, dtype=torch.float64)
    vals = BinarySpace(6, spins).values
    r = log_z_enumerate(bm)
    assert r.method == "enumeration" and r.n_points == 64 and r.edge_fraction == 0.0
    assert r.log_z == pytest.approx(_transfer_matrix_log_z(0.7, h, vals), abs=1e-12)
    # antiferromagnetic, too
    bm_af = BoltzmannMachine.ising_lattice(2, 3, J=-0.9, h=torch.tensor(h), spins=spins, dtype=torch.float64)
    assert log_z_enumerate(bm_af).log_z == pytest.approx(_transfer_matrix_log_z(-0.9, h, vals), abs=1e-12)


@pytest.mark.parametrize("spins", ["01", "pm1"])
def test_periodic_3x3_vs_hand_loop(spins):
    J, h = 0.4, 0.15
    bm = BoltzmannMachine.ising_lattice(3, 3, J=J, h=h, periodic=True, spins=spins, dtype=torch.float64)
    bonds = set()
    for r, c in itertools.product(range(3), range(3)):
        i = 3 * r + c
        bonds |= {tuple(sorted((i, 3 * r + (c + 1) % 3))), tuple(sorted((i, 3 * ((r + 1) % 3) + c)))}
    assert len(bonds) == 18
    z = 0.0
    for s in itertools.product(BinarySpace(9, spins).values, repeat=9):
        z += math.exp(J * sum(s[i] * s[j] for i, j in bonds) + h * sum(s))
    assert exact_log_z(bm).log_z == pytest.approx(math.log(z), abs=1e-12)


def test_rbm_enumeration_vs_sum_over_hidden_states():
    rbm = RBM(5, 3, seed=4, scale=1.0).double()
    with torch.no_grad():
        rbm.b.copy_(torch.linspace(-1, 1, 5))
        rbm.c.copy_(torch.tensor([0.5, -0.5, 0.2]))
    W, b, c = (t.detach().numpy() for t in (rbm.W, rbm.b, rbm.c))
    z = 0.0
    for v in itertools.product([0.0, 1.0], repeat=5):
        for hh in itertools.product([0.0, 1.0], repeat=3):
            v_, h_ = np.array(v), np.array(hh)
            z += math.exp(v_ @ b + h_ @ c + v_ @ W @ h_)
    assert log_z_enumerate(rbm, chunk=7).log_z == pytest.approx(math.log(z), abs=1e-12)


def test_state_log_probs():
    bm = BoltzmannMachine.all_to_all(6, scale=0.8, seed=3, spins="01", bias_scale=0.5).double()
    lp = state_log_probs(bm)
    assert lp.shape == (64,) and float(np.exp(lp).sum()) == pytest.approx(1.0, abs=1e-13)
    x = all_states(bm.space)
    expected = -bm(x).detach().numpy() - log_z_enumerate(bm).log_z
    np.testing.assert_allclose(lp, expected, atol=1e-12)
    assert np.allclose(state_log_probs(BoltzmannMachine.zeros(4)), -4 * math.log(2))


def test_exact_log_z_dispatch():
    assert exact_log_z(BoltzmannMachine.zeros(5)).log_z == pytest.approx(5 * math.log(2), abs=1e-14)
    assert exact_log_z(func(lambda x: 0.5 * x[:, 0] ** 2, 1, -9, 9)).method == "quadrature"
    g = GaussianEnergy([0.0], [[4.0]])
    cf = exact_log_z(g, method="closed_form")
    assert cf.method == "closed_form" and cf.log_z == pytest.approx(0.5 * math.log(8 * math.pi), rel=1e-6)
    with pytest.raises(EbmlabError, match="no closed-form"):
        exact_log_z(BoltzmannMachine.zeros(2), method="closed_form")
