"""Data kinds, each a typed settings dataclass and a builder: settings -> points (n, d) [+ labels].

Registered in DATA_KINDS ('toy', 'energy', 'file', 'points', 'bars_and_stripes', 'patterns');
the preset's `data` section is {"kind": NAME, ...fields}. File paths are resolved by the caller's
`resolve(path) -> Path` (presets confine them to the preset's folder).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .energies.base import Energy
from .errors import ConfigError, DataError, ExpressionError
from .grid import check_grid_cost
from .params import param
from .registry import Registry
from .space import BinarySpace, ContinuousSpace

MAX_POINTS = 1_000_000
MAX_CLASS_LABEL = 9999  # class labels are 0, 1, 2, ...; a classifier has at most 16 classes (model.classes)


@dataclass(frozen=True)
class DataSet:
    """Training data: points (n, d) float64, labels (n,) int64 or None, and a one-line origin."""

    points: np.ndarray
    labels: np.ndarray | None
    origin: str


@dataclass(frozen=True)
class DataKind:
    name: str
    params_cls: type
    build: Callable[..., DataSet]  # build(settings, energy, seed, resolve) -> DataSet
    space: str  # "continuous" | "binary"
    description: str = ""


DATA_KINDS: Registry[DataKind] = Registry("data kind")


@dataclass(frozen=True)
class ToyData:
    name: str = param("two_moons", help="one of the 2-D toy sets")
    n: int = param(2000, lo=2, hi=MAX_POINTS)
    noise: float | None = param(None, lo=0.0)


def _toy(s: ToyData, energy: Energy, seed: int, resolve) -> DataSet:
    from .data import make_toy

    pts, labels = make_toy(s.name, s.n, seed, s.noise)
    return DataSet(pts, labels, f"toy set {s.name!r}, {s.n} points")


@dataclass(frozen=True)
class EnergyData:
    """Exact samples (grid inverse-CDF) of a 1-2-D energy expression: the data's true density is known."""

    expression: str = param("(x**2 - 1)**2 + y**2/2")
    params: dict[str, float] = field(default_factory=dict)
    n: int = param(2000, lo=2, hi=MAX_POINTS)
    grid_points: int = param(512, lo=16, hi=4096)


def _energy_data(s: EnergyData, energy: Energy, seed: int, resolve) -> DataSet:
    from .energies.expression import ExpressionEnergy
    from .samplers.grid import sample_exact

    space = energy.space
    if not isinstance(space, ContinuousSpace) or space.dim > 2:
        raise DataError("data.kind 'energy' draws exact samples for 1-2-D continuous models only")
    try:
        target = ExpressionEnergy(s.expression, params=s.params, trainable=[], dim=space.dim, box=space.box)
    except ExpressionError as e:  # say which expression: the model has one too
        raise ConfigError([f"data.expression: {e}"]) from None
    check_grid_cost(s.grid_points, space.dim, "data.grid_points")
    gen = torch.Generator().manual_seed(seed)
    pts = sample_exact(target.double(), s.n, gen, grid_points=s.grid_points)
    return DataSet(pts.numpy().astype(np.float64), None, f"{s.n} exact samples of {s.expression}")


@dataclass(frozen=True)
class FileData:
    path: str = param("points.csv", help="CSV or NPY file, relative to the preset's folder")


def _file(s: FileData, energy: Energy, seed: int, resolve) -> DataSet:
    from .data import load_points

    p: Path = resolve(s.path)
    pts = load_points(str(p), dim=energy.space.dim, max_rows=MAX_POINTS)
    return DataSet(pts, None, f"{len(pts)} points from {p.name}")


@dataclass(frozen=True)
class PointsData:
    """An explicit list of points (e.g. painted in the window); saved inside the preset.

    labels: one integer class label 0..MAX_CLASS_LABEL per point, or None. Checked on construction
    (ConfigError naming `data.labels[i]`), so a preset with bad labels is refused when it is read."""

    points: list[list[float]] = field(default_factory=list)
    labels: list[int] | None = None

    def __post_init__(self) -> None:
        if self.labels is not None:
            check_labels(self.labels, len(self.points) if isinstance(self.points, (list, tuple)) else None)


def check_labels(labels: object, n_points: int | None, where: str = "data.labels") -> np.ndarray:
    """labels (n,) -> int64 array, or ConfigError naming the first bad entry (`data.labels[3]: ...`)."""
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)):
        raise ConfigError([f"{where}: must be a list of integer class labels, got {type(labels).__name__}"])
    if set(map(type, labels)) <= {int}:  # the usual case, checked at once (painted sets reach 1e6 points)
        arr = np.asarray([v if 0 <= v <= MAX_CLASS_LABEL else -1 for v in labels], dtype=np.int64)
        first = int(np.argmax(arr < 0)) if len(arr) and (arr < 0).any() else None
    else:
        arr, first = None, 0
    if first is not None:
        for i, v in enumerate(labels[first:], start=first):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ConfigError([f"{where}[{i}]: must be an integer class label, got {repr(v)[:40]}"])
            if not 0 <= v <= MAX_CLASS_LABEL:
                shown = str(v) if abs(v) < 10**20 else "an integer of more than 20 digits"
                raise ConfigError(
                    [f"{where}[{i}]: must be an integer class label from 0 to {MAX_CLASS_LABEL}, got {shown}"]
                )
        arr = np.asarray(labels, dtype=np.int64)  # numpy integers, all in range
    if n_points is not None and len(labels) != n_points:
        raise ConfigError([f"{where}: {len(labels)} labels for {n_points} points (one label per point)"])
    return arr.reshape(len(labels))


def _points(s: PointsData, energy: Energy, seed: int, resolve) -> DataSet:
    from .data import points_from_list

    pts = points_from_list(s.points, energy.space.dim, where="data.points")
    labels = None if s.labels is None else check_labels(s.labels, len(pts))
    return DataSet(pts, labels, f"{len(pts)} listed points")


@dataclass(frozen=True)
class BarsAndStripesData:
    size: int = param(3, lo=2, hi=5)
    n: int = param(1000, lo=1, hi=MAX_POINTS, help="training patterns drawn uniformly from the set")


def _bars(s: BarsAndStripesData, energy: Energy, seed: int, resolve) -> DataSet:
    from .data import bars_and_stripes, sample_patterns

    space = energy.space
    if not isinstance(space, BinarySpace) or space.n != s.size * s.size:
        raise DataError(f"data: {s.size}x{s.size} bars-and-stripes needs a binary model with {s.size**2} units")
    pats = bars_and_stripes(s.size, spins=space.spins)
    return DataSet(sample_patterns(pats, s.n, seed), None, f"{s.size}x{s.size} bars and stripes")


@dataclass(frozen=True)
class PatternsData:
    path: str = param("patterns.csv", help="binary patterns, one per row, relative to the preset's folder")


def _patterns(s: PatternsData, energy: Energy, seed: int, resolve) -> DataSet:
    from .data import load_patterns

    space = energy.space
    if not isinstance(space, BinarySpace):
        raise DataError("data.kind 'patterns' needs a binary model")
    p: Path = resolve(s.path)
    return DataSet(load_patterns(str(p), space.n, space.spins), None, f"patterns from {p.name}")


for _kind in (
    DataKind("toy", ToyData, _toy, "continuous", "a seeded 2-D toy set"),
    DataKind("energy", EnergyData, _energy_data, "continuous", "exact samples of a known energy"),
    DataKind("file", FileData, _file, "continuous", "points from a CSV or NPY file"),
    DataKind("points", PointsData, _points, "continuous", "an explicit list of points"),
    DataKind("bars_and_stripes", BarsAndStripesData, _bars, "binary", "bars-and-stripes patterns"),
    DataKind("patterns", PatternsData, _patterns, "binary", "binary patterns from a file"),
):
    DATA_KINDS.register(_kind.name, _kind)


def default_resolve(path: str) -> Path:
    return Path(path)


def build_data(kind: str, settings, energy: Energy, seed: int, resolve=default_resolve) -> DataSet:
    """Build the data set; its dimension must match the model's space."""
    k = DATA_KINDS.get(kind)
    is_binary = isinstance(energy.space, BinarySpace)
    if (k.space == "binary") != is_binary:
        model = "binary" if is_binary else "continuous"
        raise DataError(f"data kind {kind!r} is for {k.space} models; the model is {model}")
    ds = k.build(settings, energy, seed, resolve)
    if ds.points.ndim != 2 or ds.points.shape[1] != energy.space.dim:
        raise DataError(f"data has shape {ds.points.shape}; the model needs points of dimension {energy.space.dim}")
    if len(ds.points) < 2:
        raise DataError("data: at least 2 points are needed to train")
    _check_representable(ds)
    return ds


def _check_representable(ds: DataSet) -> None:
    """Every coordinate finite and within the float32 range (training may run in float32, snapshots always do)."""
    from .data.files import FLOAT32_MAX

    bad = ~(np.abs(ds.points) <= FLOAT32_MAX)
    if bad.any():
        i, j = np.unravel_index(int(np.argmax(bad)), ds.points.shape)
        raise DataError(
            f"data ({ds.origin}): point {i + 1}, coordinate {j + 1} is {ds.points[i, j]:g}; coordinates must be "
            f"finite and within ±{FLOAT32_MAX:.4g} (the float32 range)"
        )
