"""Benchmark rows and their table. A row compares a measured figure with a target (and a bare reference)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    """One benchmark figure. ok is None when the row only reports (no target)."""

    group: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    reference: float | None = None
    ratio: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


RowFn = Callable[[bool], list[Row]]
GROUPS: dict[str, RowFn] = {}


def group(name: str) -> Callable[[RowFn], RowFn]:
    """Register a function(quick: bool) -> list[Row] as a named group of rows."""

    def deco(fn: RowFn) -> RowFn:
        GROUPS[name] = fn
        return fn

    return deco


def best_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall time of `number` calls over `repeat` rounds, seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0 or 1e-3 <= abs(v) < 1e6:
        return f"{v:.4g}"
    return f"{v:.3e}"


def render(rows: list[Row]) -> str:
    head = ["group", "figure", "value", "unit", "reference", "ratio", "target", "ok"]
    body = [
        [
            r.group,
            r.name,
            fmt(r.value),
            r.unit,
            fmt(r.reference),
            fmt(r.ratio),
            r.target,
            {True: "yes", False: "NO", None: ""}[r.ok],
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  [{r.name}] {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))
