"""Why a typed energy is not finite at a point: the innermost subexpression that turns NaN or infinite.

`culprit(text, params, point)` walks the syntax tree bottom-up at one point (float64, the same torch ops as
the compiled tape) and returns the first node whose value is NaN or +-inf while all its arguments are finite,
printed back as text (`unparse`), with a plain reason: `exp(1000*x)` overflows float64, `log(x)` takes a
negative argument, `1/x` divides by zero. Nothing is evaluated as Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from .expression_compile import _BINARY, _apply, _logsumexp, _minmax
from .expression_parse import Binary, Call, Const, Num, Param, Unary, Var, parse

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_UNARY_PREC = 3
_ATOM = 5


class Culprit(NamedTuple):
    """text: the subexpression; value: its value at the point (nan, inf or -inf); reason: why, in words."""

    text: str
    value: float
    reason: str


def _num(v: float) -> str:
    return format(v, ".15g")


def _prec(node: object) -> int:
    if type(node) is Binary:
        return _PREC[node.op]
    return _UNARY_PREC if type(node) is Unary else _ATOM


def unparse(node: object) -> str:
    """The expression text of a syntax tree, with only the parentheses it needs (recursive: subtrees of
    at most MAX_DEPTH = 64 nesting levels, as the parser allows)."""
    t = type(node)
    if t is Num:
        return _num(node.value)
    if t in (Var, Param, Const):
        return node.name
    if t is Call:
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if t is Unary:
        inner = unparse(node.operand)
        return f"{node.op}({inner})" if _prec(node.operand) < _UNARY_PREC else f"{node.op}{inner}"
    assert t is Binary
    p = _PREC[node.op]
    left, right = unparse(node.left), unparse(node.right)
    if node.op == "**":
        if _prec(node.left) <= p:
            left = f"({left})"
        if _prec(node.right) < _UNARY_PREC:
            right = f"({right})"
        return f"{left}**{right}"
    if _prec(node.left) < p:
        left = f"({left})"
    if _prec(node.right) < p or (_prec(node.right) == p and node.op in ("-", "/")) or type(node.right) is Unary:
        right = f"({right})"
    return f"{left} {node.op} {right}" if p == 1 else f"{left}{node.op}{right}"


def _children(node: object) -> tuple:
    t = type(node)
    if t is Unary:
        return (node.operand,)
    if t is Binary:
        return (node.left, node.right)
    return node.args if t is Call else ()


def _value(node: object, args: list[torch.Tensor], x: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    f64 = dict(dtype=torch.float64)
    t = type(node)
    if t in (Num, Const):
        return torch.tensor(float(node.value), **f64)
    if t is Var:
        return x[node.index].clone()
    if t is Param:
        return torch.tensor(float(params[node.name]), **f64)
    if t is Unary:
        return -args[0] if node.op == "-" else args[0]
    if t is Binary:
        return _apply(_BINARY[node.op], args)
    if node.name in ("min", "max"):
        acc = args[0]
        for b in args[1:]:
            acc = _minmax(node.name, acc, b)
        return acc
    if node.name == "logsumexp":
        return _logsumexp(list(args)) if len(args) > 1 else args[0]
    return _apply(node.name, args)


def _reason(node: object, value: float, args: list[float]) -> str:
    name = node.name if type(node) is Call else getattr(node, "op", "")
    if math.isnan(value):
        if name in ("log", "log1p", "sqrt"):
            return "takes a negative argument"
        if name == "**":
            return "raises a negative number to a fractional power"
        if name == "/":
            return "is 0/0 or inf/inf"
        if name in ("-", "+"):
            return "is inf - inf"
        if name == "*":
            return "is 0 * inf"
        return "is not a number"
    if name in ("log", "log1p"):
        return "takes the log of 0"
    if name == "/":
        return "divides by zero"
    if name == "**" and args and args[0] == 0.0:
        return "raises 0 to a negative power"
    return "is beyond float64"


def culprit(text: str, params: Mapping[str, float] | None, point: Sequence[float]) -> Culprit | None:
    """The innermost non-finite subexpression of `text` at `point` (one value per variable), or None when
    every subexpression is finite there (or the text does not parse)."""
    try:
        tree = parse(text, dict(params or {})).tree
    except Exception:
        return None
    x = torch.as_tensor([float(v) for v in point], dtype=torch.float64)
    params = dict(params or {})
    stack: list[tuple[object, bool]] = [(tree, False)]
    out: list[torch.Tensor] = []
    with torch.no_grad():
        while stack:
            node, done = stack.pop()
            kids = _children(node)
            if kids and not done:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(kids))
                continue
            args = out[len(out) - len(kids) :] if kids else []
            if kids:
                del out[len(out) - len(kids) :]
            try:
                v = _value(node, args, x, params)
            except (IndexError, KeyError):
                return None
            fv = float(v)
            if not math.isfinite(fv):
                return Culprit(unparse(node), fv, _reason(node, fv, [float(a) for a in args]))
            out.append(v)
    return None
