"""The trainer and the loop: reproducibility, commands, live changes, blow-ups."""

import math

import numpy as np
import pytest

from ebmlab.config.schema import experiment_from_dict, parse_override, with_overrides
from ebmlab.core.errors import ConfigError
from ebmlab.core.loop import Pause, Play, Reconfigure, Reset, Session, Step, experiment_loop
from ebmlab.core.trainer import Trainer

RAW = {
    "schema_version": 1,
    "seed": 1,
    "model": {"kind": "expression", "expression": "a*(x**2 + y**2 - r**2)**2", "params": {"a": 0.5, "r": 0.5}},
    "data": {"kind": "toy", "name": "rings", "n": 400},
    "estimator": {"name": "mle", "grid_points": 64},
    "sampler": {"name": "mala", "step_size": 0.05},
    "chains": {"n": 50},
    "training": {"eval_every": 10},
}


def exp(**over):
    e = experiment_from_dict(RAW)
    return with_overrides(e, [parse_override(f"{k}={v}") for k, v in over.items()]) if over else e


def test_same_seed_same_numbers_and_chains_do_not_change_training():
    a, b, c = Trainer(exp()), Trainer(exp()), Trainer(exp(**{"chains.n": 7}))
    for t in (a, b, c):
        for _ in range(30):
            assert t.step()
    assert a.energy.named_scalars() == b.energy.named_scalars()
    assert a.energy.named_scalars() == c.energy.named_scalars()
    assert a.metrics["loss"] == b.metrics["loss"]
    d = Trainer(exp(seed=2))
    for _ in range(30):
        d.step()
    assert d.energy.named_scalars() != a.energy.named_scalars()


def test_exact_metrics_are_recorded_every_eval():
    t = Trainer(exp())
    for _ in range(30):
        t.step()
    steps, values = t.history.export()["nll_exact"]
    assert list(steps) == [0, 10, 20, 30]
    assert values[-1] < values[0]  # MLE lowers the exact NLL
    assert math.isfinite(t.metrics["log_z_exact"])


def test_commands_step_pause_reset():
    s = Session(Trainer(exp()))
    loop = experiment_loop(s)
    snap = next(loop)
    assert snap.step == 0 and snap.status == "paused"
    snap = loop.send(Step(1))
    assert snap.step == 1
    snap = loop.send(None)
    assert snap.step == 1  # exactly one step
    loop.send(Play())
    for _ in range(5):
        snap = loop.send(None)
    assert snap.step == 7 and snap.status == "running"
    snap = loop.send(Pause())
    assert snap.step == 7
    snap = loop.send(Reset())
    assert snap.step == 0 and snap.run_id == 1


def test_switch_estimator_mid_run_keeps_the_model():
    s = Session(Trainer(exp()))
    for _ in range(5):
        s.apply(Step(1))
        s.advance()
    before = s.trainer.energy.named_scalars()
    s.apply(Reconfigure(with_overrides(s.trainer.exp, [parse_override("estimator.name=cd")])))
    assert s.trainer.estimator.name == "cd" and s.trainer.step_count == 5
    assert s.trainer.energy.named_scalars() == before
    s.apply(Step(1))
    s.advance()
    assert s.trainer.step_count == 6 and s.trainer.snapshot().negatives is not None


def test_bad_live_change_is_refused_and_nothing_changes():
    t = Trainer(exp())
    s = Session(t)
    bad = with_overrides(t.exp, [parse_override("sampler.name=gibbs")])
    with pytest.raises(ConfigError, match="sampler.name: 'gibbs' is for binary models"):
        s.apply(Reconfigure(bad))
    assert s.trainer is t and t.sampler.name == "mala" and t.exp.sampler.kind == "mala"
    s.apply(Step(1))
    assert s.advance() and t.step_count == 1


def test_energy_turning_nan_pauses_with_last_good_parameters_and_the_step():
    t = Trainer(exp())
    calls = {"n": 0}
    forward = t.energy.forward

    def flaky(x):  # injected fault: the energy returns NaN from the 6th training step on
        e = forward(x)
        return e * float("nan") if t.step_count >= 5 else e

    t.energy.forward = flaky
    oks = [t.step() for _ in range(6)]
    assert oks == [True] * 5 + [False]
    assert t.status == "error" and t.step_count == 5
    assert t.message.startswith("step 6: log Z is not finite")
    good = dict(t.energy.named_scalars())
    assert all(math.isfinite(v) for v in good.values())
    t.energy.forward = forward  # the fault goes away: training resumes from the kept parameters
    assert t.step() and t.status == "running" and t.step_count == 6
    del calls


def test_exploding_loss_and_parameters_are_caught_before_they_reach_the_model():
    t = Trainer(exp())
    t.step()
    good = dict(t.energy.named_scalars())
    loss = t.estimator_impl.loss
    t.estimator_impl.loss = lambda *a: (lambda out: (out[0] * float("inf"), *out[1:]))(loss(*a))
    assert not t.step()
    assert t.message.startswith("the mle loss became inf at step 2")
    assert t.energy.named_scalars() == good
    t.estimator_impl.loss = loss
    opt_step = t.optimiser.step

    def poisoned_step(*a, **k):  # injected fault: an update that writes inf into parameter 'r'
        opt_step(*a, **k)
        t.energy.get_parameter(next(n for n, _ in t.energy.named_parameters() if n.endswith("r"))).data.fill_(
            float("inf")
        )

    t.optimiser.step = poisoned_step
    assert not t.step()
    assert "became non-finite at step 2" in t.message
    assert t.energy.named_scalars() == good and t.step_count == 1


def test_snapshot_is_numpy_and_copied():
    t = Trainer(exp())
    t.step()
    snap = t.snapshot()
    assert isinstance(snap.chains, np.ndarray) and snap.chains.shape == (50, 2)
    snap.chains[:] = 99
    assert not (t.snapshot().chains == 99).any()
    land = t.landscape(32)
    assert land.kind == "image" and land.energy.shape == (32, 32)
    cell = (6 / 32) ** 2
    assert abs(np.exp(land.log_density).sum() * cell - 1) < 1e-9


def test_all_estimators_train_the_same_model_switching_between_steps():
    from ebmlab.core.estimators import ESTIMATORS

    s = Session(Trainer(exp(**{"chains.n": 10})))
    seen = []
    for name in ESTIMATORS.names():
        s.apply(Reconfigure(with_overrides(s.trainer.exp, [parse_override(f"estimator.name={name}")])))
        for _ in range(3):
            s.apply(Step(1))
            assert s.advance()
        t = s.trainer
        assert t.status != "error", t.message
        assert t.estimator.name == name and math.isfinite(t.metrics["loss"])
        seen.append(name)
    assert s.trainer.step_count == 3 * len(seen) and s.run_id == 0  # one run, never reset
    assert set(seen) == {"cd", "pcd", "pl", "sm", "dsm", "nce", "mle", "jem"}


def test_nce_landscape_carries_the_decision_boundary_field():
    t = Trainer(exp(**{"estimator.name": "nce"}))
    for _ in range(5):
        t.step()
    land = t.landscape(32)
    field = land.extras["nce_log_ratio"]
    assert field.shape == (32, 32)
    # G = -E - c - log q - log nu, computed independently at one grid point
    import torch

    x = torch.tensor([[land.axes[0][3], land.axes[1][7]]], dtype=torch.float64)
    st = t.est_state
    g = -t.energy(x) - st.c.detach() - st.noise.log_prob(x) - math.log(t.exp.estimator.settings.nu)
    assert abs(float(g.detach()) - field[3, 7]) < 1e-9


def test_frozen_model_pools_log_z_estimates_and_a_settings_change_restarts_the_pool():
    frozen = {
        **RAW,
        "model": {**RAW["model"], "trainable": []},
        "logz": {"method": "is", "every": 2, "particles": 200},
    }
    t = Trainer(experiment_from_dict(frozen))
    assert t.frozen
    for _ in range(6):
        assert t.step()
    assert len(t._logz_pool) == 3 and "loss" not in t.metrics
    pooled_se = t.metrics["logz_stderr"]
    first_se = t.history.export()["logz_estimate"][2][0]
    assert pooled_se < first_se  # three pooled runs: a smaller error bar than one
    s = Session(t)
    s.apply(Reconfigure(with_overrides(t.exp, [parse_override("logz.particles=300")])))
    assert t._logz_pool == []
