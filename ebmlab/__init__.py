"""ebmlab: a visual laboratory for energy-based models p(x) = exp(-E(x)) / Z."""

__version__ = "0.1.0"
