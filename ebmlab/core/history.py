"""Bounded metric histories: a series keeps at most `cap` points by halving its resolution when full."""

from __future__ import annotations

import numpy as np


class Series:
    """(step, value[, error]) points. When `cap` is reached every other point is dropped and the
    stride doubles, so memory stays bounded over arbitrarily long runs while the curve keeps its shape."""

    def __init__(self, cap: int = 4000, with_error: bool = False):
        self.cap = cap
        self.stride = 1
        self._skip = 0
        self.steps: list[int] = []
        self.values: list[float] = []
        self.errors: list[float] | None = [] if with_error else None

    def append(self, step: int, value: float, error: float | None = None) -> None:
        self._skip += 1
        if self._skip < self.stride:
            return
        self._skip = 0
        self.steps.append(int(step))
        self.values.append(float(value))
        if self.errors is not None:
            self.errors.append(float("nan") if error is None else float(error))
        if len(self.steps) >= self.cap:
            self.steps = self.steps[::2]
            self.values = self.values[::2]
            if self.errors is not None:
                self.errors = self.errors[::2]
            self.stride *= 2

    def __len__(self) -> int:
        return len(self.steps)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(steps int64, values float64[, errors float64]) copies, safe to hand to another thread."""
        out = (np.array(self.steps, dtype=np.int64), np.array(self.values, dtype=np.float64))
        if self.errors is not None:
            out += (np.array(self.errors, dtype=np.float64),)
        return out


class History:
    """Named series of a run. Series with error bars: names in `WITH_ERROR`."""

    WITH_ERROR = ("logz_estimate",)

    def __init__(self, cap: int = 4000):
        self.cap = cap
        self.series: dict[str, Series] = {}

    def add(self, name: str, step: int, value: float, error: float | None = None) -> None:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(self.cap, with_error=name in self.WITH_ERROR)
        s.append(step, value, error)

    def export(self) -> dict[str, tuple[np.ndarray, ...]]:
        return {k: s.arrays() for k, s in self.series.items()}

    def rows(self) -> list[dict]:
        """Per-step rows (step, metric...) for CSV; series are aligned on their steps."""
        table: dict[int, dict] = {}
        for name, s in self.series.items():
            for i, st in enumerate(s.steps):
                row = table.setdefault(st, {"step": st})
                row[name] = s.values[i]
                if s.errors is not None:
                    row[name + "_stderr"] = s.errors[i]
        return [table[k] for k in sorted(table)]
