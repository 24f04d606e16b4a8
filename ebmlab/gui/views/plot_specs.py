"""What the metrics plots show: one PlotSpec per plot, and which history series each one draws.

A history series (`Snapshot.history[name] = (steps, values[, stderr])`; with stderr it is drawn with a ±2 SE band)
belongs to the plot of `SERIES[name]`,
or, for families such as the expression's parameters (`param:a`, `param:r`), to the plot of its prefix.
Plot names are the ones a preset's `view.plots` may list (ebmlab.config.schema.PLOT_NAMES).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config.schema import PLOT_NAMES


@dataclass(frozen=True)
class PlotSpec:
    key: str
    title: str
    ylabel: str
    floor: float | None = None  # the y range never goes below this when the data do not (rates, sizes)
    fixed: tuple[float, float] | None = None  # a fixed y range
    clip: float | None = None  # values above are drawn at the clip and shown as '> clip'
    reference: float | None = None  # a dotted horizontal line (R-hat 1.01, variance ratio 1)
    binary_na: bool = False  # a sampler-chain diagnostic that has no meaning for binary states
    recent: float | None = None  # fit the y range to this last fraction of the steps (skip a burn-in transient)


SPECS: dict[str, PlotSpec] = {
    s.key: s
    for s in (
        PlotSpec("loss", "Loss", "loss"),
        PlotSpec("nll", "Exact NLL, held-out", "nats / point"),
        PlotSpec("logz", "log Z", "log Z"),
        PlotSpec("params", "Parameters", "value"),
        PlotSpec("accuracy", "Accuracy, held-out", "fraction", fixed=(0.0, 1.02)),
        PlotSpec("data_mass", "Mass on data states", "fraction", fixed=(0.0, 1.02)),
        PlotSpec("chain_energy", "Chains' mean E", "E", binary_na=True, recent=0.6),
        PlotSpec("var_ratio", "Chain var / exact", "ratio", floor=0.0, reference=1.0, binary_na=True, recent=0.6),
        PlotSpec("accept", "Acceptance", "rate", fixed=(0.0, 1.02)),
        PlotSpec("ess", "ESS, min dim", "samples", floor=0.0, binary_na=True),
        PlotSpec("rhat", "R-hat, max dim", "R-hat", clip=100.0, reference=1.01, binary_na=True),
    )
}
assert tuple(SPECS) == PLOT_NAMES, "the schema's plot names and the GUI's specs must agree"
AUTOMATIC = ("loss", "nll", "logz", "accept", "ess", "rhat")  # view.plots = null: these, plus any extras
EXTRAS = ("accuracy", "data_mass", "params")  # joined automatically once their series exist
MAX_AUTOMATIC = 8

# series name -> (plot, colour meaning, legend label or None, width, style 'line' | 'dash')
SERIES: dict[str, tuple[str, str, str | None, float, str]] = {
    "loss": ("loss", "loss", None, 2.0, "line"),
    "nll_exact": ("nll", "exact", None, 2.0, "line"),
    "log_z_exact": ("logz", "exact", "exact", 2.5, "line"),
    "c": ("logz", "c", "NCE c", 2.0, "dash"),
    "accuracy": ("accuracy", "exact", None, 2.0, "line"),
    "chain_energy": ("chain_energy", "chains", "chains ±2 SE", 2.0, "line"),
    "chain_energy_exact": ("chain_energy", "exact", "exact", 2.5, "line"),
    "data_mass": ("data_mass", "exact", None, 2.0, "line"),
    "accept": ("accept", "chains", None, 2.0, "line"),
    "ess": ("ess", "chains", None, 2.0, "line"),
    "rhat": ("rhat", "chains", None, 2.0, "line"),
}
FAMILIES = {"param:": "params", "var_ratio:": "var_ratio"}  # prefix -> plot; the rest of the name labels it
ESTIMATE = "logz_estimate"  # points with ±2 SE bars in the log Z plot
ESTIMATE_LABEL = "estimate ±2 SE"
FAMILY_COLORS = ("#ffd166", "#38b6ff", "#ff7b3a", "#7dff5a", "#c084fc", "#ff4f9a", "#e6e6e6", "#9ecbff")


def plot_of(series: str) -> str | None:
    """The plot a history series is drawn in (None: not drawn)."""
    if series in SERIES:
        return SERIES[series][0]
    if series == ESTIMATE:
        return "logz"
    for prefix, key in FAMILIES.items():
        if series.startswith(prefix):
            return key
    return None


def automatic_plots(history_names) -> tuple[str, ...]:
    """The plots shown when a preset does not choose: the usual six, then extras whose series exist."""
    present = {plot_of(n) for n in history_names}
    extra = tuple(k for k in EXTRAS if k in present)
    return (AUTOMATIC + extra)[:MAX_AUTOMATIC]
