"""Derived quantities of an expression model's parameters, e.g. {'w': 'sigmoid(t)'}: what a lesson talks about
when the trained parameter is a reparametrisation (w in (0, 1) trained through t in R).

Each is parsed by the same safe parser as the energy (no code is run), may use the parameters and constants
but no variable, and is evaluated in float64 from the current parameter values.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ..errors import ExpressionError
from .expression_compile import CompiledExpression
from .expression_parse import parse, validate_params


def compile_derived(derived: Mapping[str, str] | None, params: Mapping[str, float]) -> dict[str, CompiledExpression]:
    """name -> compiled expression of the parameters; ExpressionError names the quantity and the reason."""
    out: dict[str, CompiledExpression] = {}
    for name, text in (derived or {}).items():
        validate_params({name: 0.0})  # an identifier that is not reserved
        if name in params:
            raise ExpressionError(f"derived '{name}' has the name of a parameter; choose another name", None, text)
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"derived '{name}' needs an expression of the parameters, e.g. 'sigmoid(t)'")
        try:
            parsed = parse(text, params)
        except ExpressionError as e:
            raise ExpressionError(f"derived '{name}': {e.reason}", e.column, text) from None
        if parsed.dim_var is not None:
            raise ExpressionError(
                f"derived '{name}' uses the variable '{parsed.dim_var.name}'; it may use only the parameters",
                parsed.dim_var.col,
                text,
            )
        out[name] = CompiledExpression(parsed, 1)
    return out


@torch.no_grad()
def evaluate_derived(compiled: Mapping[str, CompiledExpression], pvals: Mapping[str, Tensor]) -> dict[str, float]:
    """name -> float value at the given parameter tensors (0-d)."""
    x = torch.zeros(1, 1, dtype=torch.float64)
    return {name: float(c.energy(x, {k: v.double() for k, v in pvals.items()})[0]) for name, c in compiled.items()}
