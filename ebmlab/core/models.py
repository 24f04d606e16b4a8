"""Model kinds, each a typed settings dataclass and a builder: settings -> Energy.

Registered in MODEL_KINDS by name ('expression', 'mlp', 'gaussian', 'mixture', 'boltzmann', 'rbm');
the preset's `model` section is {"kind": NAME, ...fields of that kind's settings}.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .energies.base import Energy
from .errors import ConfigError
from .params import param
from .registry import Registry
from .space import Box

MAX_UNITS = 20
F64 = torch.float64
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ModelKind:
    name: str
    params_cls: type
    build: Callable[..., Energy]  # build(settings, seed: int) -> Energy
    description: str = ""


MODEL_KINDS: Registry[ModelKind] = Registry("model kind")


def _box(box: list[list[float]] | None, dim: int, where: str = "model.box") -> Box:
    """(-3, 3) per dimension by default; one [lo, hi] pair applies to every dimension."""
    if not box:
        return tuple((-3.0, 3.0) for _ in range(dim))
    if len(box) == 1 and dim > 1:
        box = box * dim
    if len(box) != dim:
        raise ConfigError([f"{where}: expected {dim} [lo, hi] pairs (one per dimension), got {len(box)}"])
    out = []
    for i, pair in enumerate(box):
        if len(pair) != 2 or not all(math.isfinite(v) for v in pair) or not pair[0] < pair[1]:
            raise ConfigError([f"{where}[{i}]: must be [lo, hi] with finite lo < hi, got {list(pair)}"])
        if not all(abs(v) <= FLOAT32_MAX for v in pair):  # chains and grids on the box may be float32
            limit = f"±{FLOAT32_MAX:.4g} (the float32 range)"
            raise ConfigError([f"{where}[{i}]: must lie within {limit}, got {list(pair)}"])
        out.append((float(pair[0]), float(pair[1])))
    return tuple(out)


@dataclass(frozen=True)
class ExpressionModel:
    expression: str = param("0.1*(x**2 + y**2 - r**2)**2", help="energy E(x); variables x, y, z or x1..xd")
    params: dict[str, float] = field(default_factory=lambda: {"r": 1.0})
    trainable: list[str] | None = None  # None: every parameter is trained
    dim: int | None = param(None, lo=1, hi=10, help="dimension (inferred from the variables if empty)")
    box: list[list[float]] | None = None
    derived: dict[str, str] = param(
        {}, help='quantities of the parameters to report beside them, e.g. {"w": "sigmoid(t)"}'
    )


def _build_expression(s: ExpressionModel, seed: int) -> Energy:
    from .energies.expression import ExpressionEnergy, check_expression
    from .errors import ExpressionError

    try:
        dim = check_expression(s.expression, s.params, s.dim)
    except ExpressionError as e:
        raise ConfigError([f"model.expression: {e}"]) from None
    unknown = [n for n in (s.trainable or []) if n not in s.params]
    if unknown:
        raise ConfigError([f"model.trainable: {', '.join(unknown)} not among the parameters {list(s.params)}"])
    try:
        return ExpressionEnergy(
            s.expression, params=s.params, trainable=s.trainable, dim=dim, box=_box(s.box, dim), derived=s.derived
        )
    except ExpressionError as e:
        if str(e).startswith("derived"):
            raise ConfigError([f"model.derived: {e}"]) from None
        raise


@dataclass(frozen=True)
class MLPModel:
    dim: int = param(2, lo=1, hi=3)
    width: int = param(64, lo=1, hi=1024)
    depth: int = param(2, lo=1, hi=8)
    activation: str = param("silu", choices=("silu", "softplus", "tanh", "relu", "elu"))
    confine: float = param(0.0, lo=0.0, help="adds confine*|x|^2 so the density stays normalisable")
    box: list[list[float]] | None = None


def _build_mlp(s: MLPModel, seed: int) -> Energy:
    from .energies.mlp import MLPEnergy

    box = _box(s.box, s.dim)
    return MLPEnergy(s.dim, s.width, s.depth, s.activation, box=box, seed=seed, confine=s.confine, dtype=F64)


@dataclass(frozen=True)
class GaussianModel:
    dim: int = param(2, lo=1, hi=10)
    mean: list[float] | None = None
    scale: float = param(1.0, lo=0.0, lo_open=True, help="initial standard deviation")
    box: list[list[float]] | None = None


def _build_gaussian(s: GaussianModel, seed: int) -> Energy:
    from .energies.gaussian import GaussianEnergy

    mean = np.zeros(s.dim) if s.mean is None else np.asarray(s.mean, dtype=float)
    if mean.shape != (s.dim,):
        raise ConfigError([f"model.mean: expected {s.dim} numbers, got {len(mean)}"])
    cov = np.eye(s.dim) * s.scale**2
    return GaussianEnergy(mean, cov, box=_box(s.box, s.dim), dtype=F64)


@dataclass(frozen=True)
class MixtureModel:
    dim: int = param(2, lo=1, hi=3)
    components: int = param(2, lo=1, hi=64)
    scale: float = param(0.5, lo=0.0, lo_open=True, help="initial standard deviation of each component")
    spread: float = param(1.5, lo=0.0, help="initial means drawn uniformly in [-spread, spread]")
    box: list[list[float]] | None = None


def _build_mixture(s: MixtureModel, seed: int) -> Energy:
    from .energies.mixture import GaussianMixtureEnergy

    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(s.components, s.dim, generator=g, dtype=torch.float64) * 2 - 1) * s.spread
    scales = torch.full((s.components,), s.scale, dtype=torch.float64)
    weights = torch.full((s.components,), 1.0 / s.components, dtype=torch.float64)
    return GaussianMixtureEnergy(means, scales=scales, weights=weights, box=_box(s.box, s.dim), dtype=F64)


@dataclass(frozen=True)
class BoltzmannModel:
    units: int = param(9, lo=2, hi=MAX_UNITS)
    spins: str = param("01", choices=("01", "pm1"), help="'01': x in {0,1}; 'pm1': x in {-1,+1}")
    init_scale: float = param(0.0, lo=0.0, help="std of the random initial couplings")


def _build_boltzmann(s: BoltzmannModel, seed: int) -> Energy:
    from .energies.ising import BoltzmannMachine

    if s.init_scale == 0:
        return BoltzmannMachine.zeros(s.units, spins=s.spins, dtype=F64)
    return BoltzmannMachine.all_to_all(s.units, scale=s.init_scale, seed=seed, spins=s.spins, dtype=F64)


@dataclass(frozen=True)
class RBMModel:
    visible: int = param(9, lo=1, hi=MAX_UNITS)
    hidden: int = param(8, lo=1, hi=256)
    init_scale: float = param(0.01, lo=0.0)


def _build_rbm(s: RBMModel, seed: int) -> Energy:
    from .energies.rbm import RBM

    return RBM(s.visible, s.hidden, seed=seed, scale=s.init_scale, dtype=F64)


@dataclass(frozen=True)
class ClassifierModel:
    """A K-class MLP classifier read as an energy: E(x) = -logsumexp_y f(x)[y] (JEM)."""

    dim: int = param(2, lo=1, hi=3)
    classes: int = param(2, lo=2, hi=16, help="number of classes K (outputs of the network)")
    width: int = param(64, lo=1, hi=1024)
    depth: int = param(2, lo=1, hi=8)
    activation: str = param("silu", choices=("silu", "softplus", "tanh", "relu", "elu"))
    confine: float = param(0.0, lo=0.0, help="adds confine*|x|^2 to E so the density stays normalisable")
    box: list[list[float]] | None = None


def _build_classifier(s: ClassifierModel, seed: int) -> Energy:
    from .energies.classifier import ClassifierEnergy

    box = _box(s.box, s.dim)
    return ClassifierEnergy(
        s.dim, s.classes, s.width, s.depth, s.activation, box=box, seed=seed, confine=s.confine, dtype=F64
    )


for _kind in (
    ModelKind("expression", ExpressionModel, _build_expression, "a typed energy expression with named parameters"),
    ModelKind("mlp", MLPModel, _build_mlp, "a neural network energy (multi-layer perceptron)"),
    ModelKind("gaussian", GaussianModel, _build_gaussian, "a full-covariance Gaussian"),
    ModelKind("mixture", MixtureModel, _build_mixture, "a mixture of Gaussians"),
    ModelKind("boltzmann", BoltzmannModel, _build_boltzmann, "a fully visible Boltzmann machine"),
    ModelKind("rbm", RBMModel, _build_rbm, "a Bernoulli restricted Boltzmann machine"),
    ModelKind("classifier", ClassifierModel, _build_classifier, "a K-class classifier whose logits define E (JEM)"),
):
    MODEL_KINDS.register(_kind.name, _kind)


def build_model(kind: str, settings, seed: int) -> Energy:
    """Build the energy of a registered kind; its parameters are float64 on the CPU."""
    energy = MODEL_KINDS.get(kind).build(settings, seed)
    return energy.double()
