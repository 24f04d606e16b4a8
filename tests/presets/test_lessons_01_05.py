"""Lessons 1-5 (bundled presets) show what their notes claim.

Each test loads the bundled preset, trains it headless with its own seed and checks the claim of its notes
against the exact references (quadrature log Z and NLL) with tolerances derived from standard errors.
The display chains (`chains.n`) are switched off and the exact evaluation is done only when needed: neither
changes the training numbers (they use their own generators), they only cost time.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ebmlab.config.presets import BUNDLED_DIR, load_preset
from ebmlab.config.schema import Experiment, parse_override, with_overrides
from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.estimators.mle import MLEImpl, MLEParams
from ebmlab.core.partition.exact import log_z_quadrature
from ebmlab.core.trainer import Trainer

QUIET = ["chains.n=0", "training.eval_every=1000000"]  # no display chains, no evaluation in between


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def lesson(stem: str, *overrides: str) -> Experiment:
    exp = load_preset(BUNDLED_DIR / f"{stem}.json").experiment
    return with_overrides(exp, [parse_override(o) for o in (*QUIET, *overrides)])


def train(exp: Experiment, steps: int, every=None, each_step=None) -> Trainer:
    """Train `steps` steps; call every(trainer) after each multiple of 50 steps, each_step(trainer) after each."""
    t = Trainer(exp)
    for i in range(1, steps + 1):
        assert t.step(), t.message
        if each_step is not None:
            each_step(t)
        if every is not None and i % 50 == 0:
            every(t)
    t.evaluate()
    return t


def true_log_z(exp: Experiment) -> float:
    """Exact log Z (on the model's box) of the energy that generated the data (data kind 'energy')."""
    d = exp.data.settings
    box = exp.model.settings.box * 2 if len(exp.model.settings.box) == 1 else exp.model.settings.box
    target = ExpressionEnergy(d.expression, params=d.params, trainable=[], dim=2, box=tuple(map(tuple, box)))
    return float(log_z_quadrature(target.double(), n=400).log_z)


def mle_standard_errors(t: Trainer) -> dict[str, float]:
    """Asymptotic standard errors of the maximum-likelihood estimates of the model's scalar parameters,
    sqrt(diag(H^-1) / N) with H the Hessian of the exact mean NLL of the N training points (autograd
    through the quadrature log Z)."""
    names = list(t.energy.trainable_names)
    params = [p for p in t.energy.parameters() if p.requires_grad]
    data = t.train_data.double()
    nll = MLEImpl(MLEParams(), SimpleNamespace(space=t.energy.space, data=data)).loss(t.energy, data, None, None)[0]
    grads = torch.autograd.grad(nll, params, create_graph=True)
    rows = [torch.stack([h.reshape(()) for h in torch.autograd.grad(g, params, retain_graph=True)]) for g in grads]
    cov = torch.linalg.inv(torch.stack(rows)) / len(data)
    return {n: float(cov[i, i].sqrt()) for i, n in enumerate(names)}


def mixture_weight(t: Trainer) -> float:
    return 1.0 / (1.0 + math.exp(-t.energy.named_scalars()["t"]))


def entropy_on_grid(t: Trainer) -> float:
    """Exact differential entropy -∫ p log p of the model on its box (quadrature on a 128² grid)."""
    land = t.landscape(128)
    lp = land.log_density.astype(np.float64)
    cell = float(np.prod([a[1] - a[0] for a in land.axes]))
    return float(-(np.exp(lp) * lp).sum() * cell)


# --------------------------------------------------------------------------- lesson 1
def test_lesson_01_mle_moves_log_z_and_recovers_the_ring():
    exp = lesson("01_partition_function")
    t0 = Trainer(exp)
    nll0, log_z0 = t0.metrics["nll_exact"], t0.metrics["log_z_exact"]
    t = train(exp, 600)
    nll, log_z = t.metrics["nll_exact"], t.metrics["log_z_exact"]
    truth = {"a": 2.0, "r": 1.5}  # the data are exact samples of 2*(x**2 + y**2 - 1.5**2)**2
    se = mle_standard_errors(t)  # about 0.07 for a, 0.004 for r (N = 1600 training points)
    params = t.energy.named_scalars()
    for name, value in truth.items():
        assert abs(params[name] - value) < 4 * se[name], (name, params[name], se[name])
    # log Z follows the parameters: from the start (a = 0.1, r = 0.5) to the truth's log Z, within the error
    # that the SE of a implies (log Z ~ const - log(a) / 2 for a thin ring).
    lz_true = true_log_z(exp)  # 1.3705
    assert abs(log_z - lz_true) < 4 * 0.5 * se["a"] / truth["a"], (log_z, lz_true)
    assert log_z0 - log_z > 0.8, (log_z0, log_z)  # notes: 2.26 -> 1.37
    # The held-out NLL falls from 2.71 to below the value stated in the notes (the true density scores 1.91 on
    # these held-out points).
    assert nll0 > 2.6 and nll < 1.95, (nll0, nll)


# --------------------------------------------------------------------------- lesson 2
class SideTracker:
    """Which persistent (PCD) chains have been on both sides of the valley at x = 0 since the first step."""

    def __init__(self):
        self.start: torch.Tensor | None = None
        self.changed: torch.Tensor | None = None

    def __call__(self, t: Trainer) -> None:
        side = t.est_state.chains[:, 0] > 0
        if self.start is None:
            self.start, self.changed = side.clone(), torch.zeros_like(side)
        self.changed |= side != self.start

    def fraction(self) -> float:
        return float(self.changed.double().mean())


def test_lesson_02_cd1_misses_the_mode_weight_and_pcd_finds_it():
    steps = 600
    runs = {"cd1": train(lesson("02_cd_vs_pcd"), steps), "cd10": train(lesson("02_cd_vs_pcd", "estimator.k=10"), steps)}
    crossed = SideTracker()
    runs["pcd"] = train(lesson("02_cd_vs_pcd", "estimator.name=pcd"), steps, each_step=crossed)
    w = {k: mixture_weight(t) for k, t in runs.items()}
    n = len(runs["cd1"].train_data)
    se = math.sqrt(0.8 * 0.2 / n)  # SE of the weight's MLE (the fraction of data in the right mode): 0.010
    err = {k: abs(v - 0.8) for k, v in w.items()}
    # CD-1 hardly moves from 0.5; CD-10 moves a little; PCD gets close to 0.8.
    assert abs(w["cd1"] - 0.5) < 3 * se, w
    assert w["cd10"] - w["cd1"] > 3 * se, w
    assert err["cd1"] > err["cd10"] > err["pcd"] + 3 * se, w
    assert err["cd1"] > err["pcd"] + 10 * se, w
    # PCD's persistent chains are in the snapshot, and they mix (slowly): a good share crossed the valley.
    snap = runs["pcd"].snapshot()
    assert snap.negatives is not None and snap.negatives.shape == (256, 1)
    assert snap.chain_age is not None and float(snap.chain_age.min()) == steps
    assert crossed.fraction() > 0.25, crossed.fraction()
    # CD's negatives are drawn too (one MALA step from the batch).
    assert runs["cd1"].snapshot().negatives is not None


# --------------------------------------------------------------------------- lesson 3
def test_lesson_03_score_matching_learns_two_moons():
    nlls: list[float] = []

    def record(t: Trainer) -> None:
        if t.step_count >= 500:
            t.evaluate()
            nlls.append(t.metrics["nll_exact"])

    t = train(lesson("03_score_matching"), 700, every=record)
    # The best single Gaussian (maximum likelihood on the training points) on the same held-out points.
    x, h = t.train_data.double().numpy(), t.holdout.double().numpy()
    m, c = x.mean(0), np.cov(x.T, bias=True)
    d = h - m
    gauss = 0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(c), d) + 0.5 * np.log(np.linalg.det(2 * np.pi * c))
    with torch.no_grad():
        model = t.energy(t.holdout).double().numpy() + t.metrics["log_z_exact"]
    paired_se = float(np.std(gauss - model) / math.sqrt(len(h)))
    # SM's NLL jitters by 0.1-0.2 nats between evaluations (the network sharpens and relaxes), so the claim is on
    # the mean of the five evaluations at steps 500-700: below 2.0 nats (the notes say about 1.5), and the final
    # model beats the Gaussian (2.5) by more than 5 paired standard errors.
    assert len(nlls) == 5
    assert np.mean(nlls) < 2.0, nlls
    assert gauss.mean() - model.mean() > 5 * paired_se, (gauss.mean(), model.mean(), paired_se)


def test_lesson_03_score_matching_is_blind_to_weights_of_separated_modes():
    # Lesson 2's model and data with the modes at +-3 (they barely touch): the score inside each mode does not
    # depend on the weights, so SM leaves w at its start, 0.5, while exact maximum likelihood finds 0.8.
    model = "-logsumexp(log(sigmoid(t)) - (x - 3)**2/(2*s**2), log(1 - sigmoid(t)) - (x + 3)**2/(2*s**2))"
    data = "-logsumexp(log(0.8) - (x - 3)**2/(2*0.5**2), log(0.2) - (x + 3)**2/(2*0.5**2))"
    common = [f"model.expression={model}", f"data.expression={data}", "model.box=[[-6, 6]]"]
    common += ["optimiser.name=adam", "optimiser.lr=0.05", "optimiser.decay=0"]
    w = {}
    for est in ("sm", "mle"):
        t = train(lesson("02_cd_vs_pcd", *common, f"estimator.name={est}"), 300)
        w[est] = mixture_weight(t)
    se = math.sqrt(0.8 * 0.2 / len(t.train_data))
    assert abs(w["sm"] - 0.5) < 1e-3, w  # not even a step: Adam rescales a gradient of ~1e-16 to ~1e-8 * lr
    assert abs(w["mle"] - 0.8) < 4 * se, w


# --------------------------------------------------------------------------- lesson 4
def test_lesson_04_large_sigma_learns_a_smoother_broader_density():
    steps = 600
    runs = {s: train(lesson("04_denoising_score_matching", f"estimator.sigma={s}"), steps) for s in (0.05, 0.5)}
    h = {s: entropy_on_grid(t) for s, t in runs.items()}
    # DSM fits p_data * N(0, sigma^2 I). The moons are thin curves of cross-section std 0.1 (the toy noise), so
    # smoothing widens the cross-section from sqrt(0.1^2 + 0.05^2) = 0.11 to sqrt(0.1^2 + 0.5^2) = 0.51: the
    # entropy of the ideal smoothed densities differs by about log(0.51 / 0.11) = 1.5 nats. Claim at least half.
    predicted = math.log(math.sqrt(0.01 + 0.25) / math.sqrt(0.01 + 0.0025))
    assert h[0.5] - h[0.05] > 0.5 * predicted, h
    # The price: the held-out NLL is worse with the large sigma by many paired standard errors.
    hold = runs[0.05].holdout
    with torch.no_grad():
        nll = {s: t.energy(hold).double().numpy() + t.metrics["log_z_exact"] for s, t in runs.items()}
    diff = nll[0.5] - nll[0.05]
    se = float(np.std(diff) / math.sqrt(len(diff)))
    assert diff.mean() > 0.5 and diff.mean() > 5 * se, (diff.mean(), se)
    assert runs[0.05].metrics["nll_exact"] < 1.8, runs[0.05].metrics  # notes: about 1.5


# --------------------------------------------------------------------------- lesson 5
def test_lesson_05_nce_learns_log_z_with_good_noise_and_fails_with_narrow_noise():
    good = train(lesson("05_nce"), 600)
    exp = good.exp
    n = len(good.train_data)
    nu = exp.estimator.settings.nu
    # c is the intercept of a logistic regression of data (N points) against noise (nu N points): its standard
    # error is at best sqrt(1/N + 1/(nu N)) = 0.035 here; noise redrawn at every step only lowers it.
    se_c = math.sqrt(1 / n + 1 / (nu * n))
    m = good.metrics
    assert abs(m["c"] - m["log_z_exact"]) < 4 * se_c, (m["c"], m["log_z_exact"], se_c)
    assert abs(m["log_z_exact"] - true_log_z(exp)) < 4 * se_c, m
    assert m["nll_exact"] < 1.95, m  # as exact maximum likelihood in lesson 1
    # The notes' failure: Fit scale 0.3 from scratch. The noise covers only the ring's hole; the energy falls
    # where no noise goes, log Z runs away from c and the NLL explodes, until the divergence guard pauses the run
    # (held-out NLL 23 nats past the uniform density's, ebmlab.core.divergence) keeping the model of the evaluation
    # before. With the preset's own evaluations (every 20 steps; measured: pauses at step 360, NLL 36.9).
    every = load_preset(BUNDLED_DIR / "05_nce.json").experiment.training.eval_every
    t = Trainer(lesson("05_nce", "estimator.fit_scale=0.3", f"training.eval_every={every}"))
    stopped = next((i for i in range(1, 601) if not t.step()), None)
    assert stopped is not None and t.status == "error", "the guard never stopped the runaway"
    assert t.message.startswith(f"training diverged at step {stopped}: held-out NLL"), t.message
    kept = t.checkpoint.step
    assert kept == stopped - every and f"the model from step {kept} was kept" in t.message, t.message
    steps, nll = t.history.export()["nll_exact"]
    assert steps[-1] == stopped and nll[-1] > math.log(36.0) + 23, (steps[-1], nll[-1])  # the explosion, on the plot
    bad = t.metrics  # the kept model's numbers
    assert bad["nll_exact"] > m["nll_exact"] + 10, bad
    assert abs(bad["c"] - bad["log_z_exact"]) > 10, bad
    assert bad["log_z_exact"] > 20 and bad["c"] < 5, bad  # notes: log Z climbs past 20 nats while c stays below 5
