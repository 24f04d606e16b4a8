"""Honest summaries of importance weights: log Z, its standard error, ESS, Pareto k-hat, warnings.

For weights w_i = exp(log w_i), i = 1..n (all float64, computed from log w with the max factored out):

    log Z_hat = logmeanexp(log w)
    se        = sqrt(var(w) / n) / mean(w)            (delta method for log of a mean)
    ESS       = (sum w)^2 / sum w^2
    max_weight = max w / sum w
    khat      = shape of a generalized Pareto fit to the largest M = ceil(min(n/5, 3 sqrt(n))) weights
                (Zhang & Stephens 2009, as in PSIS: Vehtari et al. 2015/2024), with the usual weak
                prior pulling k towards 0.5 (weight 10 pseudo-observations).

Non-finite log weights are handled so they never poison the estimate: -inf is a legitimate zero
weight (a particle outside the target's support) and is kept; NaN and +inf are dropped and counted.

Warnings never guess a direction. Uneven, heavy-tailed weights make log Z_hat *usually* too low (forward)
or too high (reverse), but a single run can land on either side, so without an exact reference they say
the estimate is unreliable. With one (exact_log_z), `direction_note` adds the measured side, the sign of
log Z_hat - exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import EbmlabError

KHAT_WARN = 0.7
MAX_WEIGHT_WARN = 0.5
ESS_MIN = 30.0
ESS_FRACTION_MIN = 0.02


@dataclass(frozen=True)
class LogZEstimate:
    """A stochastic log Z estimate with its uncertainty.

    n: particles in the estimate; n_dropped: particles dropped (NaN / +inf weight);
    stderr: delta-method standard error of log_z; run_spread: std of per-run log_z / sqrt(R)
    (only after `combine_runs`); exact_log_z: the exact reference when computable.
    `log_weights` (not serialised) keeps the finite-or-(-inf) log weights for pooling; for a
    reverse (reciprocal) estimate they are the weights of 1/Z and log_z = -logmeanexp(log_weights).
    """

    method: str
    log_z: float
    stderr: float
    ess: float
    n: int
    n_dropped: int
    max_weight: float
    khat: float
    warnings: tuple[str, ...]
    runs: int = 1
    run_spread: float | None = None
    exact_log_z: float | None = None
    log_weights: np.ndarray | None = field(default=None, repr=False, compare=False)
    reciprocal: bool = False

    @property
    def error(self) -> float | None:
        """log_z - exact_log_z, or None without a reference."""
        return None if self.exact_log_z is None else self.log_z - self.exact_log_z

    def to_json(self) -> dict:
        """JSON-ready dict (NaN becomes None; log_weights omitted)."""

        def num(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else float(v)

        return {
            "method": self.method,
            "log_z": num(self.log_z),
            "stderr": num(self.stderr),
            "ess": num(self.ess),
            "n": int(self.n),
            "n_dropped": int(self.n_dropped),
            "max_weight": num(self.max_weight),
            "khat": num(self.khat),
            "warnings": list(self.warnings),
            "runs": int(self.runs),
            "run_spread": num(self.run_spread),
            "exact_log_z": num(self.exact_log_z),
            "error": num(self.error),
        }


def _as_float64(log_w) -> np.ndarray:
    if isinstance(log_w, torch.Tensor):
        log_w = log_w.detach().to("cpu", torch.float64).numpy()
    return np.asarray(log_w, dtype=np.float64).reshape(-1)


def logmeanexp(a: np.ndarray) -> float:
    """log(mean(exp(a))) in float64; -inf entries are zero weights."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    m = float(np.max(a))
    if not math.isfinite(m):
        return m
    return m + math.log(float(np.mean(np.exp(a - m))))


def gpd_fit(x: np.ndarray, prior_k: float = 10.0) -> tuple[float, float]:
    """Generalized Pareto (k, sigma) fit to exceedances x >= 0 (any order) by Zhang & Stephens (2009).

    Profile likelihood over theta = -k / sigma on a grid of m = 30 + sqrt(n) quantile-based points,
    posterior-mean theta, then k = mean(log1p(-theta x)) (k > 0: heavy tail; k = 0: exponential tail;
    k < 0: bounded). The weak prior shrinks k towards 0.5: k <- (n k + prior_k 0.5) / (n + prior_k).
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    if n < 5 or not x[-1] > 0:
        return float("nan"), float("nan")
    m = 30 + int(math.sqrt(n))
    q1 = x[max(int(n / 4 + 0.5) - 1, 0)]
    q1 = q1 if q1 > 0 else x[-1] / n
    theta = 1.0 / x[-1] + (1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))) / (3.0 * q1)
    k = np.log1p(-theta[:, None] * x[None, :]).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = n * (np.log(-theta / k) - k - 1.0)
    ll = np.where(np.isfinite(ll), ll, -np.inf)
    if not np.isfinite(ll.max()):
        return float("nan"), float("nan")
    w = np.exp(ll - ll.max())
    w /= w.sum()
    keep = w >= 10 * np.finfo(float).eps
    w, theta = w[keep], theta[keep]
    w /= w.sum()
    theta_hat = float(np.sum(theta * w))
    k_hat = float(np.log1p(-theta_hat * x).mean())
    sigma = -k_hat / theta_hat if theta_hat != 0 else float("nan")
    k_hat = (n * k_hat + prior_k * 0.5) / (n + prior_k)
    return k_hat, sigma


def pareto_khat(log_w: np.ndarray) -> float:
    """k-hat of the upper tail of w = exp(log w) (PSIS tail: the largest M = ceil(min(n/5, 3 sqrt n))
    weights above the (M+1)-th largest). NaN when fewer than 5 tail weights are positive."""
    lw = np.sort(np.asarray(log_w, dtype=np.float64)[np.isfinite(log_w)])
    n = lw.size
    if n < 10:
        return float("nan")
    M = int(math.ceil(min(0.2 * n, 3.0 * math.sqrt(n))))
    lw = lw - lw[-1]
    cut = lw[n - M - 1]
    tail = lw[n - M :]
    ex = np.exp(tail) - math.exp(cut)
    ex = ex[ex > 0]
    if ex.size < 5:
        return float("nan")
    return gpd_fit(ex)[0]


def weight_warnings(ess: float, n: int, max_weight: float, khat: float, n_dropped: int) -> list[str]:
    """Plain-language reasons why an error bar cannot be trusted (empty when it can)."""
    out: list[str] = []
    total = n + n_dropped
    if n_dropped:
        out.append(
            f"{n_dropped} of {total} particles were dropped (NaN or infinite weight: the energy or a "
            "chain diverged); the estimate uses the rest"
        )
    if ess < ESS_MIN or ess < ESS_FRACTION_MIN * n:
        out.append(
            f"only {ess:.3g} effective particles out of {n}: the weights are very uneven, so the "
            "estimate and its error bar are unreliable; use a closer base distribution or more temperatures"
        )
    if max_weight > MAX_WEIGHT_WARN:
        out.append(
            f"one particle carries {100 * max_weight:.0f}% of the total weight: the estimate rests on a "
            "single draw and its error bar is meaningless"
        )
    if math.isfinite(khat) and khat > KHAT_WARN:
        out.append(
            f"Pareto k-hat = {khat:.2f} > {KHAT_WARN}: the weights have a very heavy tail (their variance "
            "may be infinite), so the standard error is unreliable"
        )
    return out


def direction_note(log_z: float, exact_log_z: float | None, stderr: float) -> str | None:
    """Where the estimate lies against the exact value, by the sign of log_z - exact (None without one)."""
    if exact_log_z is None or not (math.isfinite(log_z) and math.isfinite(exact_log_z)):
        return None
    diff = log_z - exact_log_z
    side = "above" if diff > 0 else "below" if diff < 0 else "exactly at"
    size = f"{abs(diff):.3g} nats " if diff else ""
    z = f" ({abs(diff) / stderr:.1f} standard errors)" if stderr > 0 and math.isfinite(stderr) and diff else ""
    return f"this estimate lies {size}{side} the exact log Z {exact_log_z:.4g}{z}"


def _with_direction(warnings: tuple[str, ...], log_z: float, exact: float | None, stderr: float) -> tuple[str, ...]:
    """The warnings, and when there are some and an exact value exists, the side the estimate fell on."""
    note = direction_note(log_z, exact, stderr) if warnings else None
    return warnings + (note,) if note else warnings


def summarize_log_weights(
    log_w,
    method: str,
    *,
    exact_log_z: float | None = None,
    extra_dropped: int = 0,
    extra_warnings: tuple[str, ...] = (),
    reciprocal: bool = False,
    khat: bool = True,
) -> LogZEstimate:
    """Summarise log weights (n,) (numpy or tensor) into a LogZEstimate (float64 throughout).

    reciprocal=True: the weights estimate 1/Z (reverse AIS), so log_z = -logmeanexp(log w) (same SE).
    extra_dropped: particles already removed upstream. khat=False skips the k-hat fit (running frames).
    Raises EbmlabError when no particle is left or every weight is zero.
    """
    lw = _as_float64(log_w)
    bad = np.isnan(lw) | (lw == np.inf)
    n_dropped = int(bad.sum()) + int(extra_dropped)
    lw = lw[~bad]
    n = lw.size
    if n == 0:
        raise EbmlabError(
            f"all {n_dropped} particles have NaN or infinite weights: the energy is NaN or -inf where "
            "the particles are, or every chain diverged; check the energy and lower the step size"
        )
    m = float(lw.max())
    if m == -np.inf:
        lost = f" and {n_dropped} were dropped (NaN or infinite weight)" if n_dropped else ""
        raise EbmlabError(
            f"no particle has a usable weight: {n} have zero weight{lost}; the base distribution puts no "
            "particle where exp(-E) is finite and non-zero (e.g. outside the box): check the energy and the base"
        )
    r = np.exp(lw - m)
    s1 = float(r.sum())
    s2 = float((r * r).sum())
    lmean = m + math.log(s1 / n)
    ess = s1 * s1 / s2
    max_weight = 1.0 / s1
    if n > 1:
        mean = s1 / n
        var = max(s2 - s1 * s1 / n, 0.0) / (n - 1)
        se = math.sqrt(var / n) / mean
    else:
        se = float("inf")
    k = pareto_khat(lw) if khat else float("nan")
    warnings = tuple(weight_warnings(ess, n, max_weight, k, n_dropped)) + tuple(extra_warnings)
    warnings = _with_direction(warnings, -lmean if reciprocal else lmean, exact_log_z, se)
    return LogZEstimate(
        method=method,
        log_z=-lmean if reciprocal else lmean,
        stderr=se,
        ess=ess,
        n=n,
        n_dropped=n_dropped,
        max_weight=max_weight,
        khat=k,
        warnings=warnings,
        exact_log_z=exact_log_z,
        log_weights=lw,
        reciprocal=reciprocal,
    )


def combine_runs(estimates: list[LogZEstimate]) -> LogZEstimate:
    """Pool R independent runs of one estimator.

    With log weights kept (the default), the pooled estimate is logmeanexp over all weights (the best
    unbiased-in-Z combination). Otherwise Z_hat = sum_r n_r Z_r / N with the delta-method SE
    se = sqrt(sum_r (n_r Z_r se_r)^2) / sum_r n_r Z_r. run_spread = std(log_z_r, ddof=1) / sqrt(R)
    is reported beside the SE (an independent check of it).
    """
    if not estimates:
        raise EbmlabError("combine_runs needs at least one estimate")
    first = estimates[0]
    if any(e.reciprocal != first.reciprocal for e in estimates):
        raise EbmlabError("cannot pool forward and reverse (reciprocal) estimates")
    R = len(estimates)
    per_run = np.array([e.log_z for e in estimates], dtype=np.float64)
    spread = float(np.std(per_run, ddof=1) / math.sqrt(R)) if R > 1 else None
    dropped = sum(e.n_dropped for e in estimates)
    exact = first.exact_log_z
    if all(e.log_weights is not None for e in estimates):
        pooled = np.concatenate([e.log_weights for e in estimates])
        out = summarize_log_weights(
            pooled, first.method, exact_log_z=exact, extra_dropped=dropped, reciprocal=first.reciprocal
        )
        return replace(out, runs=R, run_spread=spread)
    sign = -1.0 if first.reciprocal else 1.0
    lz = sign * per_run  # log of the mean weight of each run
    nr = np.array([e.n for e in estimates], dtype=np.float64)
    a = np.log(nr) + lz
    amax = float(a.max())
    tot = np.exp(a - amax)  # n_r Z_r / max
    log_mean = amax + math.log(float(tot.sum())) - math.log(float(nr.sum()))
    se_arr = np.array([e.stderr for e in estimates], dtype=np.float64)
    se = math.sqrt(float(np.sum((tot * se_arr) ** 2))) / float(tot.sum())
    ess = float(sum(e.ess for e in estimates))
    n = int(nr.sum())
    max_w = float(max(e.max_weight * t for e, t in zip(estimates, tot / tot.sum())))
    warnings = _with_direction(tuple(weight_warnings(ess, n, max_w, float("nan"), dropped)), sign * log_mean, exact, se)
    return LogZEstimate(
        method=first.method,
        log_z=sign * log_mean,
        stderr=se,
        ess=ess,
        n=n,
        n_dropped=dropped,
        max_weight=max_w,
        khat=float("nan"),
        warnings=warnings,
        runs=R,
        run_spread=spread,
        exact_log_z=exact,
        reciprocal=first.reciprocal,
    )


def exact_estimate(log_z: float, n_points: int, warning: str | None = None) -> LogZEstimate:
    """An exact reference dressed as an estimate: stderr 0, exact_log_z = log_z."""
    nan = float("nan")
    warns = (warning,) if warning else ()
    return LogZEstimate("exact", log_z, 0.0, nan, n_points, 0, nan, nan, warns, exact_log_z=log_z)


def bracket(lower: LogZEstimate, upper: LogZEstimate, warnings: tuple[str, ...] = ()) -> LogZEstimate:
    """The BDMC sandwich as one estimate: log_z = midpoint of [lower, upper]; stderr = half the gap and both
    standard errors combined in quadrature, sqrt(gap^2 + se_l^2 + se_u^2) / 2."""
    gap = upper.log_z - lower.log_z
    se = math.sqrt(gap**2 + lower.stderr**2 + upper.stderr**2) / 2
    return LogZEstimate(
        method="bdmc",
        log_z=(lower.log_z + upper.log_z) / 2,
        stderr=se,
        ess=min(lower.ess, upper.ess),
        n=lower.n + upper.n,
        n_dropped=lower.n_dropped + upper.n_dropped,
        max_weight=max(lower.max_weight, upper.max_weight),
        khat=max(lower.khat, upper.khat),
        warnings=tuple(dict.fromkeys(warnings + lower.warnings + upper.warnings)),
        exact_log_z=lower.exact_log_z,
    )
