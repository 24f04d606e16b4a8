"""The numbers lessons make claims about (ebmlab.core.lesson_metrics, landscape_extras, derived quantities)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebmlab.config.bundled import BUNDLED_DIR
from ebmlab.config.presets import load_preset
from ebmlab.config.schema import with_overrides
from ebmlab.core.energies.classifier import ClassifierEnergy
from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.errors import ConfigError, ExpressionError
from ebmlab.core.landscape_extras import class_margin
from ebmlab.core.lesson_metrics import (
    chain_statistics,
    data_state_mass,
    distinct_states,
    exact_moments,
    held_out_accuracy,
)
from ebmlab.core.models import ExpressionModel, build_model
from ebmlab.core.samplers.langevin import LangevinParams, init, ula_step
from ebmlab.core.snapshot import Landscape
from ebmlab.core.trainer import Trainer


def preset(name: str):
    return load_preset(BUNDLED_DIR / f"{name}.json").experiment


# ------------------------------------------------------------------ derived quantities (lesson 02's w)


def test_derived_quantity_follows_the_parameter():
    e = ExpressionEnergy("t*x**2", params={"t": 0.7, "s": 2.0}, derived={"w": "sigmoid(t)", "v": "s*exp(t)"})
    assert e.derived_scalars() == pytest.approx({"w": 1 / (1 + math.exp(-0.7)), "v": 2 * math.exp(0.7)}, rel=1e-12)
    with torch.no_grad():
        e.param_t.fill_(-1.3)
    assert e.derived_scalars()["w"] == pytest.approx(1 / (1 + math.exp(1.3)), rel=1e-12)


@pytest.mark.parametrize(
    "derived, words",
    [
        ({"w": "sigmoid(x)"}, "uses the variable 'x'"),
        ({"t": "2*t"}, "has the name of a parameter"),
        ({"w": "sigmoid(q)"}, "derived 'w': unknown name 'q'"),
        ({"w": ""}, "needs an expression of the parameters"),
        ({"exp": "t"}, "reserved"),
    ],
)
def test_bad_derived_quantities_are_refused_with_the_reason(derived, words):
    with pytest.raises(ExpressionError, match=words):
        ExpressionEnergy("t*x**2", params={"t": 0.0}, derived=derived)


def test_bad_derived_quantity_in_a_preset_names_the_field():
    s = ExpressionModel(expression="t*x**2", params={"t": 0.0}, derived={"w": "y + t"})
    with pytest.raises(ConfigError) as info:
        build_model("expression", s, 0)
    assert info.value.problems[0].startswith("model.derived: derived 'w' uses the variable 'y'")


def test_lesson_02_records_t_and_w_and_reports_w_headless():
    t = Trainer(preset("02_cd_vs_pcd"))
    for _ in range(50):
        assert t.step()
    hist = t.history.export()
    steps_t, t_vals = hist["param:t"][:2]
    steps_w, w_vals = hist["param:w"][:2]
    assert list(steps_t) == list(steps_w) == [0, 25, 50]
    np.testing.assert_allclose(w_vals, 1 / (1 + np.exp(-t_vals)), rtol=1e-12)
    assert "param:s" not in hist  # s is fixed: a flat line says nothing
    assert t.summary()["derived"] == {"w": pytest.approx(float(w_vals[-1]))}
    assert t.snapshot().derived == t.summary()["derived"]


# ------------------------------------------------------------------ accuracy (lesson 10)


class _Logits(torch.nn.Module):
    """An 'energy' whose logits are the first two coordinates."""

    def logits(self, x):
        return x[:, :2]


def test_accuracy_counts_argmax_hits_with_a_binomial_error_bar():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    labels = torch.tensor([0, 1, 1, 1])  # the third is wrong
    a, se = held_out_accuracy(_Logits(), x, labels)
    assert a == 0.75
    shrunk = 3.5 / 5
    assert se == pytest.approx(math.sqrt(shrunk * (1 - shrunk) / 4))
    a, se = held_out_accuracy(_Logits(), x[:2], labels[:2])
    assert a == 1.0 and se > 0  # a perfect score is not a certainty
    assert held_out_accuracy(_Logits(), x, None) is None


def test_lesson_10_records_held_out_accuracy_and_a_decision_boundary():
    exp = with_overrides(preset("10_classifier_is_an_ebm"), [(["training", "eval_every"], 20)])
    t = Trainer(exp)
    for _ in range(60):
        assert t.step()
    acc, se = t.metrics["accuracy"], t.metrics["accuracy_stderr"]
    assert 0.0 <= acc <= 1.0 and 0 < se < 0.05
    assert len(t.history.export()["accuracy"]) == 3  # steps, values, standard errors
    land = t.landscape(grid=64)
    margin = land.extras["class_margin"]
    assert margin.shape == land.energy.shape == (64, 64)
    assert t.summary()["accuracy"] == acc


def test_class_margin_is_the_logit_difference_and_borders_every_class_region():
    torch.manual_seed(0)
    for classes in (2, 3):
        energy = ClassifierEnergy(2, classes, width=8, depth=1, seed=3)
        axes = (np.linspace(-2.9, 2.9, 12), np.linspace(-2.9, 2.9, 10))
        land = Landscape(0, 0, "image", axes, np.zeros((12, 10)), np.zeros((12, 10)), 0.0)
        m = class_margin(energy, land, torch.device("cpu"))
        pts = torch.tensor(np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float32)
        f = energy.logits(pts).double().detach().numpy()
        if classes == 2:
            np.testing.assert_allclose(m.ravel(), f[:, 1] - f[:, 0], rtol=1e-5, atol=1e-6)
        else:
            assert m.shape == (3, 12, 10)
            winner = f.argmax(1)
            for k in range(3):
                np.testing.assert_array_equal(m[k].ravel() > 0, winner == k)


# ------------------------------------------------------------------ mass on the data's states (lesson 06)


def test_data_state_mass_is_exact_for_a_uniform_machine():
    n = 6
    bm = BoltzmannMachine(torch.zeros(n, n), torch.zeros(n), spins="01", dtype=torch.float64)
    data = np.array([[0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]], float)
    states = distinct_states(data)
    assert len(states) == 3
    assert data_state_mass(bm, states, n * math.log(2.0)) == pytest.approx(3 / 2**n, rel=1e-12)


def test_lesson_06_mass_on_the_patterns_rises():
    t = Trainer(preset("06_pseudolikelihood_boltzmann"))
    start = t.metrics["data_mass"]
    for _ in range(200):
        assert t.step()
    assert len(t.data_states) == 14
    assert t.metrics["data_mass"] > max(0.5, start + 0.3)  # measured 0.04 -> 0.94
    assert t.summary()["data_mass"] == t.metrics["data_mass"]


# ------------------------------------------------------------------ chains against the exact model (lesson 07)

GAUSS = ExpressionEnergy("x**2/2 + y**2", box=((-8, 8), (-8, 8)))  # var 1 and 1/2, E_p[E] = 1


def test_exact_moments_of_a_gaussian():
    mean, var, mean_e = exact_moments(GAUSS)
    np.testing.assert_allclose(mean, [0, 0], atol=1e-9)
    np.testing.assert_allclose(var, [1.0, 0.5], rtol=1e-6)
    assert mean_e == pytest.approx(1.0, rel=1e-6)


def test_exact_samples_give_ratio_one_within_their_standard_errors():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4000, 2, generator=g, dtype=torch.float64) * torch.tensor([1.0, math.sqrt(0.5)])
    s = chain_statistics(GAUSS, x)
    for key in ("var_ratio:x", "var_ratio:y"):
        r, se = s[key]
        assert abs(r - 1.0) < 3 * se and 0.015 < se < 0.04  # SE of s^2/sigma^2 for a Gaussian: sqrt(2/m) = 0.022
    e, se = s["chain_energy"]
    assert abs(e - s["chain_energy_exact"][0]) < 3 * se


def test_unadjusted_langevin_is_biased_by_the_known_amount():
    """ULA x' = x - (h/2) a x + sqrt(h) z on E = a x^2/2 has stationary variance 1 / (a (1 - h a / 4))."""
    a, h = 2.0, 0.5
    energy = ExpressionEnergy("x**2", box=((-8, 8),))  # a = 2
    g = torch.Generator().manual_seed(11)
    state = init(torch.zeros(6000, 1, dtype=torch.float64), energy)
    for _ in range(300):
        state, _ = ula_step(g, state, energy, LangevinParams(step_size=h))
    r, se = chain_statistics(energy, state.x)["var_ratio:x"]
    expected = 1.0 / (1.0 - h * a / 4.0)  # 4/3
    assert abs(r - expected) < 4 * se, (r, se)
    assert r - 1.0 > 8 * se  # the bias is far outside the noise: the lesson's claim is visible
    e, e_se = chain_statistics(energy, state.x)["chain_energy"]
    assert e - 0.5 > 5 * e_se  # runs hot: E_p[E] = 1/2 exactly


def test_lesson_07_ula_runs_hot_and_mala_does_not():
    exp = preset("07_samplers")
    out = {}
    for name in ("langevin", "mala"):
        t = Trainer(with_overrides(exp, [(["sampler", "name"], name), (["sampler", "step_size"], 0.3)]))
        for _ in range(300):
            t.step()
        m = t.metrics
        out[name] = (m["chain_energy"] - m["chain_energy_exact"]) / m["chain_energy_stderr"]
        summary = t.summary()
        assert summary["chain_variance_ratio"].keys() == {"x", "y"}
        assert summary["chain_energy"] == m["chain_energy"] and summary["chain_energy_exact"] == m["chain_energy_exact"]
    assert out["langevin"] > 3.0 and abs(out["mala"]) < 3.0, out  # measured +5 and +0.3 SE
