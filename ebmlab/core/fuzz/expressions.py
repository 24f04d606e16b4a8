"""Nasty typed energy expressions, and what the lab does with each (ok / refused / other)."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

# ----------------------------------------------------------------------------------------- expressions

FUZZ_PARAMS = {"a": 0.5, "r": 2.0}
FUNCS1 = ["exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "softplus", "relu", "floor"]
FUNCSN = ["min", "max", "logsumexp"]
LEAVES = ["x", "y", "z", "x1", "x2", "x10", "a", "r", "pi", "e", "0", "1", "2.5", ".5", "1e-3", "3.", "1e308", "0.0"]
OPS = ["+", "-", "*", "/", "**"]
GARBAGE = [
    "__class__", "__import__", "__builtins__", "__subclasses__", "import", "os", "sys", "lambda", "for", "in", "if",
    "else", "not", "and", "or", "is", "None", "True", "open", "eval", "exec", "compile", "getattr", "globals",
    "real", "imag", "mro", "[", "]", "{", "}", ".", ":", ";", "=", "==", "!=", "'", '"', "\\", "@", "$", "#", "!",
    "?", "~", "&", "|", "%", "<", ">", "<<", "^", "`", "\x00", "\n", "\t", "\r", "()", "(x)", "[0]", ".real",
    "0x10", "1_000", "1j", "0b1", "0o7", "1e", "1e+", "--", "**-", "...", "//", "***", "f'{x}'", "{x}", "%s",
    "x=1", "x:=1", "\\x41", "\\n", "nan", "inf", "NaN", "Infinity",
]  # fmt: skip
UNICODE = [
    "ｘ", "х", "ⅹ", "𝐱", "ｙ", "у", "ｚ", "π", "ℯ", "é", "µ", "ß", "İ", "ſ", "K", "ﬁ", "١", "²", "½", "∞", "−", "×",
    "∗", "（", "）", "，", "．", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202e",
    "\u2066", "\u00a0", "\u3000", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1b", "\x7f", "\ud800", "\udfff",
    "😀", "👍🏽", "🐍", "\U000e0041", "\ufffd", "x\u0301",
]  # fmt: skip
INJECTIONS = [
    ".__class__", ".__class__.__bases__[0].__subclasses__()", ".real", "[0]", "(1)", " if y else z",
    " for x in y", "; import os", "\nimport os", ", __import__ ('os')", ".__dict__", "['__builtins__']",
    " lambda: 0", " @ x", " = 1", "#", "{x}", "\\", "\x00", "\u202e", "\u200b", "ｘ",
]  # fmt: skip
NASTY_NUMBERS = [
    "9**9**9**9", "9**9**9**9**9", "1e999", "-1e999", "1e308*1e308", "exp(1e308)", "10**400", "2**1024", "0**-1",
    "(-1)**0.5", "(-8)**(1/3)", "log(0)", "1/0", "-1/0", "0/0", "1e-400", "x**1e308", "exp(exp(exp(exp(1000))))",
    "0.0000000000000000000000000000000000000001", "1e+308", "1.7976931348623157e308", "4.9e-324", "x/0 - x/-0",
    "sqrt(-1)", "log(-x**2 - 1)", "floor(1e300)", "logsumexp(1e308, 1e308)", "min(1e308*10, x)",
]  # fmt: skip


def grammar_expression(rng: random.Random, depth: int = 4) -> str:
    """A random expression of the grammar (always valid: it uses only x, y, a, r, so dim <= 2)."""
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(["x", "y", "a", "r", "pi", "e", "0.5", "2", "1e-3", "3."])
    k = rng.random()
    sub = lambda: grammar_expression(rng, depth - 1)  # noqa: E731
    if k < 0.45:
        op = rng.choice(OPS)
        return f"({sub()}){op}({sub()})" if op == "**" else f"{sub()} {op} {sub()}"
    if k < 0.75:
        return f"{rng.choice(FUNCS1)}({sub()})"
    if k < 0.85:
        return f"-{sub()}"
    if k < 0.92:
        return f"({sub()})"
    return f"{rng.choice(FUNCSN)}({', '.join(sub() for _ in range(rng.randint(2, 3)))})"


def _any_token(rng: random.Random) -> str:
    pool = rng.choice([LEAVES, OPS, FUNCS1, FUNCSN, GARBAGE, UNICODE, ["(", ")", ",", " "]])
    return rng.choice(pool)


def token_soup(rng: random.Random) -> str:
    return "".join(_any_token(rng) for _ in range(rng.randint(0, 40)))


def random_text(rng: random.Random) -> str:
    """Random code points: ASCII, Latin-1, the BMP (surrogates included), astral planes, controls."""
    ranges = [(0x20, 0x7E), (0x00, 0x1F), (0xA0, 0xFF), (0x100, 0xD7FF), (0xD800, 0xDFFF), (0xE000, 0xFFFF)]
    ranges += [(0x10000, 0x10FFFF), (0x28, 0x2F), (0x78, 0x7A)]
    out = []
    for _ in range(rng.randint(0, 60)):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def mutate_text(rng: random.Random, text: str, edits: int | None = None) -> str:
    """A few random character-level edits: insert, delete, replace, duplicate or move a slice, truncate."""
    s = text
    for _ in range(edits if edits is not None else rng.randint(1, 4)):
        i = rng.randint(0, len(s))
        k = rng.random()
        if k < 0.3:
            ins = rng.choice([_any_token(rng), rng.choice(UNICODE), chr(rng.randint(0, 0x7F))])
            s = s[:i] + ins + s[i:]
        elif k < 0.5 and s:
            s = s[:i] + s[i + 1 :]
        elif k < 0.7 and s:
            j = min(len(s) - 1, i)
            s = s[:j] + chr(rng.randint(0x20, 0x7E)) + s[j + 1 :]
        elif k < 0.85 and s:
            j = rng.randint(0, len(s))
            a, b = min(i, j), max(i, j)
            s = s[:a] + s[a:b] * rng.randint(2, 5) + s[a:]
        elif k < 0.95 and s:
            s = s[: rng.randint(0, len(s))]
        else:
            s = s[i:] + s[:i]
    return s


def inject(rng: random.Random, text: str) -> str:
    """Attribute access, subscripts, statements, comprehensions... spliced into a valid expression."""
    i = rng.randint(0, len(text))
    return text[:i] + rng.choice(INJECTIONS) + text[i:]


def deep_nesting(rng: random.Random, depth: int | None = None) -> str:
    """Nesting around the cap (64 levels): parentheses, unary minus, powers, calls; sometimes unbalanced."""
    k = depth if depth is not None else rng.choice([rng.randint(50, 80), rng.randint(1, 2000)])
    kind = rng.randrange(7)
    if kind == 0:
        s = "(" * k + "x" + ")" * k
    elif kind == 1:
        s = "-" * k + "x"
    elif kind == 2:
        s = "x" + "**x" * k
    elif kind == 3:
        s = "sin(" * k + "x" + ")" * k
    elif kind == 4:
        s = "min(x, " * k + "y" + ")" * k
    elif kind == 5:
        s = "(-" * k + "x" + ")" * k
    else:
        s = "(" * k + "x"  # never closed
    return s[: rng.randint(1, len(s))] if rng.random() < 0.1 else s


def long_input(rng: random.Random, max_length: int = 2000) -> str:
    """Inputs just under, at and over the length cap, and far over it (10k-100k characters)."""
    n = rng.choice([max_length - 1, max_length, max_length + 1, rng.randint(max_length - 20, max_length + 20)])
    n = rng.choice([n, 10_000, 100_000]) if rng.random() < 0.3 else n
    unit = rng.choice(["x+", "1+", "x*y+", "(x)+", "-", "sin(x)+", "ｘ", "\u200b", "a", "9", " "])
    s = (unit * (n // len(unit) + 1))[:n]
    if s.endswith("+") or s.endswith("*"):
        s = s[:-1] + "1"
    return s


def huge_number(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(NASTY_NUMBERS)
    digits = rng.randint(300, 1999)
    return rng.choice(["1" * digits, "0." + "0" * (digits - 3) + "1", "9" * digits + "e9", f"1e{'9' * 30}"])


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "grammar": lambda r: grammar_expression(r, r.randint(1, 5)),
    "mutated": lambda r: mutate_text(r, grammar_expression(r, r.randint(1, 4))),
    "injected": lambda r: inject(r, grammar_expression(r, r.randint(0, 3))),
    "soup": token_soup,
    "unicode": random_text,
    "nesting": deep_nesting,
    "long": long_input,
    "numbers": huge_number,
}
WEIGHTS = {"grammar": 3, "mutated": 4, "injected": 3, "soup": 3, "unicode": 2, "nesting": 1, "long": 0.3, "numbers": 1}


def expression_cases(seed: int, n: int) -> Iterator[tuple[str, str]]:
    """(generator name, text) for n seeded random expressions."""
    rng = random.Random(seed)
    names = list(GENERATORS)
    weights = [WEIGHTS[k] for k in names]
    for _ in range(n):
        name = rng.choices(names, weights)[0]
        yield name, GENERATORS[name](rng)


def read_corpus(path: str | os.PathLike) -> list[str]:
    """One expression per line (UTF-8, split on '\\n' only). A line starting with '## ' is a comment;
    'json:' followed by a JSON string literal spells invisible or control characters; other lines are literal."""
    out = []
    for line in Path(path).read_bytes().decode("utf-8").split("\n"):
        if line.startswith("## ") or line == "##":
            continue
        if line.startswith("json:"):
            value = json.loads(line[5:])
            if not isinstance(value, str):
                raise ValueError(f"{path}: {line!r} is not a JSON string")
            out.append(value)
        elif line:
            out.append(line)
    return out


class Outcome(NamedTuple):
    kind: str  # 'ok' | 'refused' | 'other'
    seconds: float
    detail: str


_NAME = re.compile(r"(?<![0-9.A-Za-z_])[A-Za-z_][A-Za-z0-9_]*")


_LAZY: dict[str, Any] = {}


def _lazy() -> dict[str, Any]:
    """torch and the expression module, imported once (so a fuzz run under an import trap imports nothing)."""
    if not _LAZY:
        import torch

        from ..energies import expression, expression_parse
        from ..errors import ExpressionError

        _LAZY.update(torch=torch, expression=expression, parse=expression_parse, ExpressionError=ExpressionError)
    return _LAZY


def _whitelisted(name: str, params: dict[str, float]) -> bool:
    p = _lazy()["parse"]
    return name in p.FUNCTIONS or name in p.CONSTANTS or name in params or p.reserved_kind(name) == "a variable"


def try_expression(text: str, params: dict[str, float] | None = None, n_points: int = 4) -> Outcome:
    """Build ExpressionEnergy(text) and evaluate it (value and analytic gradient) on a few points.

    'ok': built, evaluated with the right shapes, and every name in the text is whitelisted;
    'refused': ExpressionError with a non-empty message and a column inside the text (or None);
    'other': anything else (the detail says what)."""
    lazy = _lazy()
    torch, ExpressionError = lazy["torch"], lazy["ExpressionError"]
    ExpressionEnergy = lazy["expression"].ExpressionEnergy
    params = FUZZ_PARAMS if params is None else params
    t0 = time.perf_counter()
    try:
        e = ExpressionEnergy(text, params=params)
        names = [m for m in _NAME.findall(text) if not _whitelisted(m, params)]
        if names:
            return Outcome("other", time.perf_counter() - t0, f"compiled with non-whitelisted names {names}")
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n_points, e.dim, generator=g, dtype=torch.float64) * 2
        val = e(x)
        E, grad = e.energy_and_grad(x)
        if val.shape != (n_points,) or E.shape != (n_points,) or grad.shape != (n_points, e.dim):
            return Outcome("other", time.perf_counter() - t0, f"bad shapes {val.shape} {E.shape} {grad.shape}")
        subs = list(e.children())
        if subs:
            return Outcome("other", time.perf_counter() - t0, f"unexpected submodules {subs}")
    except ExpressionError as err:
        dt = time.perf_counter() - t0
        if not str(err).strip() or not err.reason.strip():
            return Outcome("other", dt, "ExpressionError with an empty message")
        if err.column is not None and not (isinstance(text, str) and 1 <= err.column <= len(text) + 1):
            return Outcome("other", dt, f"column {err.column} outside the text: {err}")
        return Outcome("refused", dt, str(err))
    except Exception as err:  # noqa: BLE001 - classifying is the point
        return Outcome("other", time.perf_counter() - t0, f"{type(err).__name__}: {err}")
    return Outcome("ok", time.perf_counter() - t0, "")


@dataclass
class Tally:
    """Counts of outcomes, the slowest case and the first few failures."""

    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "refused": 0, "other": 0})
    max_seconds: float = 0.0
    slowest: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)
    total_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, label: str, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        self.total_seconds += outcome.seconds
        if outcome.seconds > self.max_seconds:
            self.max_seconds, self.slowest = outcome.seconds, label[:200]
        if outcome.kind == "other" and len(self.failures) < 20:
            self.failures.append((label[:300], outcome.detail[:500]))
