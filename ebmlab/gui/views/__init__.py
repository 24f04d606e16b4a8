"""Views: render immutable numpy Snapshots / Landscapes (no torch here). Create once, update in place.

LandscapeView: the model as heatmap / slice / curve with data, chains, trails and estimator samples.
StateView: top-K states of a binary model (exact vs data vs samples) and sample patterns.
MetricsPlots: loss, exact NLL, log Z (exact, estimates ±2 SE, NCE c) and sampler diagnostics.
"""

from . import theme
from .landscape import LandscapeView
from .plots import MetricsPlots
from .states import StateView

__all__ = ["LandscapeView", "MetricsPlots", "StateView", "theme"]
