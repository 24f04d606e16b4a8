"""Every bundled lesson trains its configured steps, evaluated as in the window, without tripping the divergence
guard, and keeps a checkpoint of its last evaluation. Display chains and log Z estimates are off: they use their own
generators and never change the training numbers (measured: ~30 s for all eleven on one thread)."""

from __future__ import annotations

import pytest

from ebmlab.config.presets import BUNDLED_DIR, load_preset
from ebmlab.config.schema import parse_override, with_overrides
from ebmlab.core.trainer import Trainer

PRESETS = sorted(p.stem for p in BUNDLED_DIR.glob("*.json"))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("stem", PRESETS)
def test_a_healthy_lesson_never_trips_the_divergence_guard(stem):
    exp = load_preset(BUNDLED_DIR / f"{stem}.json").experiment
    exp = with_overrides(exp, [parse_override("chains.n=0"), parse_override("logz.method=none")])
    t = Trainer(exp)
    for _ in range(exp.training.steps):
        assert t.step(), t.message
    every = exp.training.eval_every
    assert t.checkpoint.step == exp.training.steps // every * every
    if t.guard.nll_ref is not None:  # the run's worst held-out NLL, far from the margin
        worst = max(t.history.export()["nll_exact"][1])
        assert worst < t.guard.nll_ref + 1.0, (worst, t.guard.nll_ref)
