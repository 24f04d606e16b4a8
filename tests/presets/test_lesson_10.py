"""Lesson 10, "A classifier is secretly an energy-based model": the preset is what the notes promise.

Trained with alpha = 1 (JEM) the classifier is accurate AND its density exp(-E) fits the data; with
alpha = 0 (a plain classifier) it is just as accurate, but its density is far worse than JEM's, worse
even than a uniform guess on the box.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ebmlab.config.presets import find_preset, load_preset
from ebmlab.config.schema import parse_override, with_overrides
from ebmlab.core.data import make_toy
from ebmlab.core.energies.classifier import ClassifierEnergy
from ebmlab.core.trainer import Trainer

STEPS = 300
HELD_OUT_SEED = 12345  # fresh labelled points, not the preset's (seed 0) data


def preset_path() -> Path:
    return find_preset("10_classifier_is_an_ebm")


def test_preset_is_a_labelled_jem_lesson_with_notes():
    exp = load_preset(preset_path()).experiment
    assert exp.model.kind == "classifier" and exp.model.settings.classes == 2
    assert exp.data.kind == "toy" and exp.data.settings.name == "two_moons"  # a labelled toy set
    assert exp.estimator.kind == "jem" and exp.estimator.settings.alpha == 1.0
    assert exp.sampler.kind == "mala"
    assert exp.name and exp.description and "\n" not in exp.description
    words = len(exp.notes.split())
    assert 80 <= words <= 200, words
    assert "alpha" in exp.notes and "logsumexp" in exp.notes
    raw = json.loads(preset_path().read_text())
    assert isinstance(raw["seed"], int)


def train(alpha: float) -> tuple[Trainer, float, float]:
    """STEPS steps of the preset at `alpha`; returns (trainer, held-out accuracy, SE of the exact NLL).

    Display chains are switched off: they run on their own generator and never change the training
    numbers (Trainer docstring), they only cost time."""
    exp = load_preset(preset_path()).experiment
    exp = with_overrides(exp, [parse_override("chains.n=0"), parse_override(f"estimator.alpha={alpha}")])
    t = Trainer(exp)
    for _ in range(STEPS):
        assert t.step(), t.message
    t.evaluate()
    assert isinstance(t.energy, ClassifierEnergy)
    assert 0.0 <= t.info["accuracy"] <= 1.0
    x, y = make_toy("two_moons", 2000, HELD_OUT_SEED)
    with torch.no_grad():
        probs = t.energy.class_probs(torch.as_tensor(x, dtype=t.dtype))
        acc = float((probs.argmax(-1).numpy() == y).mean())
        e = t.energy(t.holdout).double().numpy()
    # nll_exact = mean E(holdout) + log Z (exact); its standard error is that of the mean energy
    se = float(e.std(ddof=1) / math.sqrt(len(e)))
    return t, acc, se


@pytest.fixture(scope="module")
def runs():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small MLPs: one thread is faster than two fighting on a 2-core machine
    try:
        return {alpha: train(alpha) for alpha in (1.0, 0.0)}
    finally:
        torch.set_num_threads(threads)


def test_both_are_accurate_classifiers(runs):
    # measured at 300 steps, seeds 0/1/2: alpha=1 0.984/0.989/0.994, alpha=0 1.000 (2000 fresh points;
    # binomial SE at p = 0.98 is 0.003), so 0.9 fails only for a classifier that did not learn
    for alpha, (_, acc, _) in runs.items():
        assert acc >= 0.9, (alpha, acc)


def test_only_jem_learns_the_density(runs):
    t1, _, se1 = runs[1.0]
    t0, _, se0 = runs[0.0]
    nll1, nll0 = t1.metrics["nll_exact"], t0.metrics["nll_exact"]
    uniform = math.log(36.0)  # NLL of the uniform density on the (-3, 3)^2 box: knowing nothing
    # Measured (preset, 300 steps; seeds 0/1/2): alpha=1 NLL 2.08/1.89/1.94 (holdout SE 0.04-0.05),
    # alpha=0 NLL 28.3/30.4/25.4 (SE 0.07-0.08); the gap 26.3/28.5/23.4 nats has a seed-to-seed sd of
    # about 2.5 nats. A 10-nat margin is > 5 sd below the smallest gap seen and ~100 holdout SEs, so it
    # fails only when the generative term stops shaping the density (or a plain classifier starts to).
    margin = max(10.0, 5.0 * math.hypot(se0, se1))
    assert nll0 - nll1 > margin, (nll1, nll0)
    # JEM beats the uniform guess by > 1 nat (seed sd ~0.1); the plain classifier is worse than it
    assert nll1 < uniform - 1.0, nll1
    assert nll0 > uniform + 5.0, nll0
    assert np.isfinite(t1.metrics["log_z_exact"]) and np.isfinite(t0.metrics["log_z_exact"])
