"""Tokenizer and recursive-descent parser for typed energy expressions.

The grammar (Python precedence; `**` is right-associative and binds tighter than unary minus):

    expr  := term (('+' | '-') term)*
    term  := unary (('*' | '/') unary)*
    unary := ('+' | '-') unary | power
    power := atom ['**' unary]
    atom  := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'

The result is a whitelisted syntax tree (Num, Var, Param, Const, Unary, Binary, Call). Nothing is ever
evaluated here: no eval/exec, no Python parser, no attribute access. Every problem is an ExpressionError
with a 1-based column. Nesting is capped by a counter, so Python's recursion limit is never reached.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator, Mapping
from typing import NamedTuple, Union

from ..errors import ExpressionError

MAX_LENGTH = 2000
MAX_DEPTH = 64
MAX_VARS = 10

# name -> (min args, max args or None for variadic)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "exp": (1, 1),
    "log": (1, 1),
    "log1p": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "sin": (1, 1),
    "cos": (1, 1),
    "tanh": (1, 1),
    "sigmoid": (1, 1),
    "softplus": (1, 1),
    "relu": (1, 1),
    "floor": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "logsumexp": (1, None),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
XYZ: dict[str, int] = {"x": 0, "y": 1, "z": 2}

_DIGITS = frozenset("0123456789")
_IDENT_START = frozenset(string.ascii_letters + "_")
_IDENT = _IDENT_START | _DIGITS
_SPACE = frozenset(" \t\r\n")
_OPS = frozenset("+-/(),")


class Num(NamedTuple):
    value: float
    col: int


class Var(NamedTuple):
    index: int  # column of x: x -> 0, y -> 1, z -> 2, x1 -> 0, x2 -> 1, ...
    name: str
    col: int


class Param(NamedTuple):
    name: str
    col: int


class Const(NamedTuple):
    name: str
    value: float
    col: int


class Unary(NamedTuple):
    op: str  # '-' or '+'
    operand: Node
    col: int


class Binary(NamedTuple):
    op: str  # '+', '-', '*', '/', '**'
    left: Node
    right: Node
    col: int


class Call(NamedTuple):
    name: str  # a key of FUNCTIONS
    args: tuple[Node, ...]
    col: int


Node = Union[Num, Var, Param, Const, Unary, Binary, Call]


class Token(NamedTuple):
    kind: str  # 'num', 'name', 'op', 'end'
    text: str
    col: int
    value: float = 0.0


class Parsed(NamedTuple):
    """A parsed expression: its tree, the dimension it needs (>= 1) and the parameter names it uses."""

    tree: Node
    dim: int
    params_used: frozenset[str]
    dim_var: Var | None  # the variable with the highest index (for error messages)


def _variable_index(name: str) -> int | None:
    """x, y, z -> 0, 1, 2; x<k> -> k - 1 (may be out of range); None if not variable-shaped."""
    if name in XYZ:
        return XYZ[name]
    if len(name) > 1 and name[0] == "x" and all(c in _DIGITS for c in name[1:]):
        digits = name[1:]
        if len(digits) > 4 or digits[0] == "0":
            return -1
        return int(digits) - 1
    return None


def _is_unicode_letter(ch: str) -> bool:
    return not ch.isascii() and ("a" + ch).isidentifier()


def reserved_kind(name: str) -> str | None:
    """'a variable' / 'a function' / 'a constant' if `name` is reserved, else None."""
    if name in FUNCTIONS:
        return "a function"
    if name in CONSTANTS:
        return "a constant"
    if _variable_index(name) is not None:
        return "a variable"
    return None


def validate_params(params: Mapping[str, float] | None, text: str = "") -> dict[str, float]:
    """Check parameter names (ASCII identifiers, not reserved) and values (finite numbers)."""
    out: dict[str, float] = {}
    for name, value in (params or {}).items():
        if not isinstance(name, str) or not name or name[0] not in _IDENT_START or any(c not in _IDENT for c in name):
            raise ExpressionError(
                f"parameter name {name!r} must be an ASCII identifier (letters, digits, _)", None, text
            )
        kind = reserved_kind(name)
        if kind is not None:
            raise ExpressionError(f"parameter name '{name}' is reserved: it is {kind}", None, text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"parameter '{name}' must be a number, got {value!r}", None, text)
        if not math.isfinite(float(value)):
            raise ExpressionError(f"parameter '{name}' must be a finite number, got {value!r}", None, text)
        out[name] = float(value)
    return out


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; the list always ends with an 'end' token."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """Tokens of `text` one at a time (the parser pulls them lazily, so errors come left to right)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in _SPACE:
            i += 1
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            j = i
            while j < n and text[j] in _DIGITS:
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j] in _DIGITS:
                    j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k] in _DIGITS:
                    while k < n and text[k] in _DIGITS:
                        k += 1
                    j = k
            lit = text[i:j]
            value = float(lit)
            if not math.isfinite(value):
                raise ExpressionError(f"number '{lit}' is too large", col, text)
            yield Token("num", lit, col, value)
            i = j
        elif ch in _IDENT_START or _is_unicode_letter(ch):
            j = i
            while j < n and (text[j] in _IDENT or _is_unicode_letter(text[j])):
                j += 1
            word = text[i:j]
            if not word.isascii():
                raise ExpressionError(f"name '{word}' must use ASCII letters only", col, text)
            yield Token("name", word, col)
            i = j
        elif ch == "*":
            if i + 1 < n and text[i + 1] == "*":
                yield Token("op", "**", col)
                i += 2
            else:
                yield Token("op", "*", col)
                i += 1
        elif ch in _OPS:
            yield Token("op", ch, col)
            i += 1
        elif ch == "^":
            raise ExpressionError("use ** for powers, not ^", col, text)
        elif ch == ".":
            raise ExpressionError("'.' is only allowed inside numbers (no attribute access)", col, text)
        else:
            raise ExpressionError(f"unexpected character {ch!r}", col, text)
    yield Token("end", "", n + 1)


class _Parser:
    def __init__(self, text: str, params: frozenset[str]):
        self.text = text
        self.stream = iter_tokens(text)
        self.toks: list[Token] = []
        self.params = params
        self.pos = 0
        self.depth = 0
        self.style: tuple[str, str, int] | None = None  # (style, first variable, its column)
        self.dim_var: Var | None = None
        self.used: set[str] = set()

    def error(self, message: str, col: int | None) -> ExpressionError:
        return ExpressionError(message, col, self.text)

    def peek(self) -> Token:
        while len(self.toks) <= self.pos:
            self.toks.append(next(self.stream))
        return self.toks[self.pos]

    def advance(self) -> Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def is_op(self, tok: Token, *ops: str) -> bool:
        return tok.kind == "op" and tok.text in ops

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression is nested too deeply (at most {MAX_DEPTH} levels)", tok.col)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression", None)
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.trailing(tok)
        return node

    def trailing(self, tok: Token) -> ExpressionError:
        """Error for a token that cannot follow a complete operand."""
        if self.is_op(tok, ")"):
            return self.error("unmatched ')'", tok.col)
        if self.is_op(tok, ","):
            return self.error("',' is only allowed between function arguments", tok.col)
        return self.error(f"missing operator before '{tok.text}'", tok.col)

    def expr(self) -> Node:
        left = self.term()
        while self.is_op(self.peek(), "+", "-"):
            op = self.advance()
            left = Binary(op.text, left, self.term(), op.col)
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.is_op(self.peek(), "*", "/"):
            op = self.advance()
            left = Binary(op.text, left, self.unary(), op.col)
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if self.is_op(tok, "+", "-"):
            self.advance()
            self.enter(tok)
            operand = self.unary()
            self.depth -= 1
            return Unary(tok.text, operand, tok.col)
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        tok = self.peek()
        if self.is_op(tok, "**"):
            self.advance()
            self.enter(tok)
            exponent = self.unary()
            self.depth -= 1
            return Binary("**", base, exponent, tok.col)
        return base

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "num":
            self.advance()
            return Num(tok.value, tok.col)
        if tok.kind == "name":
            return self.name()
        if self.is_op(tok, "("):
            self.advance()
            self.enter(tok)
            if self.is_op(self.peek(), ")"):
                raise self.error("empty parentheses", tok.col)
            inner = self.expr()
            self.close(tok)
            self.depth -= 1
            return inner
        raise self.missing_operand(tok)

    def missing_operand(self, tok: Token) -> ExpressionError:
        if tok.kind == "end":
            prev = self.toks[self.pos - 1] if self.pos > 0 else None
            if prev is None:
                return self.error("empty expression", None)
            return self.error(f"missing operand after '{prev.text}'", prev.col)
        return self.error(f"missing operand before '{tok.text}'", tok.col)

    def close(self, open_tok: Token) -> None:
        tok = self.peek()
        if self.is_op(tok, ")"):
            self.advance()
        elif tok.kind == "end":
            raise self.error("'(' is never closed", open_tok.col)
        else:
            raise self.trailing(tok)

    def name(self) -> Node:
        tok = self.advance()
        name = tok.text
        known = name in FUNCTIONS or reserved_kind(name) is not None or name in self.params
        try:
            is_call = self.is_op(self.peek(), "(")
        except ExpressionError:
            if not known:  # report problems left to right: the unknown name comes first
                raise self.error(f"unknown name '{name}'", tok.col) from None
            raise
        if name in FUNCTIONS:
            if not is_call:
                raise self.error(f"'{name}' is a function: write {name}(...)", tok.col)
            return self.call(tok)
        if is_call:
            if reserved_kind(name) is not None or name in self.params:
                raise self.error(f"'{name}' is not a function", tok.col)
            raise self.error(f"unknown function '{name}'", tok.col)
        if name in CONSTANTS:
            return Const(name, CONSTANTS[name], tok.col)
        index = _variable_index(name)
        if index is not None:
            return self.variable(name, index, tok.col)
        if name in self.params:
            self.used.add(name)
            return Param(name, tok.col)
        raise self.error(f"unknown name '{name}'", tok.col)

    def variable(self, name: str, index: int, col: int) -> Var:
        if index < 0:
            raise self.error(f"unknown variable '{name}' (variables are x1 ... x{MAX_VARS})", col)
        if index >= MAX_VARS:
            raise self.error(f"'{name}': at most {MAX_VARS} variables (x1 ... x{MAX_VARS})", col)
        style = "xyz" if name in XYZ else "xn"
        if self.style is None:
            self.style = (style, name, col)
        elif self.style[0] != style:
            first = self.style[1]
            raise self.error(f"cannot mix x, y, z with x1, x2, ... (found '{first}' and '{name}')", col)
        var = Var(index, name, col)
        if self.dim_var is None or index > self.dim_var.index:
            self.dim_var = var
        return var

    def call(self, name_tok: Token) -> Call:
        open_tok = self.advance()
        self.enter(open_tok)
        args: list[Node] = []
        if self.is_op(self.peek(), ")"):
            self.advance()
        else:
            while True:
                args.append(self.expr())
                tok = self.peek()
                if self.is_op(tok, ","):
                    self.advance()
                elif self.is_op(tok, ")"):
                    self.advance()
                    break
                elif tok.kind == "end":
                    raise self.error("'(' is never closed", open_tok.col)
                else:
                    raise self.error(f"missing operator before '{tok.text}'", tok.col)
        self.depth -= 1
        name = name_tok.text
        lo, hi = FUNCTIONS[name]
        k = len(args)
        if hi is not None and lo == hi and k != lo:
            noun = "argument" if lo == 1 else "arguments"
            raise self.error(f"{name} takes {lo} {noun}, got {k}", name_tok.col)
        if k < lo:
            noun = "argument" if lo == 1 else "arguments"
            raise self.error(f"{name} takes at least {lo} {noun}, got {k}", name_tok.col)
        return Call(name, tuple(args), name_tok.col)


def parse(text: str, params: Mapping[str, float] | frozenset[str] | None = None) -> Parsed:
    """Parse `text` with the given parameter names into a syntax tree; raise ExpressionError."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}", None, "")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})", None, text)
    p = _Parser(text, frozenset(params or ()))
    tree = p.parse()
    dim = 1 if p.dim_var is None else p.dim_var.index + 1
    return Parsed(tree, dim, frozenset(p.used), p.dim_var)
