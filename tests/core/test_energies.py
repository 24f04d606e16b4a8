"""Energy models: shapes, dtypes, seeding, analytic gradients vs autograd, spin conventions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ebmlab.core.energies.base import Energy
from ebmlab.core.energies.gaussian import GaussianEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.energies.mixture import GaussianMixtureEnergy
from ebmlab.core.energies.mlp import ACTIVATIONS, MLPEnergy
from ebmlab.core.energies.rbm import RBM
from ebmlab.core.space import BinarySpace, ContinuousSpace


def autograd_grad(energy: Energy, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return Energy.energy_and_grad(energy, x)


def rand(*shape, seed=0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- MLP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_mlp_shapes_and_dtypes(activation):
    m = MLPEnergy(2, width=16, depth=3, activation=activation, seed=1)
    assert m.space == ContinuousSpace.square(2, -3, 3)
    x = rand(7, 2)
    e64, e32 = m(x), m(x.float())
    assert e64.shape == (7,) and e64.dtype == torch.float64 and e32.dtype == torch.float32
    np.testing.assert_allclose(e32.detach().numpy(), e64.detach().numpy(), rtol=1e-4, atol=1e-5)
    e, g = m.energy_and_grad(x)
    assert g.shape == (7, 2) and not e.requires_grad and not g.requires_grad


def test_mlp_seeding_is_explicit_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b, c = MLPEnergy(2, seed=3), MLPEnergy(2, seed=3), MLPEnergy(2, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    x = rand(5, 2)
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    g = torch.Generator().manual_seed(3)
    assert torch.equal(MLPEnergy(2, seed=g)(x), a(x))


def test_mlp_confinement_adds_quadratic():
    x = rand(4, 3)
    plain, conf = MLPEnergy(3, seed=0), MLPEnergy(3, seed=0, confine=0.5)
    torch.testing.assert_close(conf(x) - plain(x), 0.5 * (x**2).sum(-1))
    with pytest.raises(ValueError, match="activation"):
        MLPEnergy(2, activation="sigmoid")


# ---- Gaussian --------------------------------------------------------------------------------


def test_gaussian_energy_and_analytic_gradient():
    mean = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    A = rand(3, 3, seed=2)
    cov = A @ A.T + 0.5 * torch.eye(3, dtype=torch.float64)
    g = GaussianEnergy(mean, cov, dtype=torch.float64)
    x = rand(6, 3, seed=3)
    P = torch.linalg.inv(cov)
    d = x - mean
    torch.testing.assert_close(g(x), 0.5 * torch.einsum("bi,ij,bj->b", d, P, d))
    e, grad = g.energy_and_grad(x)
    ea, ga = autograd_grad(g, x)
    torch.testing.assert_close(e, ea)
    torch.testing.assert_close(grad, ga)
    torch.testing.assert_close(g.covariance(), cov)
    expected = 0.5 * 3 * math.log(2 * math.pi) + 0.5 * float(torch.logdet(cov))
    assert g.log_z_closed_form() == pytest.approx(expected, abs=1e-12)
    g32 = GaussianEnergy(mean, cov)  # float32 storage: float32 rounding (~1e-7 relative)
    assert g32.mean.dtype == torch.float32 and g32(x).dtype == torch.float64
    assert g32.log_z_closed_form() == pytest.approx(expected, rel=1e-6)


def test_gaussian_rejects_bad_covariance():
    with pytest.raises(ValueError, match="positive definite"):
        GaussianEnergy([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])


def test_gaussian_precision_is_positive_definite_for_any_parameters():
    g = GaussianEnergy([0.0, 0.0, 0.0], torch.eye(3))
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        with torch.no_grad():
            for p in g.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 2)
        assert bool((torch.linalg.eigvalsh(g.precision(torch.float64)) > 0).all())


# ---- Mixture ---------------------------------------------------------------------------------


def test_mixture_matches_explicit_density():
    means = torch.tensor([[-1.0, 0.0], [1.5, 1.0]], dtype=torch.float64)
    covs = torch.tensor([[[1.0, 0.4], [0.4, 0.5]], [[0.3, 0.0], [0.0, 2.0]]], dtype=torch.float64)
    w = torch.tensor([0.3, 0.7], dtype=torch.float64)
    mix = GaussianMixtureEnergy(means, covariances=covs, weights=w).double()
    x = rand(5, 2)
    dens = sum(w[k] * torch.distributions.MultivariateNormal(means[k], covs[k]).log_prob(x).exp() for k in range(2))
    torch.testing.assert_close(mix(x), -torch.log(dens))
    torch.testing.assert_close(mix.weights(), w)
    torch.testing.assert_close(mix.covariances(), covs)
    torch.testing.assert_close(mix.responsibilities(x).sum(-1), torch.ones(5, dtype=torch.float64))
    ea, ga = autograd_grad(mix, x)
    assert ga.shape == (5, 2) and torch.isfinite(ga).all()


def test_mixture_isotropic_scales_and_sampling():
    mix = GaussianMixtureEnergy([[0.0], [4.0]], scales=[0.5, 1.0], weights=[0.25, 0.75])
    torch.testing.assert_close(mix.covariances()[:, 0, 0], torch.tensor([0.25, 1.0], dtype=torch.float64))
    n = 40000
    x = mix.sample(n, torch.Generator().manual_seed(0))
    # mean 3.0, var = sum w (s^2 + m^2) - 9 = 0.25*0.25 + 0.75*17 - 9 = 3.8125; 5 standard errors
    assert float(x.mean()) == pytest.approx(3.0, abs=5 * math.sqrt(3.8125 / n))


# ---- Boltzmann machine -----------------------------------------------------------------------


@pytest.mark.parametrize("spins", ["01", "pm1"])
def test_boltzmann_energy_gradient_and_symmetry(spins):
    bm = BoltzmannMachine.all_to_all(5, scale=0.7, seed=1, spins=spins, bias_scale=0.5).double()
    W, b = bm.coupling(), bm.bias()
    assert torch.equal(W, W.T) and torch.all(torch.diagonal(W) == 0)
    off, on = bm.space.values
    x = torch.where(torch.rand(8, 5, generator=torch.Generator().manual_seed(2)) < 0.5, on, off).double()
    pairs = sum(W[i, j] * x[:, i] * x[:, j] for i in range(5) for j in range(i + 1, 5))
    torch.testing.assert_close(bm(x), -pairs - x @ b)
    e, g = bm.energy_and_grad(x)
    ea, ga = autograd_grad(bm, x)
    torch.testing.assert_close(e, ea)
    torch.testing.assert_close(g, ga)
    torch.testing.assert_close(g, -bm.local_field(x))


@pytest.mark.parametrize("spins", ["01", "pm1"])
def test_boltzmann_conditional_matches_energy_ratio(spins):
    bm = BoltzmannMachine.all_to_all(4, scale=1.0, seed=5, spins=spins, bias_scale=1.0).double()
    off, on = bm.space.values
    x = torch.tensor([[on, off, on, on]], dtype=torch.float64)
    p = bm.conditional_on_prob(x)[0]
    for i in range(4):
        xon, xoff = x.clone(), x.clone()
        xon[0, i], xoff[0, i] = on, off
        expected = torch.sigmoid(bm(xoff) - bm(xon))[0]
        assert float(p[i].detach()) == pytest.approx(float(expected.detach()), abs=1e-12)


def test_boltzmann_stays_symmetric_under_training():
    bm = BoltzmannMachine.zeros(4)
    opt = torch.optim.SGD(bm.parameters(), lr=0.5)
    x = torch.tensor([[1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, 1.0]])
    bm(x).sum().backward()
    opt.step()
    W = bm.coupling()
    assert torch.equal(W, W.T) and torch.all(torch.diagonal(W) == 0) and W.abs().sum() > 0


def test_ising_lattice_couplings():
    bm = BoltzmannMachine.ising_lattice(2, 3, J=0.5, h=0.1)
    W = bm.coupling()
    edges = {(i, j) for i in range(6) for j in range(i + 1, 6) if W[i, j] != 0}
    assert edges == {(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)}
    assert bm.space == BinarySpace(6, "pm1") and torch.allclose(bm.bias(), torch.full((6,), 0.1))
    per = BoltzmannMachine.ising_lattice(3, 3, periodic=True).coupling()
    assert torch.all(per.sum(1) == 4)  # every site has 4 neighbours on a 3x3 torus
    per23 = BoltzmannMachine.ising_lattice(2, 3, periodic=True).coupling()
    assert per23[0, 2] == 1 and per23[0, 3] == 1 and torch.all(per23.sum(1) == 3)
    with pytest.raises(ValueError, match="symmetric"):
        BoltzmannMachine([[0.0, 1.0], [0.0, 0.0]])


# ---- RBM -------------------------------------------------------------------------------------


def test_rbm_free_energy_matches_sum_over_hiddens():
    rbm = RBM(4, 3, seed=2, scale=1.0).double()
    with torch.no_grad():
        rbm.b.copy_(rand(4, seed=5))
        rbm.c.copy_(rand(3, seed=6))
    v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)
    hs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=torch.float64)
    joint = torch.stack([rbm.joint_energy(v, h.expand(16, 3)) for h in hs], 1)  # (16, 8)
    torch.testing.assert_close(rbm(v), -torch.logsumexp(-joint, 1))
    e, g = rbm.energy_and_grad(v)
    ea, ga = autograd_grad(rbm, v)
    torch.testing.assert_close(e, ea)
    torch.testing.assert_close(g, ga)


def test_rbm_conditionals_and_seed():
    rbm = RBM(5, 2, seed=0, scale=1.0).double()
    assert torch.equal(RBM(5, 2, seed=0).W, RBM(5, 2, seed=0).W)
    v = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    h = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    # p(h_0=1 | v) from the joint energy
    h1, h0 = torch.tensor([[1.0, 0.0]]).double(), torch.tensor([[0.0, 0.0]]).double()
    p = torch.sigmoid(rbm.joint_energy(v, h0) - rbm.joint_energy(v, h1))
    torch.testing.assert_close(rbm.hidden_prob(v)[:, 0], p)
    torch.testing.assert_close(rbm.visible_prob(h), torch.sigmoid(rbm.b + h @ rbm.W.T))
    s = rbm.sample_hidden(v.expand(100, 5), torch.Generator().manual_seed(0))
    assert s.shape == (100, 2) and set(s.unique().tolist()) <= {0.0, 1.0}
    assert rbm.space == BinarySpace(5, "01")
