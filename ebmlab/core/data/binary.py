"""Binary data sets for small binary models (Ising, RBM): bars and stripes, and seeded resampling."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ebmlab.core.data.files import MAX_ROWS
from ebmlab.core.errors import DataError


def bars_and_stripes(size: int, spins: Literal["01", "pm1"] = "01") -> np.ndarray:
    """All distinct size x size bars-and-stripes images, flattened row-major: (2^(size+1) - 2, size*size).

    First the 2^size 'stripe' images (every row constant; row i is on when bit i of the index is set,
    so the all-off image comes first and the all-on image last), then the 2^size - 2 'bar' images
    (every column constant) that are not all-off or all-on. size must be 2..5; values follow `spins`.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= int(size) <= 5:
        raise DataError(f"bars and stripes: size must be an integer in 2..5, got {size!r}")
    if spins not in ("01", "pm1"):
        raise DataError(f"bars and stripes: spins must be '01' or 'pm1', got {spins!r}")
    size = int(size)
    masks = np.arange(2**size)
    bits = ((masks[:, None] >> np.arange(size)[None, :]) & 1).astype(np.float64)  # (2^size, size)
    stripes = np.repeat(bits[:, :, None], size, axis=2)  # image[r, c] = bit r
    bars = np.repeat(bits[1:-1, None, :], size, axis=1)  # image[r, c] = bit c
    images = np.concatenate([stripes, bars], axis=0).reshape(-1, size * size)
    return 2.0 * images - 1.0 if spins == "pm1" else images


def sample_patterns(patterns: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Draw n rows of patterns (m, d) uniformly with replacement using np.random.default_rng(seed): (n, d)."""
    arr = np.asarray(patterns)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"patterns must be a non-empty 2-D array (m, d), got shape {arr.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_ROWS:
        raise DataError(f"number of samples must be an integer in 1..{MAX_ROWS}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    idx = rng.integers(0, arr.shape[0], size=int(n))
    return np.ascontiguousarray(arr[idx], dtype=np.float64)
