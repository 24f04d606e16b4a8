"""MCMC diagnostics: acceptance rate, effective sample size, split R-hat (numpy in, floats out).

Layout of `samples`: (n_steps, n_chains) for a scalar quantity, or (n_steps, n_chains, d) for
d coordinates (then ESS and R-hat are returned per dimension as a (d,) array of floats).

ESS follows Stan / ArviZ `ess(method="bulk")`: chains are split in halves (split=True), ranks are
not normalised unless rank=True. Within-chain autocovariances by FFT, combined with the
between-chain variance,
    rho_t = 1 - (W - mean_m acov_m(t)) / var_plus,   var_plus = (n-1)/n W + B/n,
truncated by Geyer's initial positive sequence (pairs rho_{2k} + rho_{2k+1} > 0) made monotone
(initial monotone sequence); tau = -1 + 2 sum_{k} (rho_{2k} + rho_{2k+1}), ESS = M n / tau.
R-hat is the split R-hat of Gelman et al. (BDA3 / Vehtari et al. 2021): every chain is split in
two halves, R-hat = sqrt(var_plus / W); optional rank normalisation.
"""

from __future__ import annotations

import numpy as np
import torch


def acceptance_rate(accepted) -> float:
    """Mean of the accepted indicators (any shape, e.g. (n_steps, n_chains)); NaN if empty."""
    a = np.asarray(accepted, dtype=np.float64)
    return float(a.mean()) if a.size else float("nan")


def _as_3d(samples) -> tuple[np.ndarray, bool]:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        return x[:, :, None], True
    if x.ndim != 3:
        raise ValueError(f"samples must be (n_steps, n_chains) or (n_steps, n_chains, d), got {x.shape}")
    return x, False


def _out(v: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(v[0]) if scalar else v


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    """z = Phi^{-1}((rank - 3/8) / (S + 1/4)) over all steps and chains, per dimension."""
    n, m, d = x.shape
    flat = x.reshape(n * m, d)
    ranks = np.empty_like(flat)
    for j in range(d):  # average ranks for ties
        order = np.argsort(flat[:, j], kind="mergesort")
        r = np.empty(n * m)
        r[order] = np.arange(1, n * m + 1)
        vals = flat[order, j]
        _, start, counts = np.unique(vals, return_index=True, return_counts=True)
        for s, c in zip(start[counts > 1], counts[counts > 1]):
            r[order[s : s + c]] = s + (c + 1) / 2
        ranks[:, j] = r
    p = torch.as_tensor((ranks - 0.375) / (n * m + 0.25))
    return torch.special.ndtri(p).numpy().reshape(n, m, d)


def _autocov(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance along axis 0 of (n, m, d), lags 0..n-1, by FFT."""
    n = x.shape[0]
    xc = x - x.mean(axis=0, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(xc, n=size, axis=0)
    return np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n] / n


def _split(x: np.ndarray) -> np.ndarray:
    """(n, m, d) -> (n // 2, 2m, d): first and last halves as separate chains."""
    h = x.shape[0] // 2
    return np.concatenate([x[:h], x[x.shape[0] - h :]], axis=1)


def effective_sample_size(samples, rank: bool = False, split: bool = True) -> float | np.ndarray:
    """Multi-chain ESS per dimension (see module docstring), in units of draws (n_steps * n_chains).
    Needs n_steps >= 8 (>= 4 per half). Returns NaN for a constant quantity."""
    x, scalar = _as_3d(samples)
    if x.shape[0] < (8 if split else 4):
        raise ValueError(f"ESS needs at least {8 if split else 4} steps per chain, got {x.shape[0]}")
    if rank:
        x = _rank_normalise(x)
    if split:
        x = _split(x)
    n, m, d = x.shape
    acov = _autocov(x)  # (n, m, d)
    chain_mean = x.mean(axis=0)  # (m, d)
    chain_var = acov[0] * n / (n - 1.0)  # (m, d)
    W = chain_var.mean(axis=0)
    B_over_n = chain_mean.var(axis=0, ddof=1) if m > 1 else np.zeros(d)
    var_plus = W * (n - 1.0) / n + B_over_n
    out = np.full(d, np.nan)
    for j in range(d):
        if not var_plus[j] > 0:
            continue
        rho = 1.0 - (W[j] - acov[:, :, j].mean(axis=1)) / var_plus[j]
        rho[0] = 1.0
        n_pairs = n // 2
        pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2).sum(axis=1)
        # initial positive sequence: stop at the first non-positive pair
        neg = np.nonzero(pairs <= 0)[0]
        k = neg[0] if neg.size else n_pairs
        pairs = np.minimum.accumulate(pairs[:k])  # initial monotone sequence
        tau = -1.0 + 2.0 * pairs.sum()
        tau = max(tau, 1.0 / np.log10(n * m))  # ArviZ's guard against absurd super-efficiency
        out[j] = n * m / tau
    return _out(out, scalar)


def split_rhat(samples, rank: bool = False) -> float | np.ndarray:
    """Split R-hat per dimension; ~1 when chains agree, > 1.01-1.1 when they do not.
    Needs n_steps >= 4 (an odd last step is dropped). NaN for a constant quantity."""
    x, scalar = _as_3d(samples)
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"split R-hat needs at least 4 steps per chain, got {n}")
    if rank:
        x = _rank_normalise(x)
    h = n // 2
    halves = _split(x)  # (h, 2m, d)
    W = halves.var(axis=0, ddof=1).mean(axis=0)
    B_over_n = halves.mean(axis=0).var(axis=0, ddof=1)
    var_plus = W * (h - 1.0) / h + B_over_n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(var_plus / W)
    r = np.where(W > 0, r, np.nan)
    return _out(r, scalar)
