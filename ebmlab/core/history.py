"""Bounded metric histories: a series keeps at most `cap` points by halving its resolution when full."""

from __future__ import annotations

import numpy as np


class Series:
    """(step, value[, error]) points. When `cap` is reached every other point is dropped and the
    stride doubles, so memory stays bounded over arbitrarily long runs while the curve keeps its shape.
    Points live in preallocated numpy buffers: `arrays()` is a cheap copy, published many times a second."""

    def __init__(self, cap: int = 4000, with_error: bool = False):
        self.cap = cap
        self.stride = 1
        self._skip = 0
        self._n = 0
        size = min(cap, 256)
        self._steps = np.empty(size, dtype=np.int64)
        self._values = np.empty(size, dtype=np.float64)
        self._errors = np.empty(size, dtype=np.float64) if with_error else None

    @property
    def steps(self) -> np.ndarray:
        return self._steps[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._n]

    @property
    def errors(self) -> np.ndarray | None:
        return None if self._errors is None else self._errors[: self._n]

    def _grow(self) -> None:
        size = min(self.cap, 2 * len(self._steps))
        self._steps = np.resize(self._steps, size)
        self._values = np.resize(self._values, size)
        if self._errors is not None:
            self._errors = np.resize(self._errors, size)

    def append(self, step: int, value: float, error: float | None = None) -> None:
        self._skip += 1
        if self._skip < self.stride:
            return
        self._skip = 0
        if self._n == len(self._steps):
            self._grow()
        i = self._n
        self._steps[i] = step
        self._values[i] = value
        if self._errors is not None:
            self._errors[i] = float("nan") if error is None else error
        self._n += 1
        if self._n >= self.cap:
            half = self._n // 2 + self._n % 2
            self._steps[:half] = self._steps[: self._n : 2]
            self._values[:half] = self._values[: self._n : 2]
            if self._errors is not None:
                self._errors[:half] = self._errors[: self._n : 2]
            self._n = half
            self.stride *= 2

    def __len__(self) -> int:
        return self._n

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(steps int64, values float64[, errors float64]) copies, safe to hand to another thread."""
        out = (self.steps.copy(), self.values.copy())
        if self._errors is not None:
            out += (self.errors.copy(),)
        return out


class History:
    """Named series of a run. A series has error bars (standard errors) when it is in `WITH_ERROR` or its
    first point came with an error."""

    WITH_ERROR = ("logz_estimate",)

    def __init__(self, cap: int = 4000):
        self.cap = cap
        self.series: dict[str, Series] = {}

    def add(self, name: str, step: int, value: float, error: float | None = None) -> None:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(self.cap, with_error=name in self.WITH_ERROR or error is not None)
        s.append(step, value, error)

    def export(self) -> dict[str, tuple[np.ndarray, ...]]:
        return {k: s.arrays() for k, s in self.series.items()}

    def rows(self) -> list[dict]:
        """Per-step rows (step, metric...) for CSV; series are aligned on their steps."""
        table: dict[int, dict] = {}
        for name, s in self.series.items():
            errors = s.errors
            for i, st in enumerate(s.steps.tolist()):
                row = table.setdefault(st, {"step": st})
                row[name] = float(s.values[i])
                if errors is not None:
                    row[name + "_stderr"] = float(errors[i])
        return [table[k] for k in sorted(table)]
