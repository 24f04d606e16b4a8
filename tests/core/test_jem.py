"""ClassifierEnergy (E = -logsumexp of the logits) and the JEM estimator (cross-entropy + alpha * PCD)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ebmlab.core.data import make_toy
from ebmlab.core.energies.classifier import ClassifierEnergy
from ebmlab.core.energies.mlp import MLPEnergy
from ebmlab.core.errors import EbmlabError
from ebmlab.core.estimators import ESTIMATORS, EstimatorContext
from ebmlab.core.estimators.cd import run_kernel
from ebmlab.core.estimators.jem import JEMParams
from ebmlab.core.models import MODEL_KINDS, ClassifierModel, build_model
from ebmlab.core.samplers import SAMPLERS

F64 = torch.float64


def energy(confine=0.0, classes=3, dtype=F64, seed=0):
    return ClassifierEnergy(2, classes, width=16, depth=2, activation="silu", seed=seed, confine=confine, dtype=dtype)


def points(n=50, seed=1, dtype=F64):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 1.5


@pytest.mark.parametrize("confine", [0.0, 0.1])
def test_energy_is_minus_logsumexp_of_the_logits(confine):
    e = energy(confine)
    x = points()
    f = e.logits(x)
    assert f.shape == (50, 3)
    # independent oracle: numpy float64 log(sum(exp)) with the max subtracted
    fn = f.detach().numpy()
    m = fn.max(axis=1)
    lse = m + np.log(np.exp(fn - m[:, None]).sum(axis=1))
    want = -lse + confine * (x.numpy() ** 2).sum(axis=1)
    np.testing.assert_allclose(e(x).detach().numpy(), want, rtol=1e-13, atol=1e-13)
    assert torch.equal(e(x), -torch.logsumexp(f, dim=-1) + (confine * (x * x).sum(-1) if confine else 0.0))


@pytest.mark.parametrize("confine", [0.0, 0.1])
def test_gradient_matches_softmax_weighted_jacobian_and_finite_differences(confine):
    e = energy(confine)
    x = points(8)
    _, g = e.energy_and_grad(x)
    # analytic: dE/dx = -sum_y p(y|x) df_y/dx + 2 confine x, with the Jacobian of the logits from autograd
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda z: e.logits(z[None])[0], x[i])  # (K, d)
        p = e.class_probs(x[i : i + 1])[0].detach()
        want = -(p[:, None] * jac).sum(0) + 2 * confine * x[i]
        torch.testing.assert_close(g[i], want, rtol=1e-10, atol=1e-12)
    # central differences, h = 1e-5: truncation error O(h^2) ~ 1e-10, rounding ~ 1e-16 / 1e-5 = 1e-11
    h = 1e-5
    for j in range(2):
        dx = torch.zeros(2, dtype=F64)
        dx[j] = h
        fd = (e(x + dx) - e(x - dx)).detach() / (2 * h)
        torch.testing.assert_close(g[:, j], fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_class_probs_are_a_softmax_that_sums_to_one(dtype):
    e = energy(confine=0.05, dtype=F64)
    x = points(dtype=dtype)
    p = e.class_probs(x)
    assert p.dtype == dtype and e(x).dtype == dtype and e.logits(x).dtype == dtype
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    torch.testing.assert_close(p.sum(-1), torch.ones(50, dtype=dtype), rtol=0, atol=tol)
    assert bool((p > 0).all())
    # p(y|x) = exp(f_y(x)) / sum_y' exp(f_y'(x)) = exp(f_y(x) + E(x) - confine |x|^2)
    e_no_wall = e(x) - 0.05 * (x * x).sum(-1)
    torch.testing.assert_close(p, torch.exp(e.logits(x) + e_no_wall[:, None]), rtol=10 * tol, atol=10 * tol)


def test_seeded_init_never_touches_the_global_rng():
    before = torch.random.get_rng_state()
    a, b, c = energy(seed=4), energy(seed=4), energy(seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.weights[0], c.weights[0])
    with pytest.raises(ValueError, match="at least 2 classes"):
        ClassifierEnergy(2, 1)


def test_classifier_model_kind_is_registered():
    kind = MODEL_KINDS.get("classifier")
    assert kind.params_cls is ClassifierModel
    e = build_model("classifier", ClassifierModel(classes=5, width=8, depth=1, confine=0.01), seed=3)
    assert isinstance(e, ClassifierEnergy) and e.classes == 5 and e.confine == 0.01
    assert all(p.dtype == F64 for p in e.parameters())
    assert e.space.box == ((-3.0, 3.0), (-3.0, 3.0))
    assert ESTIMATORS.get("jem").params_cls is JEMParams


# ----------------------------------------------------------------- the estimator
def labelled(n=400, seed=0):
    x, y = make_toy("two_moons", n, seed)
    return torch.as_tensor(x), torch.as_tensor(y)


def impl(data, labels, **kw):
    mala = SAMPLERS.get("mala")
    ctx = EstimatorContext(e_space(), data, mala, mala.params_cls(step_size=0.02), labels)
    return ESTIMATORS.get("jem").make(JEMParams(**kw), ctx)


def e_space():
    return energy(classes=2).space


def test_alpha_zero_is_exactly_the_cross_entropy_and_its_gradient():
    data, labels = labelled()
    e = energy(classes=2)
    est = impl(data, labels, alpha=0.0, n_chains=32, k=2)
    gen = torch.Generator().manual_seed(0)
    state = est.init(e, gen)
    batch, yb = data[:64], labels[:64]
    loss, state, info = est.loss_labelled(e, batch, yb, state, gen)
    want = F.cross_entropy(e.logits(batch), yb)
    assert torch.equal(loss, want)
    g_loss = torch.autograd.grad(loss, list(e.parameters()))
    g_want = torch.autograd.grad(want, list(e.parameters()))
    for a, b in zip(g_loss, g_want):
        assert torch.equal(a, b)
    acc = float((e.logits(batch).argmax(-1) == yb).double().mean())
    assert info["accuracy"] == acc and isinstance(info["accuracy"], float)
    assert info["cross_entropy"] == float(want.detach())
    # the chains still move at alpha = 0 (the window shows the untrained density's samples)
    assert info["chains"].shape == (32, 2) and bool((info["chain_age"] == 2).all())
    assert 0.0 <= info["accept"] <= 1.0


def test_alpha_adds_the_pcd_term_on_the_returned_negatives():
    data, labels = labelled()
    e = energy(classes=2)
    est = impl(data, labels, alpha=0.5, n_chains=32, k=2)
    gen = torch.Generator().manual_seed(1)
    batch, yb = data[:64], labels[:64]
    loss, _, info = est.loss_labelled(e, batch, yb, None, gen)
    neg = info["negatives"]
    want = F.cross_entropy(e.logits(batch), yb) + 0.5 * (e(batch).mean() - e(neg).mean())
    torch.testing.assert_close(loss, want, rtol=1e-14, atol=1e-14)
    # no labels: the generative term alone, unweighted
    gen = torch.Generator().manual_seed(1)
    loss_u, _, info_u = est.loss(e, batch, None, gen)
    assert "accuracy" not in info_u
    torch.testing.assert_close(loss_u, e(batch).mean() - e(info_u["negatives"]).mean(), rtol=1e-14, atol=1e-14)


def test_persistent_chains_live_in_the_state_and_continue():
    data, labels = labelled()
    e = energy(classes=2)
    est = impl(data, labels, alpha=1.0, n_chains=16, k=3, reinit=0.0)
    gen = torch.Generator().manual_seed(2)
    s0 = est.init(e, gen)
    _, s1, info1 = est.loss_labelled(e, data[:32], labels[:32], s0, gen)
    assert torch.equal(s1.chains, info1["chains"]) and bool((s1.age == 3).all())
    assert not torch.equal(s1.chains, s0.chains)
    # the second update continues from s1's chains: replaying the kernel from them with the same
    # generator state reproduces the new chains bit for bit
    replay = torch.Generator().manual_seed(0)
    replay.set_state(gen.get_state())
    _, s2, _ = est.loss_labelled(e, data[:32], labels[:32], s1, gen)
    mala = SAMPLERS.get("mala")
    sstate, _ = run_kernel(mala, mala.params_cls(step_size=0.02), e, s1.chains, 3, replay)
    assert torch.equal(s2.chains, sstate.x) and bool((s2.age == 6).all())
    # reinit = 1 restarts every chain (uniform on the box), so every age is back to k
    est_r = impl(data, labels, n_chains=16, k=3, reinit=1.0, reinit_from="uniform")
    _, s3, _ = est_r.loss_labelled(e, data[:32], labels[:32], s2, gen)
    assert bool((s3.age == 3).all())


def test_too_many_labels_is_a_clear_error_and_a_non_classifier_gets_plain_pcd():
    data, labels = labelled()
    est = impl(data, labels, n_chains=16, k=2)
    with pytest.raises(EbmlabError, match="2 classes"):
        est.loss_labelled(energy(classes=2), data[:8], labels[:8] + 5, None, torch.Generator().manual_seed(0))
    # an energy without logits cannot use the labels: the loss is the generative PCD term alone
    mlp = MLPEnergy(2, 8, 1, dtype=F64)
    loss, state, info = est.loss_labelled(mlp, data[:8], labels[:8], None, torch.Generator().manual_seed(0))
    loss_u, _, _ = est.loss(mlp, data[:8], None, torch.Generator().manual_seed(0))
    assert torch.equal(loss, loss_u) and "accuracy" not in info
    assert math.isfinite(float(loss.detach())) and state.chains.shape == (16, 2)
