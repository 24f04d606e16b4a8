"""The space an energy lives on: a continuous box in 1-3 (or a few) dimensions, or binary units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

Box = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ContinuousSpace:
    """R^dim with a view box: box[i] = (lo_i, hi_i). Quadrature and uniform bases use the box."""

    dim: int
    box: Box

    kind: Literal["continuous"] = "continuous"

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"dimension must be >= 1, got {self.dim}")
        if len(self.box) != self.dim:
            raise ValueError(f"box has {len(self.box)} intervals for dimension {self.dim}")
        for i, (lo, hi) in enumerate(self.box):
            if not (float(lo) < float(hi)):
                raise ValueError(f"box interval {i + 1} must have lo < hi, got ({lo}, {hi})")

    @staticmethod
    def square(dim: int, lo: float = -3.0, hi: float = 3.0) -> ContinuousSpace:
        return ContinuousSpace(dim, tuple((float(lo), float(hi)) for _ in range(dim)))

    @property
    def volume(self) -> float:
        v = 1.0
        for lo, hi in self.box:
            v *= hi - lo
        return v


@dataclass(frozen=True)
class BinarySpace:
    """n binary units. spins='01': x in {0, 1}^n; spins='pm1': x in {-1, +1}^n.

    States are float tensors of shape (batch, n) holding exactly these values.
    """

    n: int
    spins: Literal["01", "pm1"] = "01"

    kind: Literal["binary"] = "binary"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"number of units must be >= 1, got {self.n}")
        if self.spins not in ("01", "pm1"):
            raise ValueError(f"spins must be '01' or 'pm1', got {self.spins!r}")

    @property
    def values(self) -> tuple[float, float]:
        """(off, on) values of one unit."""
        return (0.0, 1.0) if self.spins == "01" else (-1.0, 1.0)

    @property
    def dim(self) -> int:
        return self.n


Space = Union[ContinuousSpace, BinarySpace]
