"""AIS, reverse AIS, BDMC and importance sampling against exact log Z (quadrature, enumeration, closed form).

Every tolerance is a multiple of the REPORTED standard error (4 SE), never a padded constant.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebmlab.core.energies.base import FunctionEnergy
from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.energies.gaussian import GaussianEnergy
from ebmlab.core.energies.ising import BoltzmannMachine
from ebmlab.core.energies.mixture import GaussianMixtureEnergy
from ebmlab.core.energies.rbm import RBM
from ebmlab.core.errors import ConfigError, EbmlabError, NotNormalisableError
from ebmlab.core.partition.ais import AISParams, ais_frames, bdmc, estimate_log_z, reverse_ais, run_ais
from ebmlab.core.partition.importance import GaussianBase, UniformBoxBase, importance_log_z
from ebmlab.core.partition.schedules import adaptive_schedule, make_schedule
from ebmlab.core.partition.stats import combine_runs
from ebmlab.core.space import ContinuousSpace

RING_EXACT = 2.471842
LOG_QUARTIC = math.lgamma(0.25) - math.log(2.0)  # log int exp(-x^4) dx = log(Gamma(1/4) / 2)


def ring() -> ExpressionEnergy:
    return ExpressionEnergy("0.1*(x**2 + y**2 - 1)**2", box=((-5, 5), (-5, 5)))


def double_well() -> ExpressionEnergy:
    return ExpressionEnergy("(x**2 - 1)**2 + y**2/2", box=((-3, 3), (-3, 3)))


def gaussian_2d() -> GaussianEnergy:
    return GaussianEnergy([0.5, -0.3], [[1.0, 0.6], [0.6, 0.8]])


def mixture_8() -> GaussianMixtureEnergy:
    ang = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    return GaussianMixtureEnergy(torch.stack([3 * ang.cos(), 3 * ang.sin()], 1), scales=0.2)


def quartic_3d() -> tuple[FunctionEnergy, float]:
    """E = sum_i a_i x_i^4; log Z = sum_i [log(Gamma(1/4)/2) - log(a_i)/4]."""
    a = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    energy = FunctionEnergy(lambda x: (a.to(x.dtype) * x**4).sum(1), ContinuousSpace.square(3, -4, 4), name="quartic")
    return energy, float(sum(LOG_QUARTIC - 0.25 * math.log(v) for v in a))


def product_5d() -> tuple[FunctionEnergy, float]:
    """x_0, x_2, x_4 quartic; x_1, x_3 Gaussian with sd 1.0 and 0.7."""
    sd = torch.tensor([1.0, 0.7], dtype=torch.float64)

    def e(x):
        return (x[:, 0::2] ** 4).sum(1) + 0.5 * ((x[:, 1::2] / sd.to(x.dtype)) ** 2).sum(1)

    log_z = 3 * LOG_QUARTIC + sum(0.5 * math.log(2 * math.pi) + math.log(float(s)) for s in sd)
    return FunctionEnergy(e, ContinuousSpace.square(5, -6, 6), name="product5"), log_z


def ising_4x4() -> BoltzmannMachine:
    return BoltzmannMachine.ising_lattice(4, 4, J=0.4, h=0.1)


PARAMS = AISParams(particles=2000, temps=200, seed=0)


def within(est, exact: float, k: float = 4.0) -> bool:
    return abs(est.log_z - exact) <= k * est.stderr


@pytest.mark.parametrize(
    "make, exact",
    [
        (ring, RING_EXACT),
        (double_well, None),
        (gaussian_2d, None),
        (mixture_8, 0.0),
        (ising_4x4, None),
    ],
    ids=["ring", "double_well", "gaussian", "mixture8", "ising4x4"],
)
def test_forward_and_reverse_ais_bracket_the_exact_value(make, exact):
    energy = make()
    params = AISParams(particles=2000, temps=200, seed=0, kernel="gibbs" if energy.is_binary else "mala")
    res = bdmc(energy, params)
    fwd, rev = res.forward, res.reverse
    ref = fwd.exact_log_z
    assert ref is not None
    if exact is not None:
        assert ref == pytest.approx(exact, abs=1e-4)
    if isinstance(energy, GaussianEnergy):  # quadrature on the box vs the closed form over R^2
        assert ref == pytest.approx(energy.log_z_closed_form(), abs=1e-3)
    assert fwd.warnings == () and rev.warnings == () and fwd.n_dropped == rev.n_dropped == 0
    assert within(fwd, ref) and within(rev, ref)
    assert rev.log_z >= fwd.log_z - 4 * res.gap_stderr  # reverse lies above forward up to its error


@pytest.mark.parametrize("kernel", ["hmc", "rwm"])
def test_other_kernels(kernel):
    est = run_ais(double_well(), AISParams(particles=1000, temps=100, kernel=kernel, seed=1)).estimate
    assert within(est, est.exact_log_z)


def test_three_and_five_dimensional_products_against_closed_forms():
    for energy, log_z in (quartic_3d(), product_5d()):
        est = run_ais(energy, PARAMS).estimate
        assert est.exact_log_z is None  # no quadrature above 2-D, no closed form on a FunctionEnergy
        assert within(est, log_z), (energy.describe(), est.log_z, est.stderr, log_z)
    energy, log_z = quartic_3d()
    rev = reverse_ais(energy, PARAMS)  # exact samples from the 3-D grid sampler
    assert within(rev, log_z)


def test_rbm_with_metropolis_flips_against_enumeration():
    energy = RBM(6, 4, seed=0, scale=1.0)
    est = run_ais(energy, AISParams(particles=500, temps=50, kernel="gibbs", seed=2)).estimate
    assert est.exact_log_z is not None and within(est, est.exact_log_z)


def test_importance_sampling_and_uniform_base():
    energy = gaussian_2d()
    est = estimate_log_z(energy, "is", particles=10_000, seed=3)
    assert within(est, est.exact_log_z)
    params = AISParams(particles=1000, temps=100, seed=3)
    est = run_ais(ring(), params, base=UniformBoxBase(((-5, 5), (-5, 5)))).estimate
    assert within(est, RING_EXACT)


def test_reported_se_matches_the_spread_of_independent_runs():
    energy = gaussian_2d()
    runs = [run_ais(energy, AISParams(particles=300, temps=30, seed=100 + r)).estimate for r in range(20)]
    spread = np.std([r.log_z for r in runs], ddof=1)
    mean_se = np.mean([r.stderr for r in runs])
    assert 0.5 < spread / mean_se < 2.0
    pooled = combine_runs(runs)
    assert pooled.runs == 20 and 0.5 < pooled.run_spread / pooled.stderr < 2.0
    assert within(pooled, pooled.exact_log_z)


def test_a_missed_target_is_flagged_not_reported_confidently():
    narrow = GaussianEnergy([8.0, 8.0], [[0.01, 0.0], [0.0, 0.01]], box=((-10, 10), (-10, 10)))
    base = GaussianBase([0.0, 0.0], 1.0)
    for est in (
        estimate_log_z(narrow, "is", base=base, particles=1000),
        estimate_log_z(narrow, "ais", base=base, particles=200, temps=5),
    ):
        assert est.warnings, est
        assert any("effective particles" in w for w in est.warnings)
        assert not within(est, est.exact_log_z)  # the number is wrong, and it says so


def test_chains_hit_by_nan_are_dropped_with_a_count():
    def nan_right(x):
        return torch.where(x[:, 0] > 2.0, torch.nan, 0.1 * ((x * x).sum(1) - 1) ** 2)

    energy = FunctionEnergy(nan_right, ContinuousSpace.square(2, -5, 5), name="nan-right")
    est = estimate_log_z(energy, "ais", particles=500, temps=50, exact_reference=False)
    assert est.n_dropped > 0 and math.isfinite(est.log_z) and math.isfinite(est.stderr)
    assert any("dropped" in w for w in est.warnings)

    # reverse AIS from given samples: rows that are NaN cannot be weighted and are dropped, not averaged
    gen = torch.Generator().manual_seed(0)
    samples = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    samples[:7] = torch.nan
    rev = reverse_ais(ring(), AISParams(particles=300, temps=30), exact_samples=samples)
    assert rev.n_dropped == 7 and rev.n == 293 and math.isfinite(rev.log_z)


@pytest.mark.parametrize("kernel", ["mala", "hmc"])
def test_huge_step_size_neither_crashes_nor_poisons(kernel):
    est = estimate_log_z(ring(), "ais", particles=500, temps=50, step_size=1e4, pilot=False, kernel=kernel)
    assert math.isfinite(est.log_z) and est.n_dropped == 0  # MH rejects every non-finite proposal
    assert any("accepted only" in w for w in est.warnings)
    assert within(est, RING_EXACT)  # degrades to importance sampling, with an honest error bar


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"particles": 1}, "ais.particles: must be >= 2"),
        ({"temps": 0}, "ais.temps: must be >= 1"),
        ({"particles": 300_000}, "ais.particles: must be <= 200000"),
        ({"kernel": "langevin"}, "no Metropolis correction"),
        ({"kernel": "gibbs"}, "binary models"),
        ({"bogus": 1}, "unknown key"),
    ],
)
def test_bad_settings_give_clear_messages(settings, match):
    with pytest.raises(ConfigError, match=match):
        estimate_log_z(ring(), "ais", **settings)


def test_bad_energies_and_methods_give_clear_errors():
    with pytest.raises(ConfigError, match="needs a continuous energy"):
        estimate_log_z(ising_4x4(), "ais", kernel="mala")
    with pytest.raises(EbmlabError, match="method must be one of"):
        estimate_log_z(ring(), "magic")
    nan_all = FunctionEnergy(lambda x: x[:, 0] * torch.nan, ContinuousSpace.square(2, -5, 5))
    with pytest.raises(NotNormalisableError, match="NaN"):
        estimate_log_z(nan_all, "ais", particles=100, temps=10)
    with pytest.raises(EbmlabError, match="NaN or infinite"):
        estimate_log_z(nan_all, "ais", particles=100, temps=10, exact_reference=False, restrict_to_box=False)
    for text in ("-x**2", "-(x**2 + y**2)"):
        with pytest.raises(NotNormalisableError, match="not normalisable"):
            estimate_log_z(ExpressionEnergy(text), "ais", particles=100, temps=10)
    energy, _ = product_5d()
    with pytest.raises(EbmlabError, match="exact samples"):
        reverse_ais(energy, PARAMS)
    with pytest.raises(EbmlabError, match="shape"):
        reverse_ais(ring(), PARAMS, exact_samples=torch.zeros(10, 3))


def test_frames_animate_and_end_with_the_result():
    params = AISParams(particles=400, temps=60, record_every=6, show=100, seed=4)
    frames = list(ais_frames(ring(), params))
    assert len(frames) == 11 and frames[0].beta == 0.0 and frames[0].log_z == 0.0
    assert all(not f.done for f in frames[:-1]) and frames[-1].done
    assert [f.index for f in frames] == list(range(0, 61, 6))
    assert all(f.particles.shape == (100, 2) and f.log_w.shape == (400,) for f in frames)
    res = frames[-1].result
    assert res.trace.snapshots.shape == (11, 100, 2) and res.trace.betas[-1] == 1.0
    curve = res.exact_log_z_beta
    assert curve.shape == (11,) and curve[0] == 0.0 and curve[-1] == pytest.approx(RING_EXACT, abs=1e-3)
    dev = np.abs(res.trace.log_z_beta[1:] - curve[1:]) / res.trace.stderr_beta[1:]
    assert np.all(dev < 4)
    gen = ais_frames(ring(), params)
    next(gen)
    gen.close()  # stopping early is fine


def test_same_seed_same_number():
    a = run_ais(ring(), AISParams(particles=300, temps=30, seed=9)).estimate
    b = run_ais(ring(), AISParams(particles=300, temps=30, seed=9)).estimate
    assert a.log_z == b.log_z and a.stderr == b.stderr


def test_schedules():
    for kind in ("linear", "geometric", "sigmoid"):
        b = make_schedule(kind, 50)
        assert b.shape == (51,) and b[0] == 0.0 and b[-1] == 1.0 and np.all(np.diff(b) > 0)
    assert list(make_schedule("geometric", 1)) == [0.0, 1.0]
    with pytest.raises(EbmlabError):
        make_schedule("cubic", 10)
    b = adaptive_schedule(double_well(), target_cess=0.99, particles=500)
    assert b[0] == 0.0 and b[-1] == 1.0 and np.all(np.diff(b) > 0) and len(b) > 5
    est = run_ais(double_well(), AISParams(particles=1000, temps=100, schedule="adaptive", seed=5)).estimate
    assert within(est, est.exact_log_z)


def test_estimate_log_z_methods_agree_with_exact():
    energy = double_well()
    exact = estimate_log_z(energy, "exact")
    assert exact.stderr == 0.0 and exact.log_z == exact.exact_log_z
    sandwich = estimate_log_z(energy, "bdmc", particles=1000, temps=100)
    assert sandwich.method == "bdmc" and within(sandwich, exact.log_z)
    assert importance_log_z(energy, n=5000).n == 5000
