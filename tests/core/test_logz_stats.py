"""Importance-weight summaries: log Z, delta-method SE, ESS, Pareto k-hat, warnings, pooling runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from ebmlab.core.errors import EbmlabError
from ebmlab.core.partition.stats import (
    bracket,
    combine_runs,
    exact_estimate,
    gpd_fit,
    pareto_khat,
    summarize_log_weights,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_log_z_se_and_ess_match_direct_formulas():
    lw = rng().normal(0.0, 1.0, 2000)
    s = summarize_log_weights(lw, "is")
    w = np.exp(lw)
    assert s.log_z == pytest.approx(logsumexp(lw) - math.log(lw.size), abs=1e-12)
    assert s.stderr == pytest.approx(w.std(ddof=1) / math.sqrt(w.size) / w.mean(), rel=1e-10)
    assert s.ess == pytest.approx(w.sum() ** 2 / (w * w).sum(), rel=1e-10)
    assert s.max_weight == pytest.approx(w.max() / w.sum(), rel=1e-10)
    assert s.n == 2000 and s.n_dropped == 0 and s.warnings == ()


def test_shift_invariance_and_huge_log_weights():
    lw = rng(1).normal(0.0, 2.0, 500)
    a, b = summarize_log_weights(lw, "is"), summarize_log_weights(lw + 1e5, "is")
    assert b.log_z - a.log_z == pytest.approx(1e5, abs=1e-8)
    assert (b.stderr, b.ess, b.khat) == pytest.approx((a.stderr, a.ess, a.khat), rel=1e-9)


def test_equal_weights_have_zero_error_and_full_ess():
    s = summarize_log_weights(torch.full((100,), 3.0, dtype=torch.float64), "is")
    assert s.log_z == pytest.approx(3.0) and s.stderr == pytest.approx(0.0, abs=1e-12) and s.ess == pytest.approx(100)


def test_non_finite_weights_never_poison_the_estimate():
    lw = np.array([0.0, 0.0, np.nan, np.inf, -np.inf])
    s = summarize_log_weights(lw, "ais")
    # NaN and +inf are dropped with a count; -inf is a legitimate zero weight and is kept
    assert s.n_dropped == 2 and s.n == 3
    assert s.log_z == pytest.approx(math.log(2 / 3))
    assert any("2 of 5 particles were dropped" in w for w in s.warnings)


def test_all_weights_unusable_is_a_clear_error():
    with pytest.raises(EbmlabError, match="NaN or infinite"):
        summarize_log_weights(np.full(10, np.nan), "ais")
    with pytest.raises(EbmlabError, match="zero weight"):
        summarize_log_weights(np.full(10, -np.inf), "is")


def test_one_dominating_weight_is_flagged():
    lw = np.zeros(1000)
    lw[7] = 20.0
    s = summarize_log_weights(lw, "is")
    assert s.max_weight > 0.99 and s.ess < 1.01
    text = " ".join(s.warnings)
    assert "effective particles" in text and "one particle carries" in text


def test_small_ess_fraction_is_flagged_even_with_many_particles():
    lw = rng(2).normal(0.0, 3.5, 20_000)  # ESS ~ n exp(-sigma^2): about 0.1% of n
    s = summarize_log_weights(lw, "is")
    assert s.ess < 0.02 * s.n
    assert any("effective particles" in w for w in s.warnings)


# ---- Pareto k-hat ------------------------------------------------------------------------------------


def gpd_sample(xi: float, n: int, seed: int, sigma: float = 1.0) -> np.ndarray:
    """Generalized Pareto draws by inversion: x = sigma ((1 - u)^(-xi) - 1) / xi."""
    u = rng(seed).random(n)
    return sigma * ((1 - u) ** (-xi) - 1) / xi


@pytest.mark.parametrize("xi", [0.3, 0.8])
def test_khat_recovers_a_known_pareto_tail(xi):
    n = 20_000
    M = math.ceil(min(0.2 * n, 3 * math.sqrt(n)))
    se = (1 + xi) / math.sqrt(M)  # asymptotic SE of the shape estimate from the M tail draws
    k = pareto_khat(np.log1p(gpd_sample(xi, n, seed=int(10 * xi))))
    assert abs(k - xi) < 4 * se


def test_gpd_fit_recovers_shape_and_scale():
    x = gpd_sample(0.5, 5000, seed=3, sigma=2.0)
    k, sigma = gpd_fit(x, prior_k=0.0)
    se = 1.5 / math.sqrt(5000)
    assert abs(k - 0.5) < 4 * se
    assert sigma == pytest.approx(2.0, rel=0.15)


def test_khat_light_and_bounded_tails():
    assert pareto_khat(rng(4).normal(0.0, 0.5, 20_000)) < 0.5  # lognormal weights, small sigma
    assert pareto_khat(np.log(rng(5).random(20_000))) < 0.0  # uniform weights: bounded tail
    assert math.isnan(pareto_khat(np.zeros(5)))  # too few weights to fit a tail


def test_heavy_tail_warning():
    lw = np.log1p(gpd_sample(1.2, 5000, seed=6))
    s = summarize_log_weights(lw, "is")
    assert s.khat > 0.7 and any("k-hat" in w for w in s.warnings)


def test_reported_se_is_calibrated_for_iid_lognormal_weights():
    ests = [summarize_log_weights(rng(100 + r).normal(0.0, 1.0, 1000), "is") for r in range(200)]
    spread = np.std([e.log_z for e in ests], ddof=1)
    mean_se = np.mean([e.stderr for e in ests])
    assert 0.8 < spread / mean_se < 1.25  # 200 replicates: the std itself is known to ~5%


# ---- pooling, JSON ------------------------------------------------------------------------------------


def test_combine_runs_pools_log_weights():
    runs = [summarize_log_weights(rng(20 + r).normal(0, 1, 400), "ais") for r in range(5)]
    pooled = combine_runs(runs)
    direct = summarize_log_weights(np.concatenate([r.log_weights for r in runs]), "ais")
    assert pooled.log_z == pytest.approx(direct.log_z) and pooled.stderr == pytest.approx(direct.stderr)
    assert pooled.runs == 5 and pooled.n == 2000
    per = np.array([r.log_z for r in runs])
    assert pooled.run_spread == pytest.approx(per.std(ddof=1) / math.sqrt(5))


def test_combine_runs_without_log_weights_uses_the_weighted_mean_of_z():
    runs = [summarize_log_weights(rng(30 + r).normal(0, 1, 400), "ais") for r in range(4)]
    bare = [type(r)(**{**r.__dict__, "log_weights": None}) for r in runs]
    a, b = combine_runs(runs), combine_runs(bare)
    assert b.log_z == pytest.approx(a.log_z, abs=1e-12)
    assert b.stderr == pytest.approx(a.stderr, rel=0.05)


def test_combine_runs_refuses_mixing_directions():
    f = summarize_log_weights(np.zeros(10), "ais")
    r = summarize_log_weights(np.zeros(10), "rais", reciprocal=True)
    with pytest.raises(EbmlabError):
        combine_runs([f, r])
    with pytest.raises(EbmlabError):
        combine_runs([])


def test_reciprocal_estimate_negates_log_z():
    lw = rng(7).normal(-2.0, 0.3, 300)
    f, r = summarize_log_weights(lw, "ais"), summarize_log_weights(lw, "rais", reciprocal=True)
    assert r.log_z == pytest.approx(-f.log_z) and r.stderr == pytest.approx(f.stderr)


def test_to_json_is_plain_json():
    s = summarize_log_weights(np.zeros(3), "is", exact_log_z=0.5)
    d = json.loads(json.dumps(s.to_json()))
    assert d["khat"] is None and d["exact_log_z"] == 0.5 and d["error"] == pytest.approx(-0.5)
    assert "log_weights" not in d


def test_exact_and_bracket_helpers():
    e = exact_estimate(1.5, 100, "edge")
    assert e.stderr == 0.0 and e.exact_log_z == 1.5 and e.warnings == ("edge",)
    lo = summarize_log_weights(np.zeros(10), "ais")
    hi = type(lo)(**{**lo.__dict__, "log_z": 0.2})
    b = bracket(lo, hi)
    assert b.log_z == pytest.approx(0.1) and b.stderr == pytest.approx(0.1)


# ---------------------------------------------------------------------- the side of the exact value, honestly
DIRECTION_WORDS = ("too low", "too high", "above", "below", "underestimate", "overestimate")


def heavy_tailed(seed: int = 3) -> np.ndarray:
    """Log weights whose ESS is tiny (lognormal with sigma 3, 500 particles): the estimate is unreliable."""
    return rng(seed).normal(0.0, 3.0, 500)


def test_without_an_exact_value_an_uneven_estimate_is_unreliable_in_no_direction():
    s = summarize_log_weights(heavy_tailed(), "ais")
    ess_warning = next(w for w in s.warnings if "effective particles" in w)
    assert "unreliable" in ess_warning
    assert not any(word in w for w in s.warnings for word in DIRECTION_WORDS), s.warnings
    pooled = combine_runs([s, summarize_log_weights(heavy_tailed(4), "ais")])
    assert not any(word in w for w in pooled.warnings for word in DIRECTION_WORDS), pooled.warnings


@pytest.mark.parametrize("offset,side", [(-0.5, "above"), (0.5, "below")])
def test_with_an_exact_value_the_stated_side_matches_the_sign_of_the_error(offset, side):
    lw = heavy_tailed()
    est = summarize_log_weights(lw, "ais").log_z
    exact = est + offset  # estimate - exact = -offset
    s = summarize_log_weights(lw, "ais", exact_log_z=exact)
    notes = [w for w in s.warnings if "exact log Z" in w]
    assert notes == [
        f"this estimate lies 0.5 nats {side} the exact log Z {exact:.4g} ({0.5 / s.stderr:.1f} standard errors)"
    ]
    assert (s.error > 0) == (side == "above")
    other = "below" if side == "above" else "above"
    assert not any(other in w or "too low" in w or "too high" in w for w in s.warnings), s.warnings
    # reverse AIS estimates 1/Z: the side is that of its reported log Z, never of the weights' mean
    r = summarize_log_weights(lw, "rais", exact_log_z=-est - offset, reciprocal=True)
    assert (r.log_z - r.exact_log_z > 0) == (side == "below")
    assert any(("above" if r.log_z > r.exact_log_z else "below") in w for w in r.warnings), r.warnings
    # pooled runs without their log weights keep the rule
    import dataclasses

    bare = dataclasses.replace(s, log_weights=None)
    pooled = combine_runs([bare, bare])
    note = next(w for w in pooled.warnings if "exact log Z" in w)
    assert side in note
    # a clean estimate gets no note at all
    assert summarize_log_weights(rng(5).normal(0.0, 0.1, 2000), "ais", exact_log_z=0.5).warnings == ()
