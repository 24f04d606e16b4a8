"""Two-dimensional toy data sets, all seeded through a numpy Generator and fitting roughly in (-3, 3)^2.

Every set is a function ``fn(n, rng, noise) -> (points (n, 2) float64, labels (n,) int64)``.
``noise`` is the one "blur" knob; its meaning per set is given in the set's description.
Nothing here touches numpy's or torch's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ebmlab.core.errors import DataError

ToyFn = Callable[[int, np.random.Generator, float], tuple[np.ndarray, np.ndarray]]

MAX_POINTS = 10_000_000


@dataclass(frozen=True)
class ToySet:
    """A registered toy set: ``fn(n, rng, noise)`` returns points (n, 2) float64 and labels (n,) int64."""

    name: str
    fn: ToyFn
    description: str
    n_classes: int
    default_noise: float


def _out(points: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(points, dtype=np.float64), np.ascontiguousarray(labels, dtype=np.int64)


def eight_gaussians(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Eight isotropic Gaussians (std = noise) centred on the circle of radius 2; label = component 0..7."""
    labels = rng.integers(0, 8, size=n)
    angles = labels * (2.0 * math.pi / 8.0)
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _out(centres + noise * rng.standard_normal((n, 2)), labels)


def two_moons(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles scaled to about [-2, 2] x [-1, 1]; label = moon 0/1; noise = std."""
    labels = rng.integers(0, 2, size=n)
    t = rng.uniform(0.0, math.pi, size=n)
    x = np.where(labels == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(labels == 0, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x - 0.5, y - 0.25], axis=1) * (4.0 / 3.0)
    return _out(pts + noise * rng.standard_normal((n, 2)), labels)


def swiss_roll(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D Swiss roll (t cos t, t sin t), t in [1.5 pi, 4.5 pi], scaled to radius 2.5; label 0."""
    t = 1.5 * math.pi * (1.0 + 2.0 * rng.uniform(0.0, 1.0, size=n))
    pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) * (2.5 / (4.5 * math.pi))
    return _out(pts + noise * rng.standard_normal((n, 2)), np.zeros(n, dtype=np.int64))


RING_RADII = (1.0, 2.0)


def rings(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric rings of radii 1 and 2 (radial std = noise); label = ring 0/1."""
    labels = rng.integers(0, len(RING_RADII), size=n)
    theta = rng.uniform(0.0, 2.0 * math.pi, size=n)
    r = np.asarray(RING_RADII)[labels] + noise * rng.standard_normal(n)
    return _out(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1), labels)


def checkerboard(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on the 8 'black' unit squares of a 4x4 board on [-2, 2]^2 (column + row index even).

    Label = column parity (0/1), which splits the black squares into two classes; noise = std of an
    added Gaussian jitter (0 keeps every point inside a black square).
    """
    col = rng.integers(0, 4, size=n)
    row = rng.integers(0, 2, size=n) * 2 + (col % 2)  # row + col even
    u = rng.uniform(0.0, 1.0, size=(n, 2))
    pts = np.stack([col + u[:, 0], row + u[:, 1]], axis=1) - 2.0
    if noise > 0:
        pts = pts + noise * rng.standard_normal((n, 2))
    return _out(pts, col % 2)


def pinwheel(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Five curved arms (radial std 0.3, tangential std = noise), radius up to about 2.8; label = arm."""
    n_arms, rate = 5, 0.25
    labels = rng.integers(0, n_arms, size=n)
    feats = rng.standard_normal((n, 2)) * np.array([0.3, noise])
    feats[:, 0] += 1.0
    angles = labels * (2.0 * math.pi / n_arms) + rate * np.exp(feats[:, 0])
    c, s = np.cos(angles), np.sin(angles)
    x = c * feats[:, 0] - s * feats[:, 1]
    y = s * feats[:, 0] + c * feats[:, 1]
    return _out(1.5 * np.stack([x, y], axis=1), labels)


def two_spirals(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (1.5 turns) scaled to radius about 2.4; label = spiral 0/1; noise = std."""
    labels = rng.integers(0, 2, size=n)
    t = np.sqrt(rng.uniform(0.0, 1.0, size=n)) * 3.0 * math.pi
    sign = np.where(labels == 0, 1.0, -1.0)
    pts = sign[:, None] * np.stack([-np.cos(t) * t, np.sin(t) * t], axis=1) / 4.0
    return _out(pts + noise * rng.standard_normal((n, 2)), labels)


def gaussian(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """One isotropic Gaussian at the origin with std = noise (default 1); label 0."""
    return _out(noise * rng.standard_normal((n, 2)), np.zeros(n, dtype=np.int64))


TOY_SETS: dict[str, ToySet] = {
    s.name: s
    for s in (
        ToySet("eight_gaussians", eight_gaussians, "8 Gaussians on a circle of radius 2 (noise = std)", 8, 0.1),
        ToySet("two_moons", two_moons, "two interleaved half moons (noise = std)", 2, 0.1),
        ToySet("swiss_roll", swiss_roll, "a 2-D Swiss roll spiral (noise = std)", 1, 0.1),
        ToySet("rings", rings, "two concentric rings of radii 1 and 2 (noise = radial std)", 2, 0.08),
        ToySet("checkerboard", checkerboard, "uniform on the black squares of a 4x4 board", 2, 0.0),
        ToySet("pinwheel", pinwheel, "five curved pinwheel arms (noise = tangential std)", 5, 0.1),
        ToySet("two_spirals", two_spirals, "two interleaved spirals (noise = std)", 2, 0.1),
        ToySet("gaussian", gaussian, "a single Gaussian at the origin (noise = std)", 1, 1.0),
    )
}


def make_toy(name: str, n: int, seed: int, noise: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points of toy set `name` with ``np.random.default_rng(seed)``.

    Returns points (n, 2) float64 and labels (n,) int64. noise=None uses the set's default.
    Raises DataError for an unknown name, n outside 1..10_000_000 or a negative/non-finite noise.
    """
    toy = TOY_SETS.get(name) if isinstance(name, str) else None
    if toy is None:
        raise DataError(f"unknown toy data set {name!r}; known sets: {', '.join(sorted(TOY_SETS))}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_POINTS:
        raise DataError(f"toy set {name!r}: number of points must be an integer in 1..{MAX_POINTS}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise DataError(f"toy set {name!r}: seed must be a non-negative integer, got {seed!r}")
    nz = toy.default_noise if noise is None else noise
    try:
        nz = float(nz)
    except (TypeError, ValueError):
        raise DataError(f"toy set {name!r}: noise must be a number, got {noise!r}") from None
    if not (math.isfinite(nz) and nz >= 0.0):
        raise DataError(f"toy set {name!r}: noise must be finite and >= 0, got {noise!r}")
    rng = np.random.default_rng(int(seed))
    return toy.fn(int(n), rng, nz)
