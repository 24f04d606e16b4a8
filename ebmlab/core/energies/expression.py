"""ExpressionEnergy: an energy given by a typed expression (compiled by expression_compile), and its checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from ..errors import ExpressionError
from ..space import ContinuousSpace
from .base import Energy
from .expression_compile import DEFAULT_BOX, CompiledExpression
from .expression_parse import Parsed, parse, validate_params


def _resolve_dim(parsed: Parsed, dim: int | None, text: str) -> int:
    if dim is None:
        return parsed.dim
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ExpressionError(f"dim must be a positive integer, got {dim!r}", None, text)
    if dim < parsed.dim:
        v = parsed.dim_var
        col = None if v is None else v.col
        raise ExpressionError(f"'{v.name}' needs dim >= {parsed.dim}, but dim is {dim}", col, text)
    return dim


def check_expression(text: str, params: Mapping[str, float] | None = None, dim: int | None = None) -> int:
    """Validate `text` (as the user types) and return its dimension; raise ExpressionError."""
    names = validate_params(params, text if isinstance(text, str) else "")
    parsed = parse(text, names)
    d = _resolve_dim(parsed, dim, text)
    CompiledExpression(parsed, d)
    return d


class ExpressionEnergy(Energy):
    """E(x) given by a typed expression, e.g. `a*(x**2 + y**2 - r**2)**2` with params {'a': 1, 'r': 1}.

    Variables x, y, z or x1 ... x10 are columns of x (batch, d). Trainable parameters are float64
    nn.Parameters, fixed ones buffers; both are cast to x.dtype. `energy_and_grad` is analytic.
    A declared parameter the expression does not use (after simplification) is never trainable: it stays
    a buffer with its value (the settings keep it), so an energy that uses none has nothing to train.
    `derived` (name -> expression of the parameters, e.g. {'w': 'sigmoid(t)'}) is reported by
    `derived_scalars()`; see ebmlab.core.energies.expression_derived.
    """

    def __init__(
        self,
        text: str,
        params: Mapping[str, float] | None = None,
        trainable: Iterable[str] | None = None,
        dim: int | None = None,
        box: tuple[tuple[float, float], ...] | None = None,
        derived: Mapping[str, str] | None = None,
    ):
        values = validate_params(params, text if isinstance(text, str) else "")
        parsed = parse(text, values)
        d = _resolve_dim(parsed, dim, text)
        names = list(values) if trainable is None else list(trainable)
        for name in names:
            if name not in values:
                raise ExpressionError(f"trainable parameter '{name}' is not declared", None, text)
        super().__init__(ContinuousSpace(d, tuple(box) if box is not None else (DEFAULT_BOX,) * d))
        self.text = text
        self._compiled = CompiledExpression(parsed, d)
        used = self._compiled.used_params()
        self.trainable_names = tuple(n for n in values if n in names and n in used)
        self._keys: dict[str, tuple[str, bool]] = {}
        for name, value in values.items():
            key = f"param_{name}"
            t = torch.tensor(value, dtype=torch.float64)
            if name in self.trainable_names:
                self.register_parameter(key, nn.Parameter(t))
            else:
                self.register_buffer(key, t)
            self._keys[name] = (key, name in self.trainable_names)
        self._derived: dict = {}
        if derived:
            from .expression_derived import compile_derived

            self._derived = compile_derived(derived, values)

    def _tensor_of(self, name: str) -> Tensor:
        key, trainable = self._keys[name]
        return self._parameters[key] if trainable else self._buffers[key]

    @property
    def param_values(self) -> dict[str, float]:
        return {name: float(self._tensor_of(name).detach()) for name in self._keys}

    def _pvals(self, x: Tensor) -> dict[str, Tensor]:
        return {n: self._tensor_of(n).to(dtype=x.dtype, device=x.device) for n in self._compiled.params}

    def forward(self, x: Tensor) -> Tensor:
        return self._compiled.energy(x, self._pvals(x))

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            return self._compiled.energy_and_grad(x, self._pvals(x))

    def named_scalars(self) -> dict[str, float]:
        return self.param_values

    def derived_scalars(self) -> dict[str, float]:
        """The model's derived quantities of the parameters (e.g. w = sigmoid(t)) at their current values."""
        if not self._derived:
            return {}
        from .expression_derived import evaluate_derived

        return evaluate_derived(self._derived, {n: self._tensor_of(n).detach().cpu() for n in self._keys})

    def describe(self) -> str:
        return self.text
