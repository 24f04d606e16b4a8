"""The experiment: one frozen, validated dataclass that reproduces a run (saved as a preset).

Sections `model`/`data` pick a registered kind with {"kind": NAME, ...}; `estimator`/`sampler`
pick a registered component with {"name": NAME, ...}; the rest are fixed dataclasses. Every problem
is reported with its path in the file (`estimator.k: must be >= 1, got 0`), all at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core import datasources, models
from ..core.errors import ConfigError, EbmlabError
from ..core.estimators import ESTIMATORS
from ..core.grid import grid_setting_problems
from ..core.params import from_dict, param, to_dict
from ..core.samplers import SAMPLERS

SCHEMA_VERSION = 1
MAX_CHAINS = 20_000


@dataclass(frozen=True)
class Component:
    """A registered component chosen by name, with its typed settings."""

    kind: str
    settings: Any


@dataclass(frozen=True)
class Optimiser:
    name: str = param("adam", choices=("adam", "sgd"))
    lr: float = param(0.01, lo=0.0, lo_open=True, hi=10.0, log=True, help="learning rate")
    momentum: float = param(0.0, lo=0.0, hi=0.999, help="SGD momentum")
    decay: float = param(0.0, lo=0.0, help="lr_t = lr / (1 + decay * t)")
    batch_size: int = param(256, lo=1, hi=100_000)
    grad_clip: float = param(0.0, lo=0.0, help="clip the gradient norm (0: off)")


@dataclass(frozen=True)
class Training:
    steps: int = param(1000, lo=0, hi=10_000_000, help="steps of `ebmlab run`")
    eval_every: int = param(50, lo=1, hi=1_000_000, help="exact NLL and log Z every N steps")
    holdout: float = param(0.2, lo=0.0, hi=0.9, help="fraction of data held out for the exact NLL")
    dtype: str = param("float64", choices=("float64", "float32"))
    grid_points: int = param(0, lo=0, hi=4096, help="quadrature points per dimension (0: automatic)")


@dataclass(frozen=True)
class Chains:
    """Sampler chains run on the current model for display and diagnostics."""

    n: int = param(500, lo=0, hi=MAX_CHAINS)
    steps_per_update: int = param(1, lo=0, hi=1000)
    init: str = param("uniform", choices=("uniform", "data"))


@dataclass(frozen=True)
class LogZSettings:
    method: str = param("none", choices=("none", "is", "ais"), help="estimate log Z during training")
    every: int = param(200, lo=1, hi=1_000_000)
    particles: int = param(500, lo=2, hi=200_000)
    temps: int = param(200, lo=1, hi=100_000)
    kernel: str = param("mala", choices=("mala", "hmc", "rwm", "gibbs"))
    schedule: str = param("sigmoid", choices=("linear", "geometric", "sigmoid"))


PLOT_NAMES = (
    "loss",
    "nll",
    "logz",
    "params",
    "accuracy",
    "data_mass",
    "chain_energy",
    "var_ratio",
    "accept",
    "ess",
    "rhat",
)


@dataclass(frozen=True)
class View:
    show: str = param("density", choices=("density", "energy"))
    contours: bool = False
    trails: bool = True
    arrows: bool = False
    grid: int = param(128, lo=16, hi=512, help="heatmap resolution while training")
    # the metrics plots shown, in order (None: automatic); a lesson lists the ones its notes talk about
    plots: list[Literal[PLOT_NAMES]] | None = None


@dataclass(frozen=True)
class Experiment:
    model: Component
    data: Component
    estimator: Component
    sampler: Component
    optimiser: Optimiser = field(default_factory=Optimiser)
    training: Training = field(default_factory=Training)
    chains: Chains = field(default_factory=Chains)
    logz: LogZSettings = field(default_factory=LogZSettings)
    view: View = field(default_factory=View)
    name: str = "untitled"
    description: str = ""
    notes: str = ""
    seed: int = 0
    device: str = "cpu"
    weights: str | None = None
    schema_version: int = SCHEMA_VERSION


PLAIN_SECTIONS = {
    "optimiser": Optimiser,
    "training": Training,
    "chains": Chains,
    "logz": LogZSettings,
    "view": View,
}
COMPONENT_SECTIONS = {
    "model": ("kind", lambda k: models.MODEL_KINDS.get(k).params_cls),
    "data": ("kind", lambda k: datasources.DATA_KINDS.get(k).params_cls),
    "estimator": ("name", lambda k: ESTIMATORS.get(k).params_cls),
    "sampler": ("name", lambda k: SAMPLERS.get(k).params_cls),
}
SCALARS = {
    "name": str,
    "description": str,
    "notes": str,
    "seed": int,
    "device": str,
    "weights": (str, type(None)),
    "schema_version": int,
}


def _component(section: str, raw: Any, problems: list[str]) -> Component | None:
    key, lookup = COMPONENT_SECTIONS[section]
    if not isinstance(raw, dict):
        problems.append(f"{section}: must be an object with a {key!r}, got {raw!r}")
        return None
    kind = raw.get(key)
    if not isinstance(kind, str):
        problems.append(f"{section}.{key}: missing or not a string")
        return None
    try:
        cls = lookup(kind)
    except EbmlabError as e:
        problems.append(f"{section}.{key}: {e}")
        return None
    rest = {k: v for k, v in raw.items() if k != key}
    try:
        return Component(kind, from_dict(cls, rest, section))
    except ConfigError as e:
        problems.extend(e.problems)
        return None


def experiment_from_dict(raw: Any) -> Experiment:
    """Validate a preset's JSON object into an Experiment, or raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError([f"preset: must be a JSON object, got {type(raw).__name__}"])
    problems: list[str] = []
    version = raw.get("schema_version")
    if version is None:
        problems.append("schema_version: missing (this file was not written by ebmlab?)")
    elif version != SCHEMA_VERSION:
        problems.append(f"schema_version: this ebmlab reads version {SCHEMA_VERSION}, the file has {version!r}")
    known = set(PLAIN_SECTIONS) | set(COMPONENT_SECTIONS) | set(SCALARS)
    for k in raw:
        if k not in known:
            problems.append(f"{k}: unknown key (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {}
    for section in COMPONENT_SECTIONS:
        if section not in raw:
            problems.append(f"{section}: missing")
            continue
        comp = _component(section, raw[section], problems)
        if comp is not None:
            kwargs[section] = comp
    for section, cls in PLAIN_SECTIONS.items():
        if section in raw:
            try:
                kwargs[section] = from_dict(cls, raw[section], section)
            except ConfigError as e:
                problems.extend(e.problems)
    for key, tp in SCALARS.items():
        if key not in raw:
            continue
        v = raw[key]
        types = tp if isinstance(tp, tuple) else (tp,)
        if isinstance(v, bool) or not isinstance(v, types):
            problems.append(f"{key}: must be {' or '.join(t.__name__ for t in types)}, got {v!r}")
        else:
            kwargs[key] = v
    if isinstance(kwargs.get("seed"), int) and not 0 <= kwargs["seed"] < 2**63:
        problems.append(f"seed: must be between 0 and 2**63-1, got {kwargs['seed']}")
    if "device" in kwargs and kwargs["device"] not in ("cpu", "cuda", "mps"):
        problems.append(f"device: must be one of 'cpu', 'cuda', 'mps', got {kwargs['device']!r}")
    if problems:
        raise ConfigError(problems)
    exp = Experiment(**kwargs)
    problems = grid_setting_problems(exp)  # grids cost points**dim: refused here so the window marks the field
    if problems:
        raise ConfigError(problems)
    return exp


def experiment_to_dict(exp: Experiment) -> dict:
    """The preset's JSON object (keys in a stable, readable order)."""
    out: dict[str, Any] = {"schema_version": exp.schema_version, "name": exp.name}
    out["description"] = exp.description
    out["notes"] = exp.notes
    out["seed"] = exp.seed
    out["device"] = exp.device
    for section, (key, _) in COMPONENT_SECTIONS.items():
        comp: Component = getattr(exp, section)
        out[section] = {key: comp.kind, **to_dict(comp.settings)}
    for section in PLAIN_SECTIONS:
        out[section] = to_dict(getattr(exp, section))
    if exp.weights is not None:
        out["weights"] = exp.weights
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """'estimator.k=10' -> (['estimator', 'k'], 10). The value is read as JSON, else kept as a string."""
    import json

    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise EbmlabError(f"--set {text!r}: expected key.path=value, e.g. estimator.k=10")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return [p for p in path.strip().split(".")], parsed


def with_overrides(exp: Experiment, overrides: list[tuple[list[str], Any]]) -> Experiment:
    """A new Experiment with values replaced at dotted paths (validated as a whole)."""
    raw = experiment_to_dict(exp)
    for path, value in overrides:
        node = raw
        for i, key in enumerate(path[:-1]):
            if not isinstance(node.get(key), dict):
                raise ConfigError([f"{'.'.join(path[: i + 1])}: not a section"])
            node = node[key]
        node[path[-1]] = value  # unknown keys are reported by validation
        if len(path) == 2 and path[0] in COMPONENT_SECTIONS and path[1] == COMPONENT_SECTIONS[path[0]][0]:
            # switching a component: keep only the selector so the new kind starts from its defaults
            key = COMPONENT_SECTIONS[path[0]][0]
            raw[path[0]] = {key: value}
    return experiment_from_dict(raw)


def replace(exp: Experiment, **changes: Any) -> Experiment:
    return dataclasses.replace(exp, **changes)
