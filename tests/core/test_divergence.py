"""The divergence guard: a run that ran away pauses with the model of its last good evaluation and one line of
reason; the criteria themselves (ebmlab.core.divergence) at their boundaries."""

from __future__ import annotations

import math
import re

import pytest

from ebmlab.config.presets import BUNDLED_DIR, load_preset
from ebmlab.config.schema import parse_override, with_overrides
from ebmlab.core.divergence import LOSS_FACTOR, LOSS_WINDOW, NLL_MARGIN, DivergenceGuard, log_volume
from ebmlab.core.loop import Play, Reconfigure, Session
from ebmlab.core.space import BinarySpace, ContinuousSpace
from ebmlab.core.trainer import Trainer

LOG_V = math.log(36.0)  # lesson 01's box [-3, 3]^2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def switched_after(steps: int, *switch: str):
    """Lesson 01 (exact MLE, evaluated every 20 steps) trained `steps` steps, then switched live as a lecturer
    did; played until it stops. Returns (session, parameters at every evaluation that passed, last step)."""
    exp = with_overrides(load_preset(BUNDLED_DIR / "01_partition_function.json").experiment, [(["chains", "n"], 0)])
    s = Session(Trainer(exp))
    at_eval = {0: s.trainer.energy.named_scalars()}
    s.apply(Play())
    for _ in range(steps):
        s.advance()
    at_eval.update({steps: s.trainer.energy.named_scalars()})
    s.apply(Reconfigure(with_overrides(s.trainer.exp, [parse_override(o) for o in switch])))
    for _ in range(2000):
        if not s.wants_step:
            break
        s.advance()
        t = s.trainer
        if t.status != "error" and t.step_count % t.exp.training.eval_every == 0:
            at_eval[t.step_count] = t.energy.named_scalars()
    return s, at_eval


def test_cd_with_a_langevin_step_too_large_pauses_on_the_held_out_nll():
    # measured without the guard: loss -5e6 and NLL 42 by step 460, NLL 73 by step 1000, the run going on
    s, at_eval = switched_after(200, "estimator.name=cd", "sampler.name=langevin", "sampler.step_size=0.5")
    t = s.trainer
    assert not s.playing and t.status == "error" and s.snapshot().status == "error"
    m = re.fullmatch(
        r"training diverged at step (\d+): held-out NLL ([\d.e+]+) nats \(2\.71 at the start; a uniform density "
        r"on the box scores 3\.58\); the model from step (\d+) was kept — lower the sampler step size or the "
        r"learning rate",
        t.message,
    )
    assert m, t.message
    stopped, nll, kept = int(m.group(1)), float(m.group(2)), int(m.group(3))
    assert stopped == t.step_count and kept == stopped - 20 and kept > 200
    assert nll > LOG_V + NLL_MARGIN  # the criterion, on the number it reports
    assert t.energy.named_scalars() == at_eval[kept]  # the checkpoint, restored exactly
    assert t.checkpoint.step == kept and t.optimiser.state == {}
    assert t.metrics["nll_exact"] < LOG_V + NLL_MARGIN  # the kept model's metrics are shown


def test_pcd_whose_chains_leave_the_box_pauses_on_the_loss():
    # measured without the guard: loss -2.5e303 from the first steps on, the NLL slowly rising to 10
    s, at_eval = switched_after(200, "estimator.name=pcd", "sampler.name=langevin", "sampler.step_size=0.5")
    t = s.trainer
    assert t.status == "error" and not s.playing
    m = re.match(r"training diverged at step (\d+): the pcd loss is (-[\d.e+]+), more than 1e\+06 times", t.message)
    assert m, t.message
    assert abs(float(m.group(2))) > LOSS_FACTOR * 2.7
    assert "the model from step 200 was kept — lower the sampler step size" in t.message
    assert t.energy.named_scalars() == at_eval[200] and t.step_count == int(m.group(1)) - 1


def test_resuming_after_a_divergence_trains_from_the_kept_model():
    s, _ = switched_after(200, "estimator.name=pcd", "sampler.name=langevin", "sampler.step_size=0.5")
    t = s.trainer
    s.apply(
        Reconfigure(
            with_overrides(t.exp, [parse_override("sampler.name=mala"), parse_override("sampler.step_size=0.05")])
        )
    )
    for _ in range(40):
        assert t.step(), t.message
    assert t.status == "running" and t.metrics["nll_exact"] < LOG_V


# ------------------------------------------------------------------------------------------ the criteria
def test_nll_criterion_boundary_and_reference():
    g = DivergenceGuard(ContinuousSpace(2, ((-3.0, 3.0), (-3.0, 3.0))))
    held = object()
    assert g.check_eval(2.7, held) is None and g.nll_ref == LOG_V  # max(log V, NLL at the start)
    assert g.check_eval(LOG_V + NLL_MARGIN - 1e-9, held) is None
    assert "held-out NLL 26.6 nats" in g.check_eval(LOG_V + NLL_MARGIN + 1e-9, held)
    assert "no longer finite" in g.check_eval(None, held)
    other = object()  # new held-out data (a live data change): a new reference, never a divergence
    assert g.check_eval(500.0, other) is None and g.nll_ref == 500.0
    assert g.check_eval(510.0, other) is None and g.check_eval(524.0, other) is not None


def test_a_model_that_starts_badly_is_judged_against_its_start():
    g = DivergenceGuard(ContinuousSpace(1, ((-3.0, 3.0),)))
    held = object()
    assert g.check_eval(80.0, held) is None and g.check_eval(80.0 + NLL_MARGIN, held) is None
    assert g.check_eval(40.0, held) is None  # and improving is fine


def test_loss_criterion_needs_its_window_and_scales_with_the_start():
    g = DivergenceGuard(BinarySpace(9))
    assert g.log_v == pytest.approx(9 * math.log(2)) == log_volume(BinarySpace(9))
    for _ in range(LOSS_WINDOW):
        assert g.check_loss("cd", 1e9) is None  # the start sets the scale, however large
    assert g.check_loss("cd", LOSS_FACTOR * 1e9) is None
    assert g.check_loss("cd", -1.01 * LOSS_FACTOR * 1e9).startswith("the cd loss is -1.01e+15")
    small = DivergenceGuard(BinarySpace(9))
    for _ in range(LOSS_WINDOW):
        small.check_loss("sm", 0.01)
    assert small.loss_limit() == LOSS_FACTOR  # |loss| below 1 at the start: the floor is 1


def test_a_plain_classifier_is_not_judged_by_its_density_and_jem_restarts_the_reference():
    # lesson 10 at alpha = 0: cross-entropy cannot see the density, which drifts to tens of nats worse than
    # uniform by design (measured 28.3 at step 300); switched live to alpha = 1, JEM is judged from there
    exp = load_preset(BUNDLED_DIR / "10_classifier_is_an_ebm.json").experiment
    exp = with_overrides(
        exp, [parse_override(o) for o in ("chains.n=0", "estimator.alpha=0", "training.eval_every=10")]
    )
    s = Session(Trainer(exp))
    t = s.trainer
    for _ in range(300):
        assert t.step(), t.message
    assert t.metrics["nll_exact"] > LOG_V + NLL_MARGIN
    s.apply(Reconfigure(with_overrides(t.exp, [parse_override("estimator.alpha=1")])))
    for _ in range(200):
        assert t.step(), t.message
    steps, nll = t.history.export()["nll_exact"]
    assert t.guard.nll_start == nll[list(steps).index(310)] != nll[0]  # re-based at the first judged evaluation
    assert t.metrics["nll_exact"] < LOG_V  # and JEM pulls the density back onto the moons
