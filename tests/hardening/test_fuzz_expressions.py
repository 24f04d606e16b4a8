"""Typed expressions from outside: a fixed corpus, >= 10,000 seeded random strings, hypothesis properties.

tests/core/test_expression.py already fuzzes token soup and arbitrary short text with hypothesis (6,000
examples); this file adds volume from the seeded generators of ebmlab.core.fuzz (grammar, mutations,
injections, unicode, nesting, long input, huge numbers), a reviewed corpus, shrinkable grammar-aware
properties with oracles, and proof that nothing outside the whitelist is reached while fuzzing.

Each input either builds an ExpressionEnergy that evaluates (value and analytic gradient; finite or not)
or raises ExpressionError with a non-empty message; nothing else, and each in under a second.
EBMLAB_FUZZ_SEED / EBMLAB_FUZZ_N change the seeded run (defaults are fixed, so CI is reproducible).
"""

from __future__ import annotations

import builtins
import importlib
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebmlab.core import fuzz
from ebmlab.core.energies.expression import ExpressionEnergy
from ebmlab.core.energies.expression_parse import MAX_DEPTH, MAX_LENGTH
from ebmlab.core.errors import ExpressionError

CORPUS = Path(__file__).parent / "corpus" / "expressions.txt"
SEED = int(os.environ.get("EBMLAB_FUZZ_SEED", "20240611"))
N_SEEDED = int(os.environ.get("EBMLAB_FUZZ_N", "10000"))
PER_ITEM_LIMIT = 1.0  # seconds
ESCAPES = ("__", "import", "lambda", "open", "eval", "exec", "getattr", "globals", "compile")


# ----------------------------------------------------------------------------- the seal


class Escape(AssertionError):
    """Raised by a trapped function: something tried to leave the expression whitelist."""


@contextmanager
def sealed() -> Iterator[list[tuple[str, str]]]:
    """Trap every way out (imports, files, processes, sockets, eval); yields the list of attempted calls."""
    calls: list[tuple[str, str]] = []

    def trap(name: str):
        def f(*args, **kwargs):
            calls.append((name, ", ".join(type(a).__name__ for a in args)))
            raise Escape(f"{name} called while fuzzing expressions")

        return f

    targets = [
        (builtins, "__import__"), (builtins, "open"), (builtins, "eval"), (builtins, "exec"), (builtins, "compile"),
        (builtins, "breakpoint"), (builtins, "input"), (io, "open"), (os, "open"), (os, "system"), (os, "popen"),
        (os, "execv"), (os, "execve"), (os, "fork"), (os, "remove"), (os, "unlink"), (subprocess.Popen, "__init__"),
        (importlib, "import_module"), (socket, "socket"),
    ]  # fmt: skip
    saved = [(obj, name, getattr(obj, name)) for obj, name in targets if hasattr(obj, name)]
    for obj, name, _ in saved:
        setattr(obj, name, trap(f"{getattr(obj, '__name__', obj)}.{name}"))
    try:
        yield calls
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def test_the_seal_catches_what_it_claims() -> None:
    with sealed() as calls:
        for attempt in (
            lambda: __import__("os"),
            lambda: open("/etc/passwd"),
            lambda: io.open("/etc/passwd"),  # noqa: UP020
            lambda: os.system("true"),
            lambda: subprocess.Popen(["true"]),
            lambda: importlib.import_module("json"),
        ):
            with pytest.raises(Escape):
                attempt()
    assert [c[0] for c in calls] == [
        "builtins.__import__",
        "builtins.open",
        "io.open",
        "os.system",
        "Popen.__init__",
        "importlib.import_module",
    ]
    assert builtins.open is io.open  # restored


def _warm_up() -> None:
    """Import everything an expression may lazily need before the seal goes on."""
    for text in ["x", "a*x**2 + y", "sin(x)/0", "min(x, y, 1)", "logsumexp(x, y)", "x.real", "ｘ", "(" * 80]:
        fuzz.try_expression(text)


def _retimed(text: str, outcome: fuzz.Outcome) -> float:
    """A case over the limit is timed once more (the CI machine is shared); the better time counts."""
    if outcome.seconds < PER_ITEM_LIMIT:
        return outcome.seconds
    return min(outcome.seconds, fuzz.try_expression(text).seconds)


def run_sealed(cases: list[tuple[str, str]]) -> tuple[fuzz.Tally, dict[str, dict[str, int]], list[str]]:
    """Fuzz `cases` (generator name, text) under the seal; assert nothing escaped and no module was imported."""
    _warm_up()
    before = set(sys.modules)
    tally = fuzz.Tally()
    per: dict[str, dict[str, int]] = {}
    slow: list[str] = []
    with sealed() as calls:
        for name, text in cases:
            out = fuzz.try_expression(text)
            tally.add(text, out)
            per.setdefault(name, {"ok": 0, "refused": 0, "other": 0})[out.kind] += 1
            if out.seconds >= PER_ITEM_LIMIT and _retimed(text, out) >= PER_ITEM_LIMIT:
                slow.append(f"{out.seconds:.2f} s: {text[:80]!r}")
    assert calls == [], f"the fuzz reached outside the whitelist: {calls[:5]}"
    assert set(sys.modules) - before == set(), "modules were imported during the fuzz"
    return tally, per, slow


def assert_clean(tally: fuzz.Tally, slow: list[str]) -> None:
    assert tally.counts["other"] == 0, "\n".join(f"{t!r}: {d}" for t, d in tally.failures)
    assert not slow, f"over {PER_ITEM_LIMIT} s: {slow[:5]}"


# ----------------------------------------------------------------------------- the corpus


def test_corpus_reads_and_covers_the_attack_classes() -> None:
    corpus = fuzz.read_corpus(CORPUS)
    assert len(corpus) >= 200
    joined = "\n".join(corpus)
    for needle in ["().__class__", "__import__('os')", "lambda: 0", "[x for x in y]", "open('/etc/passwd')", "ｘ**2"]:
        assert needle in corpus, needle
    for needle in ["х", "\u200b", "\u202e", "\x00", "9**9**9**9", "1e999", "{x}", "\\", "x.real", "x[0]", "😀"]:
        assert needle in joined, repr(needle)
    assert any(line.count("(") > MAX_DEPTH for line in corpus)
    assert "x if y else z" in corpus and "import os" in corpus and "x; y" in corpus and "x = 1" in corpus


def test_corpus_compiles_or_is_refused_and_escapes_are_refused() -> None:
    corpus = fuzz.read_corpus(CORPUS)
    tally, _, slow = run_sealed([("corpus", t) for t in corpus])
    assert_clean(tally, slow)
    assert tally.counts["ok"] >= 20 and tally.counts["refused"] >= 150
    for text in corpus:
        if any(word in text for word in ESCAPES):
            assert fuzz.try_expression(text).kind == "refused", text


@pytest.mark.parametrize("n", [MAX_LENGTH + 1, 10_000, 100_000, 1_000_000])
def test_very_long_input_is_refused_fast(n: int) -> None:
    for unit in ["x+", "(", "ｘ", "\u200b", "9"]:
        text = (unit * n)[:n]
        t0 = time.perf_counter()
        with pytest.raises(ExpressionError, match="too long"):
            ExpressionEnergy(text)
        assert time.perf_counter() - t0 < 0.1


def test_input_at_the_length_cap_compiles_in_time() -> None:
    for unit in ["x+", "sin(x)+", "x*y+", "1+"]:
        text = (unit * MAX_LENGTH)[: MAX_LENGTH - 1] + "1"
        text = text.replace("++", "+1+").replace("*+", "*1+")[:MAX_LENGTH]
        out = fuzz.try_expression(text)
        assert out.kind in ("ok", "refused") and _retimed(text, out) < PER_ITEM_LIMIT, (text[-20:], out)


# ----------------------------------------------------------------------------- volume: the seeded generator


def test_seeded_fuzz_ten_thousand(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    cases = list(fuzz.expression_cases(SEED, N_SEEDED))
    tally, per, slow = run_sealed(cases)
    wall = time.perf_counter() - t0
    with capsys.disabled():
        print(
            f"\nexpression fuzz: {tally.total} inputs in {wall:.1f} s, {tally.counts}, "
            f"max {tally.max_seconds * 1000:.0f} ms ({tally.slowest[:40]!r})"
        )
    assert tally.total >= 10_000 or N_SEEDED < 10_000
    assert_clean(tally, slow)
    # the generator must exercise both sides: enough inputs compile and enough are refused
    assert tally.counts["ok"] >= 0.1 * tally.total and tally.counts["refused"] >= 0.4 * tally.total
    assert per["grammar"]["refused"] == 0, "the grammar generator made an expression the parser refused"
    for name in fuzz.GENERATORS:
        assert sum(per.get(name, {}).values()) > 0, f"generator {name} never ran"


# ----------------------------------------------------------------------------- hypothesis: shrinkable properties

LEAF = st.sampled_from(["x", "y", "a", "r", "pi", "e", "0", "1", "2.5", ".5", "1e-3", "3."])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(fuzz.OPS), children).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(st.sampled_from(fuzz.FUNCS1), children).map(lambda t: f"{t[0]}({t[1]})"),
        children.map(lambda s: f"-({s})"),
        st.tuples(st.sampled_from(fuzz.FUNCSN), st.lists(children, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


GRAMMAR = st.recursive(LEAF, _extend, max_leaves=12)


def fast(n: int) -> settings:
    """Derandomized (reproducible in CI), no deadline (the per-item limit is asserted separately)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _values(text: str) -> tuple[torch.Tensor, torch.Tensor]:
    e = ExpressionEnergy(text, params=fuzz.FUZZ_PARAMS, dim=2)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2
    return e.energy_and_grad(x)


@fast(300)
@given(GRAMMAR)
def test_grammar_expressions_compile_and_are_layout_invariant(text: str) -> None:
    out = fuzz.try_expression(text)
    assert out.kind == "ok", (text, out.detail)
    # metamorphic oracle: parentheses around the whole and spaces around every token change nothing
    spaced = " " + text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ") + "\t"
    for other in (f"({text})", spaced):
        E0, g0 = _values(text)
        E1, g1 = _values(other)
        torch.testing.assert_close(E1, E0, rtol=0, atol=0, equal_nan=True)
        torch.testing.assert_close(g1, g0, rtol=0, atol=0, equal_nan=True)


@fast(400)
@given(GRAMMAR, st.integers(0, 10**6), st.sampled_from(fuzz.INJECTIONS + fuzz.GARBAGE + fuzz.UNICODE))
def test_injections_into_valid_expressions(text: str, where: int, injection: str) -> None:
    i = where % (len(text) + 1)
    mutated = text[:i] + injection + text[i:]
    with sealed() as calls:
        out = fuzz.try_expression(mutated)
    assert calls == [] and out.kind != "other", (mutated, out.detail)
    if any(word in injection for word in ESCAPES) or any(c in injection for c in "[]{};=@$#`'\"\\\x00"):
        assert out.kind == "refused", mutated


@fast(150)
@given(st.integers(1, 3 * MAX_DEPTH), st.sampled_from(["paren", "neg", "pow", "call", "min"]))
def test_nesting_cap_is_exact(depth: int, kind: str) -> None:
    """Oracle: nesting up to MAX_DEPTH compiles, one level more is a clear 'nested too deeply' error."""
    text = {
        "paren": "(" * depth + "x" + ")" * depth,
        "neg": "-" * depth + "x",
        "pow": "x" + "**x" * depth,
        "call": "sin(" * depth + "x" + ")" * depth,
        "min": "min(x, " * depth + "y" + ")" * depth,
    }[kind]
    out = fuzz.try_expression(text)
    if depth <= MAX_DEPTH:
        assert out.kind == "ok", (kind, depth, out.detail)
    else:
        assert out.kind == "refused" and "nested too deeply" in out.detail, (kind, depth, out.detail)


@fast(300)
@given(st.lists(st.sampled_from(fuzz.UNICODE + ["x", "y", "+", "*", "(", ")", "2"]), max_size=40).map("".join))
def test_lookalikes_and_invisible_characters_never_compile_as_something_else(text: str) -> None:
    """Any non-ASCII character is refused (unless it is plain whitespace handled by the tokenizer: none is)."""
    out = fuzz.try_expression(text)
    assert out.kind != "other", (text, out.detail)
    if not text.isascii():
        assert out.kind == "refused", text


# ----------------------------------------------------------------------------- regressions found by the fuzz


@pytest.mark.parametrize("text", ["x/0", "x/0 - x/-0", "-x/0", "2*x/(1-1)", "sin(x)/0 + y"])
def test_division_by_a_constant_zero_has_an_ieee_gradient(text: str) -> None:
    """Found by this fuzz: energy_and_grad raised ZeroDivisionError (1.0 / 0.0 on Python floats)."""
    e = ExpressionEnergy(text, dim=2)
    x = torch.tensor([[0.5, 1.0], [-2.0, 3.0]], dtype=torch.float64)
    E, g = e.energy_and_grad(x)
    xr = x.clone().requires_grad_(True)
    (g_auto,) = torch.autograd.grad(e(xr).sum(), xr)
    torch.testing.assert_close(E, e(x).detach(), equal_nan=True)
    torch.testing.assert_close(g, g_auto, equal_nan=True)
