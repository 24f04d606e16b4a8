"""Checks that refuse a run when its settings are applied (the Trainer is built), before any training step.

Finite energy (`check_energy_values`): E is evaluated at every data point (in the training dtype, as the loss
sees it) and, in float64, on the evaluation grid (1-3-D continuous models: the exact evaluator's quadrature
grid; beyond 3-D: 4096 seeded uniform points of the box; binary models: the data only). The rule, and why:

    NaN anywhere (grid or data)   refused: E is undefined there (log or sqrt of a negative number, 0/0), so
                                  neither Z, nor the NLL, nor a sampler step is defined.
    -inf anywhere                 refused: exp(-E) is infinite there, so Z is infinite: not normalisable.
    +inf at a data point          refused: the model gives that point zero density, so the NLL is +inf and
                                  every gradient through it NaN (typically exp(...) overflowing float64).
    +inf on the whole grid        refused: Z = 0.
    +inf on the grid elsewhere    allowed: exp(-inf) = 0 exactly, a hard wall or a density supported on part
                                  of the box; quadrature sums exact zeros and Metropolis samplers reject moves
                                  there. (Should training then meet a NaN gradient, the NaN guard stops it.)
    finite, however large or low  allowed: on a box every finite energy is normalisable (the exact log Z
                                  warns when the mass piles up at the box edge).

A refusal is a ConfigError whose line starts with the field to fix: `model.expression` for typed energies
(naming the innermost subexpression that is not finite, see energies.expression_diagnose), `model` otherwise.

Dimensions (`check_data_dimension`): data drawn from a typed energy (data.kind 'energy') are drawn in the
model's space, so a model with fewer dimensions than the data expression is refused naming the model field.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .energies.base import Energy
from .errors import ConfigError, ExpressionError
from .grid import DEFAULT_POINTS, make_grid
from .space import ContinuousSpace

FROZEN_NOTICE = "this energy has no trainable parameters: sampling and log Z only"
AUTO_GRID = {1: 1024, 2: 200, 3: 40}  # as the exact evaluator (ebmlab.core.evaluation)
BOX_SAMPLES = 4096  # uniform points of the box checked beyond 3-D
CHUNK = 65536
NO_GRAD_MARKERS = ("does not require grad", "not have been used in the graph", "does not have a grad_fn")


# ---------------------------------------------------------------------------------------------- dimensions
def _names(exp: Any, dim: int) -> list[str]:
    """The model's variable names: x, y, z (or x1..xd when the expression uses that style or dim > 3)."""
    text = getattr(exp.model.settings, "expression", "") or ""
    xn = dim > 3 or any(f"x{i}" in text for i in range(1, 11))
    return [f"x{i + 1}" for i in range(dim)] if xn else ["x", "y", "z"][:dim]


def model_dimension_problem(exp: Any, model_dim: int, data_dim: int) -> str:
    """One 'field: reason' line saying the model has model_dim dimensions where the data have data_dim."""
    s = exp.model.settings
    if exp.model.kind == "expression" and getattr(s, "dim", None) is None:
        have = _names(exp, model_dim)
        if model_dim < data_dim:
            add = ", ".join(_names(exp, data_dim)[model_dim:])
            return (
                f"model.expression: uses only {', '.join(have)} ({model_dim}-D) but the data are {data_dim}-D; "
                f"add {add}, or set model.dim to {data_dim}"
            )
        return f"model.expression: uses {', '.join(have)} ({model_dim}-D) but the data are {data_dim}-D"
    if hasattr(s, "dim"):
        return f"model.dim: the model is {model_dim}-D but the data are {data_dim}-D; set model.dim to {data_dim}"
    return f"model: the model is {model_dim}-D but the data are {data_dim}-D"


def check_data_dimension(exp: Any, energy: Energy) -> None:
    """Refuse (ConfigError on the model field) data of known dimension that the model cannot hold:
    data.kind 'energy' whose expression needs more dimensions than the model, or a 2-D toy set."""
    space = energy.space
    if not isinstance(space, ContinuousSpace):
        return
    kind, s = exp.data.kind, exp.data.settings
    if kind == "energy":
        from .energies.expression import check_expression

        try:
            data_dim = check_expression(s.expression, s.params)
        except ExpressionError:
            return  # building the data reports it, naming data.expression
        if data_dim > space.dim:  # the conflict is between two fields: both are named, the model first
            names = ", ".join(_names(exp, data_dim) if exp.model.kind == "expression" else ["x", "y", "z"][:data_dim])
            data_line = f"data.expression: is {data_dim}-D (uses {names}) but the model is {space.dim}-D"
            raise ConfigError([model_dimension_problem(exp, space.dim, data_dim), data_line])
    elif kind == "toy" and space.dim != 2:
        toy_line = f"data.name: the toy sets are 2-D but the model is {space.dim}-D"
        raise ConfigError([model_dimension_problem(exp, space.dim, 2), toy_line])


# ---------------------------------------------------------------------------------------------- finite energy
@torch.no_grad()
def _energies(energy: Energy, points: torch.Tensor) -> np.ndarray:
    out = np.empty(points.shape[0], dtype=np.float64)
    for s in range(0, points.shape[0], CHUNK):
        out[s : s + CHUNK] = energy(points[s : s + CHUNK]).to(torch.float64).cpu().numpy()
    return out


def _grid_points(energy: Energy, grid_points: int, seed: int) -> torch.Tensor | None:
    """The points E is checked at besides the data (None for binary models)."""
    space = energy.space
    if not isinstance(space, ContinuousSpace):
        return None
    if space.dim <= 3:  # the evaluator's grid, capped (a bad or huge grid_points is the evaluator's to report)
        n = min(grid_points, DEFAULT_POINTS[space.dim]) if grid_points >= 2 else AUTO_GRID[space.dim]
        return make_grid(space, n).points()
    lo = torch.tensor([b[0] for b in space.box], dtype=torch.float64)
    hi = torch.tensor([b[1] for b in space.box], dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(BOX_SAMPLES, space.dim, generator=g, dtype=torch.float64)


def _percent(k: int, n: int) -> str:
    f = 100.0 * k / n
    share = f"{f:.0f}%" if f >= 10 else f"{f:.2g}%"
    return share if k > 10 else f"{share} ({k} of {n} points)"


def _point(exp: Any, p: np.ndarray) -> str:
    if exp.model.kind == "expression":
        return ", ".join(f"{n} = {v:.3g}" for n, v in zip(_names(exp, len(p)), p))
    return "x = (" + ", ".join(f"{v:.3g}" for v in p) + ")"


def _why(exp: Any, p: np.ndarray) -> str:
    if exp.model.kind != "expression":
        return ""
    from .energies.expression_diagnose import culprit

    c = culprit(exp.model.settings.expression, exp.model.settings.params, p)
    return "" if c is None else f": {c.text} {c.reason}"


_ADVICE = {
    "nan": "keep E defined on the whole box (model.box) or rewrite it",
    "-inf": "exp(-E) is infinite there, so Z cannot be normalised",
    "+inf": "rescale it",
}
_WHAT = {"nan": "is NaN", "-inf": "falls to -inf", "+inf": "overflows to +inf"}


def _problem(exp: Any, e: np.ndarray, pts: np.ndarray, where: str) -> str | None:
    """The first rule `e` (energies at `pts`) breaks, as one 'field: reason' line, or None."""
    tests = [("nan", np.isnan(e)), ("-inf", np.isneginf(e))]
    if where == "data":
        tests.append(("+inf", np.isposinf(e)))
    for kind, bad in tests:
        k = int(bad.sum())
        if k:
            p = pts[int(np.flatnonzero(bad)[0])]
            share = _percent(k, e.size)
            why = _why(exp, p) or ("" if kind != "+inf" else ": its density there is 0, so the NLL is infinite")
            return f"E(x) {_WHAT[kind]} at {share} of the {where} (e.g. {_point(exp, p)}){why}; {_ADVICE[kind]}"
    if where != "data" and np.isposinf(e).all():
        return f"E(x) is +inf at every one of the {e.size} points of the {where}: exp(-E) is 0 everywhere, Z = 0"
    return None


def check_energy_values(exp: Any, energy: Energy, data: torch.Tensor | np.ndarray, grid: bool = True) -> None:
    """Refuse an energy that is NaN or -inf on the evaluation grid (grid=True) or NaN / +-inf at a data
    point, by the rule in the module docstring. ConfigError naming model.expression (typed energies) or model."""
    field = "model.expression" if exp.model.kind == "expression" else "model"
    pts = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data)
    dtype = next((p.dtype for p in energy.parameters()), torch.float64)
    device = next((p.device for p in energy.parameters()), torch.device("cpu"))
    checks = [("data", pts.to(device, torch.float64 if dtype == torch.float64 else dtype))]
    if grid:
        g = _grid_points(energy, exp.training.grid_points, exp.seed)
        if g is not None:
            checks.append(("grid on the box", g.to(device)))
    for where, x in checks:
        e = _energies(energy, x)
        line = _problem(exp, e, x.detach().to("cpu", torch.float64).numpy(), where)
        if line is not None:
            raise ConfigError([f"{field}: {line}"])


# ---------------------------------------------------------------------------------------------- gradients
def is_no_gradient_error(e: BaseException) -> bool:
    """True for torch's 'does not require grad' / 'not used in the graph' autograd errors."""
    return isinstance(e, RuntimeError) and any(m in str(e) for m in NO_GRAD_MARKERS)


def no_gradient_message(estimator: str, names: list[str]) -> str:
    """The clear version of torch's autograd error: the loss has no gradient path to what is trained."""
    what = f"the trainable parameters ({', '.join(names)})" if names else "any trainable parameter"
    hint = " (it sees E only through its gradient in x)" if estimator in ("sm", "dsm") else ""
    return (
        f"the {estimator} loss does not depend on {what}{hint}: it has no gradient to follow, so this "
        "estimator cannot train this energy; make E depend on x and on its parameters, or choose another estimator"
    )
