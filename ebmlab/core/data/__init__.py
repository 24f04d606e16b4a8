"""Data for the lab: 2-D toy sets, user files (.csv/.npy), painted points and binary patterns (numpy only)."""

from __future__ import annotations

from ebmlab.core.data.binary import bars_and_stripes, sample_patterns
from ebmlab.core.data.files import MAX_ROWS, load_patterns, load_points, points_from_list, to_spins
from ebmlab.core.data.toy import TOY_SETS, ToySet, make_toy

__all__ = [
    "MAX_ROWS",
    "TOY_SETS",
    "ToySet",
    "bars_and_stripes",
    "load_patterns",
    "load_points",
    "make_toy",
    "points_from_list",
    "sample_patterns",
    "to_spins",
]
