"""Text and styles of the metrics plots' series: the parameter line above the plots, and each series' colour,
legend label, width and dash (plot_specs.SERIES, or a palette colour for family members like param:t)."""

from __future__ import annotations

from ...core.snapshot import Snapshot
from . import theme
from .plot_specs import FAMILIES, FAMILY_COLORS, SERIES


def parameters_text(snap: Snapshot) -> str:
    """'parameters:  t = 0.04   s = 0.5   ·   w = sigmoid(t) = 0.51': values, then derived quantities."""
    text = "parameters:   " + "     ".join(f"{k} = {v:.4g}" for k, v in snap.params.items())
    derived = snap.derived or {}
    if derived:
        settings = getattr(getattr(snap.experiment, "model", None), "settings", None)
        formulas = getattr(settings, "derived", None) or {}
        shown = (f"{k} = {formulas[k]} = {v:.4g}" if k in formulas else f"{k} = {v:.4g}" for k, v in derived.items())
        text += "     ·     " + "     ".join(shown)
    return text


def series_style(name: str, family_order: list[str]) -> tuple[str, str | None, float, str]:
    """(colour meaning or hex, legend label, width, style) of a series; family members get palette colours."""
    if name in SERIES:
        _, meaning, label, width, style = SERIES[name]
        return meaning, label, width, style
    for prefix in FAMILIES:
        if name.startswith(prefix):
            members = [n for n in family_order if n.startswith(prefix)]
            i = members.index(name) if name in members else len(members)
            return FAMILY_COLORS[i % len(FAMILY_COLORS)], name[len(prefix) :], 2.0, "line"
    return theme.MUTED, name, 1.5, "line"
