"""Seeded generators and mutators of untrusted input, shared by the hardening tests and `ebmlab bench`.

Three kinds of input reach the lab from outside: typed energy expressions, preset files and data files.
This module makes nasty versions of each (pure Python + numpy, seeded, no hypothesis) and classifies what
the lab does with an expression. Presets and data files are only *made* here (as bytes or files in a folder
the caller owns); loading them is the caller's business, so the core does not depend on the config package.

Outcomes are 'ok' (accepted and usable), 'refused' (an EbmlabError with a non-empty message) or 'other'
(anything else: a bug). Nothing here evaluates user text; the generators only build strings and bytes.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

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

        from .energies import expression, expression_parse
        from .errors import ExpressionError

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


# --------------------------------------------------------------------------------------------- presets

SIZE_FIELDS = [
    "chains.n", "chains.steps_per_update", "logz.particles", "logz.temps", "logz.every", "data.n",
    "data.grid_points", "training.grid_points", "training.steps", "training.eval_every", "view.grid",
    "optimiser.batch_size", "estimator.n_chains", "estimator.k", "estimator.grid_points", "estimator.n_projections",
    "sampler.grid_points", "sampler.n_leapfrog", "sampler.sweeps", "model.width", "model.depth", "model.dim",
    "model.units", "model.visible", "model.hidden", "model.components", "model.classes",
]  # fmt: skip
ENORMOUS: list[Any] = [10**9, 10**12, 10**18, 10**30, 1e9, 1e18, 2**63, 10**400]
NEGATIVE: list[Any] = [-1, -(10**9), -0.5, -1e300, -(2**63)]
ODD_VALUES: list[Any] = [
    None, True, False, "", "x", "1e9", "NaN", [], {}, [1, 2], {"a": 1}, 0, -0.0, 1, 2, 0.5, 1.5, 1e-308, 5e-324,
    1e308, -1e308, 2**31, 2**53 + 1, "\u202e", "\x00", "../../etc/passwd", [[0, 1]], [[-1e308, 1e308]],
]  # fmt: skip
NON_FINITE_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999999"]
BAD_PATHS = [
    "../escape.npz", "../../../../etc/passwd", "/etc/passwd", "/dev/zero", "/proc/self/mem", "~/x.npz",
    "sub/../../x.npz", "", ".", "..", "C:\\x.npz", "a" * 300 + ".npz", "missing.npz", "dir.npz", "fifo.npz",
    "zero_link.npz", "loop.npz", "mem_link.npz", "nul\x00.npz", "\u202egpj.npz", "folder/../ok.npz",
]  # fmt: skip
_SENTINEL = "@@FUZZ_TOKEN@@"


@dataclass(frozen=True)
class PresetMutant:
    """A mutated preset: the file's bytes, side files to write beside it, and what the refusal must name."""

    kind: str
    data: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    field: str | None = None  # when refused, the message must contain this field path


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


def _set(obj: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _dotted(path: tuple) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _dump(raw: Any, token: str | None = None) -> bytes:
    text = json.dumps(raw, indent=1, ensure_ascii=False)
    if token is not None:
        text = text.replace(json.dumps(_SENTINEL), token)
    return text.encode("utf-8", "surrogatepass")


def _npy(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)  # object arrays are pickled by np.save: exactly the hostile file we want to refuse
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_header_only(shape: tuple[int, ...], dtype: str = "<f8", payload: bytes = b"\0" * 64) -> bytes:
    """A .npy file whose header claims `shape` but holds only `payload`: a lie about its size."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def hostile_weights(rng: random.Random, pickle_bytes: bytes | None = None) -> tuple[str, bytes]:
    """(label, bytes) of a weights file that must be refused: pickles, object arrays, lies, garbage."""
    choices = [
        ("npz-object-array", lambda: _npz({"w": np.array([{"a": 1}, None], dtype=object)})),
        ("npz-string-array", lambda: _npz({"w": np.array(["a", "b"])})),
        ("npz-nan", lambda: _npz({"w": np.array([np.nan, 1.0])})),
        ("npz-huge-header", lambda: _zip({"w.npy": npy_header_only((10**12,))})),
        ("npz-huge-header-2d", lambda: _zip({"w.npy": npy_header_only((10**6, 10**6))})),
        ("npz-object-member", lambda: _zip({"w.npy": _npy(np.array([object()], dtype=object))})),
        ("npz-truncated", lambda: _npz({"w": np.arange(100.0)})[: rng.randint(1, 200)]),
        ("npz-garbage", lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))),
        ("npy-not-npz", lambda: _npy(np.arange(4.0))),
        ("empty", lambda: b""),
        ("json-not-npz", lambda: b'{"a": 1}'),
    ]
    if pickle_bytes is not None:
        choices.append(("raw-pickle", lambda: pickle_bytes))
        choices.append(("npz-with-pickle-member", lambda: _zip({"w.pkl": pickle_bytes, "w.npy": pickle_bytes})))
    label, make = rng.choice(choices)
    return label, make()


def mutate_preset(
    rng: random.Random, raw: dict, name: str = "preset.json", pickle_bytes: bytes | None = None
) -> PresetMutant:
    """One random mutation of a preset's JSON object (a deep copy is changed, never `raw`)."""
    d = copy.deepcopy(raw)
    base = _dump(d)
    kinds = [
        "delete", "wrong_type", "non_finite", "enormous", "negative", "path", "data_path", "truncate",
        "byte_flip", "non_utf8", "deep_nesting", "weights", "odd_value", "combo",
    ]  # fmt: skip
    kind = rng.choice(kinds)
    paths = _paths(d)
    if kind == "delete":
        p = rng.choice(paths)
        obj = d
        for k in p[:-1]:
            obj = obj[k]
        del obj[p[-1]]
        return PresetMutant(f"delete {_dotted(p)}", _dump(d))
    if kind == "wrong_type":
        p = rng.choice(paths)
        v = rng.choice(ODD_VALUES)
        _set(d, p, v)
        return PresetMutant(f"set {_dotted(p)} = {v!r}", _dump(d))
    if kind == "odd_value":  # a numeric leaf gets an extreme but well-formed value
        nums = [p for p in paths if isinstance(_get(d, p), (int, float)) and not isinstance(_get(d, p), bool)]
        p = rng.choice(nums or paths)
        v = rng.choice([0, -0.0, 1e-308, 5e-324, 1e308, -1e308, 2**31, 2**53 + 1, 1, 2, 0.5, -1, 3])
        _set(d, p, v)
        return PresetMutant(f"set {_dotted(p)} = {v!r}", _dump(d))
    if kind == "non_finite":
        p = rng.choice(paths)
        token = rng.choice(NON_FINITE_TOKENS)
        _set(d, p, _SENTINEL)
        return PresetMutant(f"set {_dotted(p)} = {token}", _dump(d, token))
    if kind in ("enormous", "negative"):
        f = rng.choice(SIZE_FIELDS)
        section, key = f.split(".")
        if not isinstance(d.get(section), dict):
            d[section] = {}
        v = rng.choice(ENORMOUS if kind == "enormous" else NEGATIVE)
        d[section][key] = v
        return PresetMutant(f"set {f} = {v!r}", _dump(d), field=f)
    if kind == "path":
        ref = rng.choice(BAD_PATHS)
        d["weights"] = ref
        return PresetMutant(f"weights = {ref!r}", _dump(d))
    if kind == "data_path":
        ref = rng.choice(BAD_PATHS + ["ok.csv", "garbage.csv", "object.npy", "huge_cols.npy"])
        ref = ref.replace(".npz", rng.choice([".csv", ".npy", ".txt"]))
        d["data"] = {"kind": rng.choice(["file", "patterns"]), "path": ref}
        return PresetMutant(f"data.path = {ref!r}", _dump(d))
    if kind == "truncate":
        return PresetMutant("truncated", base[: rng.randint(0, max(0, len(base) - 1))])
    if kind == "byte_flip":
        b = bytearray(base)
        for _ in range(rng.randint(1, 5)):
            i = rng.randrange(len(b))
            b[i] = rng.getrandbits(8)
        return PresetMutant("byte flips", bytes(b))
    if kind == "non_utf8":
        k = rng.randrange(4)
        if k == 0:
            i = rng.randrange(len(base))
            bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
            return PresetMutant("invalid UTF-8 byte", base[:i] + bad + base[i:])
        if k == 1:
            return PresetMutant("UTF-16", base.decode("utf-8").encode("utf-16"))
        if k == 2:
            return PresetMutant("latin-1 name", base.replace(b'"name": "', b'"name": "\xe9\xe8', 1))
        return PresetMutant("UTF-8 BOM", b"\xef\xbb\xbf" + base)
    if kind == "deep_nesting":
        depth = rng.choice([100, 900, 990, 1000, 5000, 100_000])
        p = rng.choice(paths)
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        _set(d, p, _SENTINEL)
        return PresetMutant(f"nested {depth} at {_dotted(p)}", _dump(d, opener * depth + "0" + closer * depth))
    if kind == "weights":
        label, data = hostile_weights(rng, pickle_bytes)
        d["weights"] = "w.npz"
        return PresetMutant(f"weights: {label}", _dump(d), {"w.npz": data})
    # combo: two or three mutations stacked (no field expectation)
    m = mutate_preset(rng, d, name, pickle_bytes)
    if m.kind.startswith(("nested", "combo")):  # keep deep nesting out of copy.deepcopy; two levels at most
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    try:
        d2 = json.loads(m.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    if not isinstance(d2, dict):
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    m2 = mutate_preset(rng, d2, name, pickle_bytes)
    return PresetMutant(f"combo: {m.kind}; {m2.kind}", m2.data, {**m.files, **m2.files})


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def write_preset_folder(folder: Path, mutant: PresetMutant, name: str = "preset.json") -> Path:
    """Write the mutant and its side files into `folder` (plus the traps its paths may point at)."""
    folder.mkdir(parents=True, exist_ok=True)
    for fname, data in mutant.files.items():
        (folder / fname).write_bytes(data)
    write_traps(folder)
    p = folder / name
    p.write_bytes(mutant.data)
    return p


def write_traps(folder: Path) -> None:
    """Files that bad references point at: a FIFO, links out of the folder, a loop, a directory, bad data."""
    folder.mkdir(parents=True, exist_ok=True)

    def link(name: str, target: str) -> None:
        if not os.path.lexists(folder / name):
            os.symlink(target, folder / name)

    for ext in (".npz", ".csv", ".npy", ".txt"):
        if hasattr(os, "mkfifo") and not os.path.lexists(folder / f"fifo{ext}"):
            os.mkfifo(folder / f"fifo{ext}")
        link(f"zero_link{ext}", "/dev/zero")
        link(f"mem_link{ext}", "/proc/self/mem")
        link(f"loop{ext}", f"loop{ext}")
        (folder / f"dir{ext}").mkdir(exist_ok=True)
    (folder / "ok.csv").write_text("x,y\n0,0\n1,1\n0.5,-0.5\n")
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "object.npy").write_bytes(_npy(np.array([{"a": 1}, None], dtype=object)))
    (folder / "huge_cols.npy").write_bytes(npy_header_only((4, 10**12)))


def shrink_preset(raw: dict) -> dict:
    """A cheaper copy of a preset (fewer chains, points and grid cells) so a Trainer builds in well under a second.
    Only fields the preset's components already have (or plain-section fields) are changed."""
    d = copy.deepcopy(raw)

    def cap(section: str, key: str, value: int, add: bool = False) -> None:
        s = d.get(section)
        if isinstance(s, dict) and (key in s or add):
            cur = s.get(key)
            if cur is None or (isinstance(cur, (int, float)) and not isinstance(cur, bool) and cur > value):
                s[key] = value

    cap("chains", "n", 64, add=True)
    cap("data", "n", 300)
    cap("data", "grid_points", 64)
    cap("estimator", "n_chains", 64)
    cap("estimator", "k", 5)
    cap("estimator", "grid_points", 32)
    cap("sampler", "grid_points", 32)
    cap("logz", "particles", 64)
    cap("logz", "temps", 20)
    if not isinstance(d.get("training"), dict):
        d["training"] = {}
    if not d["training"].get("grid_points"):
        d["training"]["grid_points"] = 32
    cap("training", "grid_points", 32)
    cap("model", "width", 32)
    return d


# ------------------------------------------------------------------------------------------ data files


def data_file_cases(folder: Path, big_rows: int = 10_000_000) -> list[tuple[str, Path, int]]:
    """(label, path, dim) for broken or hostile data files written into `folder`.

    big_rows: rows of the large CSV (written quickly as bytes of a repeated block)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path, int]] = []

    def add(label: str, name: str, data: bytes | str | None, dim: int = 2) -> None:
        p = folder / name
        if data is not None:
            p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        out.append((label, p, dim))

    add("empty", "empty.csv", b"")
    add("whitespace only", "blank.csv", "\n\n   \n\t\n")
    add("header only", "header.csv", "x,y\n")
    add("comments only", "comments.csv", "# a\n# b\n")
    add("one row", "one.csv", "1.0,2.0\n")
    add("one row, no newline", "one_nonl.csv", "1.0,2.0")
    add("wrong column count", "ragged.csv", "1,2\n3,4,5\n6,7\n")
    add("too few columns", "narrow.csv", "1\n2\n3\n")
    add("text in numeric column", "text.csv", "x,y\n1,2\n3,abc\n")
    add("NaN row", "nan.csv", "1,2\nnan,3\n4,5\n")
    add("inf row", "inf.csv", "1,2\ninf,3\n")
    add("NaN in npy", "nan.npy", _npy(np.array([[1.0, np.nan], [2.0, 3.0]])))
    add("huge numbers", "huge.csv", "1e400,2\n3,4\n")
    add("semicolons", "semi.csv", "1;2\n3;4\n")
    add("tabs", "tabs.tsv", "1\t2\n3\t4\n")
    add("mixed delimiters", "mixed.csv", "1,2\n3 4\n")
    add("empty field", "emptyfield.csv", "1,\n2,3\n")
    add("quoted numbers", "quoted.csv", '"1","2"\n"3","4"\n')
    add("hex and underscores", "hex.csv", "0x10,1_000\n1,2\n")
    add("binary garbage .csv", "garbage.csv", bytes(random.Random(0).getrandbits(8) for _ in range(4096)))
    add("NUL bytes .csv", "nul.csv", b"1,2\n\x00\x00\x00\n3,4\n")
    add("UTF-16 .csv", "utf16.csv", "1,2\n3,4\n".encode("utf-16"))
    add("latin-1 header", "latin.csv", "x\xe9,y\n1,2\n".encode("latin-1"))
    add("BOM", "bom.csv", b"\xef\xbb\xbf1,2\n3,4\n")
    add("very long line", "longline.csv", "1," * 200_000 + "1\n")
    add("CRLF", "crlf.csv", b"1,2\r\n3,4\r\n")
    add("binary garbage .npy", "garbage.npy", bytes(random.Random(1).getrandbits(8) for _ in range(4096)))
    add("npy magic then garbage", "magic.npy", b"\x93NUMPY\x01\x00" + b"\xff" * 100)
    add("npy object array (pickle)", "object.npy", _npy(np.array([{"a": 1}, None], dtype=object)))
    add("npy string array", "strings.npy", _npy(np.array([["a", "b"]])))
    add("npy structured", "struct.npy", _npy(np.zeros(3, dtype=[("a", "f8"), ("b", "f8")])))
    add("npy complex", "complex.npy", _npy(np.zeros((3, 2), dtype=complex)))
    add("npy 3-D", "cube.npy", _npy(np.zeros((2, 2, 2))))
    add("npy 0-D", "scalar.npy", _npy(np.array(1.0)))
    add("npy empty", "empty.npy", _npy(np.zeros((0, 2))))
    add("npy 1-D for 2-D", "flat.npy", _npy(np.zeros(4)))
    add("npy truncated", "trunc.npy", _npy(np.arange(200.0).reshape(100, 2))[:-50])
    add("npy header claims 10^12 rows", "rows.npy", npy_header_only((10**12, 2)))
    add("npy header claims 10^12 columns", "cols.npy", npy_header_only((4, 10**12)))
    add("npy header claims 10^6 x 10^6", "square.npy", npy_header_only((10**6, 10**6)))
    add("npy big-endian ok", "be.npy", _npy(np.arange(6.0).reshape(3, 2).astype(">f8")))
    add("npy fortran ok", "fortran.npy", _npy(np.asfortranarray(np.arange(6.0).reshape(3, 2))))
    add("wrong extension", "data.json", "[[1,2]]")
    add("no extension", "noext", "1,2\n")
    add("missing file", "missing.csv", None)
    add("long file name", "a" * 300 + ".csv", None)
    add("directory", "adir.csv", None)
    (folder / "adir.csv").mkdir(exist_ok=True)
    if hasattr(os, "mkfifo"):
        if not os.path.lexists(folder / "fifo.csv"):
            os.mkfifo(folder / "fifo.csv")
        add("FIFO .csv", "fifo.csv", None)
    for name, target in [("zero.csv", "/dev/zero"), ("urandom.npy", "/dev/urandom"), ("mem.csv", "/proc/self/mem")]:
        if not os.path.lexists(folder / name):
            os.symlink(target, folder / name)
        add(f"link to {target}", name, None)
    if not os.path.lexists(folder / "loop.csv"):
        os.symlink("loop.csv", folder / "loop.csv")
    add("symlink loop", "loop.csv", None)
    add("/dev/null", "/dev/null", None)
    add("/dev/zero", "/dev/zero", None)
    if big_rows:
        t0 = time.perf_counter()
        add(f"{big_rows} rows", "big.csv", None)
        write_big_csv(folder / "big.csv", big_rows)
        out[-1] = (f"{big_rows} rows (written in {time.perf_counter() - t0:.1f} s)", folder / "big.csv", 2)
    return out


def write_big_csv(path: Path, rows: int) -> None:
    """rows lines of 'x,y' written as repeated bytes (fast: ~0.1 s per 10^7 rows of I/O)."""
    rng = np.random.default_rng(0)
    block_rows = 10_000
    block = "".join(f"{a:.6f},{b:.6f}\n" for a, b in rng.normal(size=(block_rows, 2))).encode()
    with open(path, "wb") as f:
        f.write(b"x,y\n")
        full, rest = divmod(rows, block_rows)
        for _ in range(full):
            f.write(block)
        if rest:
            f.write(b"".join(block.splitlines(keepends=True)[:rest]))


def guarded(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; AssertionError if it is still running after `timeout` s (a FIFO, a hang)."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"still running after {timeout} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")
