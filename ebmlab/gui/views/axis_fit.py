"""Pure numpy helpers for readable plots: padded axis ranges and the shape of a grid of plots.

No Qt here, so the rules are tested directly:
- a constant series gets a span of a few per cent of its value (never a 1e-15 zoom with 15-digit ticks);
- an empty plot gets a fixed unit range (never 1e-148 ticks);
- k plots in a w x h area get the (rows, cols) whose cells are closest to a readable aspect ratio.
"""

from __future__ import annotations

import math

import numpy as np

EMPTY_RANGE = (0.0, 1.0)
REL_MIN_SPAN = 0.04  # a constant c is shown on [c - 2%|c|, c + 2%|c|] ...
ABS_MIN_SPAN = 0.02  # ... and never narrower than this (c = 0)
PAD = 0.06  # fraction of the span added on each side
CELL_ASPECT = 1.6  # width / height of a plot cell that reads well


def data_range(*arrays: np.ndarray) -> tuple[float, float] | None:
    """(min, max) over the finite values of all arrays; None when there are none."""
    lo, hi = math.inf, -math.inf
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if a.size == 0:
            continue
        fin = a[np.isfinite(a)]
        if fin.size:
            lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
    return (lo, hi) if lo <= hi else None


def padded_range(span: tuple[float, float] | None, floor: float | None = None) -> tuple[float, float]:
    """A readable axis range around [lo, hi]: padded by PAD, widened to a minimum span for (nearly) constant
    data, clamped below at `floor` when given (e.g. 0 for rates). None -> EMPTY_RANGE."""
    if span is None:
        return EMPTY_RANGE
    lo, hi = span
    width = hi - lo
    least = max(REL_MIN_SPAN * max(abs(lo), abs(hi)), ABS_MIN_SPAN)
    if width < least:
        mid = 0.5 * (lo + hi)
        lo, hi, width = mid - least / 2, mid + least / 2, least
    lo, hi = lo - PAD * width, hi + PAD * width
    if floor is not None and lo < floor <= span[0]:
        lo = floor
    return lo, hi


def grid_shape(
    k: int, width: float, height: float, aspect: float = CELL_ASPECT, max_cols: int | None = None
) -> tuple[int, int]:
    """(rows, cols) for k plots in a width x height area: the cell aspect closest to `aspect` (log scale), at
    most `max_cols` columns; ties go to fewer rows."""
    if k <= 0:
        return 0, 0
    top = k if max_cols is None else max(1, min(k, max_cols))
    best, best_cost = (math.ceil(k / top), top), math.inf
    for cols in range(1, top + 1):
        rows = math.ceil(k / cols)
        if (rows - 1) * cols >= k or rows * (cols - 1) >= k:  # an empty row or an empty column
            continue
        cell = (width / cols) / max(height / rows, 1.0)
        cost = abs(math.log(max(cell, 1e-9) / aspect))
        if cost < best_cost - 1e-9:
            best, best_cost = (rows, cols), cost
    return best


NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 3, 5 x 10^k that is >= v (v > 0): a step axis that grows in a few jumps, so the
    six plots' axes are not regenerated at every update (the data fill at least half of it)."""
    if not (v > 0 and math.isfinite(v)):
        return 1.0
    e = 10.0 ** math.floor(math.log10(v))
    return next(m * e for m in NICE if m * e >= v * (1 - 1e-12))


def keep_or_refit(current: tuple[float, float] | None, span: tuple[float, float] | None, floor=None):
    """The current y range while it still shows all the data without being much too loose (the span of the
    data's padded range times 1.6); else a fresh padded range. Fewer range changes, fewer tick passes."""
    target = padded_range(span, floor=floor)
    if current is None or span is None or current == EMPTY_RANGE:
        return target
    lo, hi = current
    inside = lo <= span[0] and span[1] <= hi
    tight_enough = (hi - lo) <= 1.6 * (target[1] - target[0])
    return current if inside and tight_enough else target
