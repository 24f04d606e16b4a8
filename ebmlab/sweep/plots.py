"""A sweep's PNG plots (matplotlib, Agg backend: no screen, no Qt).

plots/curve_<metric>.png  the metric vs step, one colour per setting: mean over the ok seeds, band = mean ± 1 SE
plots/final_<metric>.png  the final metric per setting: mean with ±1 SE error bars, every seed as a dot
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.atomic import write_atomic
from .summary import by_setting, mean_se

CURVE_METRICS = ("nll_exact", "loss")
FINAL_METRICS = ("nll_exact", "log_z_exact", "loss")
LABELS = {"nll_exact": "exact NLL (nats)", "log_z_exact": "exact log Z", "loss": "training loss"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "figure.dpi": 100})
    return plt


def short_label(setting: dict, varying: list[str], sep: str) -> str:
    """Only the swept keys whose values differ, by their last path part: 'k=5' + sep + 'lr=0.01'."""
    parts = [f"{k.rsplit('.', 1)[-1]}={json.dumps(setting.get(k))}".replace('"', "") for k in varying]
    return sep.join(parts) or "(preset)"


def grouped(records: list[dict], keys: list[str], sep: str = ", ") -> list[tuple[str, list[dict]]]:
    """(label, ok records) per setting, in first-seen order."""
    groups = by_setting(records, keys)
    varying = [k for k in keys if len({json.dumps(setting[k]) for setting, _ in groups}) > 1]
    return [(short_label(setting, varying, sep), [r for r in rs if r.get("status") == "ok"]) for setting, rs in groups]


def curve(runs: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, se) of a metric on the steps every run evaluated; se is 0 with one run."""
    series = []
    for r in runs:
        pts = {h["step"]: h[metric] for h in r.get("history", []) if h.get(metric) is not None}
        series.append(pts)
    common = sorted(set.intersection(*(set(s) for s in series))) if series else []
    mean, se = [], []
    for st in common:
        m, e = mean_se([s[st] for s in series])
        mean.append(m)
        se.append(e or 0.0)
    return np.array(common), np.array(mean, float), np.array(se, float)


def save(fig, path: Path) -> Path:
    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", bbox_inches="tight")

    try:
        return write_atomic(path, write)
    finally:
        fig.clf()


def write_plots(records: list[dict], keys: list[str], folder: Path) -> list[Path]:
    """Every plot there is data for; returns the files written."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    groups = grouped(records, keys)
    colours = plt.get_cmap("tab10")
    written: list[Path] = []
    for metric in CURVE_METRICS:
        fig, ax = plt.subplots(figsize=(8, 5))
        drawn = 0
        for i, (label, runs) in enumerate(groups):
            steps, mean, se = curve(runs, metric)
            if not len(steps):
                continue
            c = colours(i % 10)
            ax.plot(steps, mean, color=c, lw=2, label=f"{label} ({len(runs)} seeds)")
            ax.fill_between(steps, mean - se, mean + se, color=c, alpha=0.25, lw=0)
            drawn += 1
        if drawn:
            ax.set(xlabel="step", ylabel=LABELS[metric], title=f"{LABELS[metric]} vs step (band: mean ± 1 SE)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=10, loc="best")
            written.append(save(fig, folder / f"curve_{metric}.png"))
        plt.close(fig)
    for metric in FINAL_METRICS:
        finals = [
            (lab, [r[metric] for r in runs if r.get(metric) is not None]) for lab, runs in grouped(records, keys, "\n")
        ]
        if not any(v for _, v in finals):
            continue
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(finals) + 3), 5))
        for i, (_label, values) in enumerate(finals):
            if not values:
                continue
            m, e = mean_se(values)
            c = colours(i % 10)
            ax.errorbar([i], [m], yerr=[e or 0.0], fmt="o", color=c, ms=9, capsize=8, lw=2)
            jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(i + jitter, values, color=c, s=14, alpha=0.5)
        ax.set_xticks(range(len(finals)), [lab for lab, _ in finals], rotation=30 if len(finals) > 6 else 0)
        ax.set(ylabel=LABELS[metric], title=f"final {LABELS[metric]} per setting (mean ± 1 SE, dots: seeds)")
        ax.grid(alpha=0.3, axis="y")
        written.append(save(fig, folder / f"final_{metric}.png"))
        plt.close(fig)
    return written
