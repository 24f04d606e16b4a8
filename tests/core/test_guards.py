"""Settings refused when applied (typed energies that are not finite, a model narrower than its data), models
with nothing to train, and losses without a gradient path: every message names the field and the reason."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from ebmlab.config.presets import BUNDLED_DIR, load_preset
from ebmlab.config.schema import parse_override, with_overrides
from ebmlab.core.errors import ConfigError
from ebmlab.core.estimators import ESTIMATORS
from ebmlab.core.grid import make_grid
from ebmlab.core.guards import FROZEN_NOTICE
from ebmlab.core.loop import Reconfigure, Session
from ebmlab.core.space import ContinuousSpace
from ebmlab.core.trainer import Trainer

F64_LOG_MAX = math.log(np.finfo(np.float64).max)  # 709.78: exp overflows above it


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def lesson(stem: str, *overrides: str, **values):
    exp = load_preset(BUNDLED_DIR / f"{stem}.json").experiment
    exp = with_overrides(exp, [parse_override(o) for o in ("chains.n=20", *overrides)])
    return with_overrides(exp, [(k.split("."), v) for k, v in values.items()]) if values else exp


def typed(expression: str, *overrides: str, params=None):
    """Lesson 01 with its model expression replaced, as the window does (the parameter table keeps a and r)."""
    values = {"model.expression": expression}
    if params is not None:
        values["model.params"] = params
    return lesson("01_partition_function", *overrides, **values)


def refusal(exp) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Trainer(exp)
    return info.value.problems


# ------------------------------------------------------------------------------------------ 1. nothing to train
def test_an_energy_without_its_parameters_runs_frozen_and_says_so():
    t = Trainer(typed("(x**2-1)**2 + 0.5*y**2", "logz.method=is", "logz.every=2", "logz.particles=200"))
    assert t.frozen and t.energy.trainable_names == ()
    before = t.snapshot().chains.copy()
    for _ in range(4):
        assert t.step(), t.message
    snap = t.snapshot()
    assert snap.extras["notice"] == FROZEN_NOTICE == "this energy has no trainable parameters: sampling and log Z only"
    assert t.summary()["notice"] == FROZEN_NOTICE
    assert snap.params == {"a": 0.1, "r": 0.5}  # kept in the settings, untouched
    assert not np.array_equal(snap.chains, before)  # the chains move
    assert len(t._logz_pool) == 2 and math.isfinite(t.metrics["logz_estimate"])  # log Z estimates pool
    trained = Trainer(lesson("01_partition_function"))  # a model with something to train carries no notice
    assert trained.step() and "notice" not in trained.snapshot().extras and "notice" not in trained.summary()


def test_a_parameter_the_expression_drops_is_not_trained_beside_one_it_uses():
    t = Trainer(typed("a*(x**2 + y**2 - 2.25)**2 + 0*r"))
    assert t.energy.trainable_names == ("a",) and not t.frozen and "notice" not in t.snapshot().extras
    for _ in range(5):
        assert t.step(), t.message
    p = t.energy.named_scalars()
    assert p["r"] == 0.5 and p["a"] != 0.1


ODD = [
    ("a*x + b*y", {"a": 0.2, "b": 0.1}),  # linear: a constant score, a zero Laplacian
    ("a + 0*x + 0*y", {"a": 1.0}),  # constant in x: no score at all
    ("(x**2-1)**2 + 0.5*y**2", {"a": 0.1, "r": 0.5}),  # nothing used
]


@pytest.mark.parametrize("expression,params", ODD, ids=[e for e, _ in ODD])
def test_no_estimator_surfaces_torch_autograd_errors(expression, params):
    raw = re.compile(r"does not require grad|grad_fn|not have been used in the graph|unexpected")
    for name in ESTIMATORS.names():
        if name == "pl":  # binary models only
            continue
        t = Trainer(typed(expression, f"estimator.name={name}", params=params))
        for _ in range(3):
            if not t.step():
                break
        if t.status == "error":
            assert not raw.search(t.message), (name, t.message)
            assert f"the {name} loss does not depend on the trainable parameters" in t.message, (name, t.message)


def test_a_loss_without_gradient_path_gets_a_clear_message():
    t = Trainer(lesson("01_partition_function"))
    t.estimator_impl.loss = lambda energy, batch, state, gen: (torch.tensor(1.0, dtype=torch.float64), state, {})
    assert not t.step()
    assert t.message.startswith("step 1: the mle loss does not depend on the trainable parameters (a, r)"), t.message


def test_score_matching_trains_a_linear_energy_instead_of_failing():
    t = Trainer(typed("a*x + b*y", "estimator.name=sm", params={"a": 0.2, "b": 0.1}))
    for _ in range(5):
        assert t.step(), t.message
    loss = t.metrics["loss"]  # J = 0.5 |grad E|^2 - Laplacian E = 0.5 (a^2 + b^2) at the parameters of the step
    assert 0 < loss < 0.5 * (0.2**2 + 0.1**2)


# ------------------------------------------------------------------------------------------ 2. finite energy
def test_an_energy_overflowing_at_the_data_is_refused_when_applied():
    exp = typed("exp(1000*x) + y**2")
    (line,) = refusal(exp)
    m = re.fullmatch(
        r"model\.expression: E\(x\) overflows to \+inf at (\d+)% of the data \(e\.g\. x = ([-\d.]+), y = ([-\d.]+)\): "
        r"exp\(1000\*x\) is beyond float64; rescale it",
        line,
    )
    assert m, line
    assert float(m.group(2)) * 1000 > F64_LOG_MAX  # the example point is one that overflows
    data = Trainer(lesson("01_partition_function")).dataset.points  # the same data (same seed, same settings)
    share = 100 * float(np.mean(1000 * data[:, 0] > F64_LOG_MAX))
    assert abs(int(m.group(1)) - share) <= 0.5, (m.group(1), share)
    # the window applies a new model by Reconfigure: refused, and the run is left as it was
    t = Trainer(lesson("01_partition_function"))
    s = Session(t)
    with pytest.raises(ConfigError, match=r"^model\.expression: E\(x\) overflows"):
        s.apply(Reconfigure(exp))
    assert s.trainer is t


def test_an_energy_that_is_nan_at_the_data_is_refused_naming_the_log():
    (line,) = refusal(typed("log(x) + y**2"))
    assert line.startswith("model.expression: E(x) is NaN at 5") and "% of the data (e.g. x = -" in line, line
    assert "log(x) takes a negative argument; keep E defined on the whole box (model.box) or rewrite it" in line


LEGITIMATE = [
    "a*(x**2 + y**2 - r**2)**2 - log(relu(1 - (x**2 + y**2)/9))",  # a hard wall: +inf in the box's corners
    "a*(x**2 + y**2 - r**2)**2 + exp(100*(x**2 + y**2 - 6.25))",  # overflows in the corners only
    "-a*(x**2 + y**2) + r",  # unbounded below toward the edge: finite on the box, so normalisable there
]


def test_nan_on_the_box_away_from_the_data_is_refused_but_plus_infinity_there_is_a_wall():
    # sqrt(9 - x**2 - y**2) is defined inside radius 3, where the ring data are, but not in the box's corners
    (line,) = refusal(typed("a*(x**2 + y**2 - r**2)**2 - sqrt(9 - x**2 - y**2)"))
    assert line.startswith("model.expression: E(x) is NaN at ") and "of the grid on the box (e.g. x = -" in line, line
    assert "sqrt(9 - x**2 - y**2) takes a negative argument" in line
    for expression in LEGITIMATE:  # these load and train
        t = Trainer(typed(expression))
        for _ in range(5):
            assert t.step(), (expression, t.message)
        assert math.isfinite(t.metrics["nll_exact"]), expression


def test_minus_infinity_is_refused_at_the_data_and_on_the_grid():
    (line,) = refusal(typed("-exp(1000*x) + y**2"))
    assert line.startswith("model.expression: E(x) falls to -inf at ") and "of the data" in line, line
    assert line.endswith("exp(1000*x) is beyond float64; exp(-E) is infinite there, so Z cannot be normalised")
    # log(|x - x0|) is -inf on one column of the evaluation grid (x0 one of its centres), nowhere near the data
    x0 = make_grid(ContinuousSpace(2, ((-3.0, 3.0), (-3.0, 3.0))), 64).axes[0][0].item()
    (line,) = refusal(typed(f"a*(x**2 + y**2 - r**2)**2 + log(abs(x - ({x0!r})))", "training.grid_points=64"))
    assert line.startswith("model.expression: E(x) falls to -inf at 1.6% of the grid on the box (e.g. x = -2.95"), line
    assert f"log(abs(x - ({x0!r}))) takes the log of 0" in line, line


def test_an_energy_that_is_infinite_everywhere_is_refused():
    (line,) = refusal(typed("exp(1000*(x**2 + y**2 + 1))"))
    assert line.startswith("model.expression: E(x) overflows to +inf at 100% of the data"), line


def test_a_non_expression_model_is_named_as_model():
    t = Trainer(lesson("00_welcome", "chains.n=0"))
    with torch.no_grad():
        t.energy.weights[0].fill_(float("nan"))
    with pytest.raises(ConfigError, match=r"^model: E\(x\) is NaN at 100% of the data \(e\.g\. x = \("):
        Trainer(t.exp, weights=t.weights())


# ------------------------------------------------------------------------------------------ 3. dimensions
@pytest.mark.parametrize("expression", ["exp(1000*x)", "x**2"])
def test_a_1d_model_for_2d_data_names_the_model_expression(expression):
    problems = refusal(typed(expression))
    assert problems[0] == "model.expression: uses only x (1-D) but the data are 2-D; add y, or set model.dim to 2"
    assert problems[1] == "data.expression: is 2-D (uses x, y) but the model is 1-D"


def test_a_model_dim_too_small_names_model_dim():
    problems = refusal(typed("x**2", "model.dim=1"))
    assert problems[0] == "model.dim: the model is 1-D but the data are 2-D; set model.dim to 2", problems
    problems = refusal(lesson("00_welcome", "model.dim=1"))  # a 2-D toy set, an MLP of dimension 1
    assert problems == [
        "model.dim: the model is 1-D but the data are 2-D; set model.dim to 2",
        "data.name: the toy sets are 2-D but the model is 1-D",
    ]


def test_a_2d_model_on_1d_energy_data_is_still_fine():
    t = Trainer(lesson("02_cd_vs_pcd", "model.expression=x**2/2 + y**2/2", "model.box=[[-3, 3]]"))
    assert t.energy.dim == 2 and t.dataset.points.shape[1] == 2 and t.step()
