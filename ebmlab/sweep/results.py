"""Reading a finished sweep's folder back (for the window's "Sweep results" dialog): JSON and PNG only, never code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import EbmlabError

PLOT_ORDER = ("curve_nll_exact", "final_nll_exact", "final_log_z_exact", "curve_loss", "final_loss")
PLOT_TITLES = {
    "curve_nll_exact": "Exact NLL vs step",
    "final_nll_exact": "Final exact NLL",
    "final_log_z_exact": "Final exact log Z",
    "curve_loss": "Loss vs step",
    "final_loss": "Final loss",
}


@dataclass(frozen=True)
class SweepResults:
    folder: Path
    summary: dict
    manifest: dict
    plots: list[tuple[str, Path]]  # (title, png path) in PLOT_ORDER

    @property
    def headline(self) -> str:
        """'lesson 01 · optimiser.lr × 2 values · seeds 0–4 · 10 runs: 9 ok, 1 failed'."""
        grid = self.manifest.get("grid", {})
        seeds = self.manifest.get("seeds", [])
        parts = [Path(str(self.manifest.get("preset", "?"))).stem]
        parts += [f"{k} × {len(v)} values" for k, v in grid.items()]
        if seeds:
            parts.append(f"seeds {seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}")
        s = self.summary
        tally = f"{s.get('runs', 0)} runs: {s.get('ok', 0)} ok"
        tally += "".join(f", {s[k]} {k}" for k in ("failed", "lost") if s.get(k))
        if s.get("finished", 0) < s.get("runs", 0):
            tally += f", {s['runs'] - s['finished']} not run (rerun the sweep to complete)"
        return " · ".join(parts + [tally])


def load_sweep_results(folder: str | Path) -> SweepResults:
    """The summary, manifest and plots of `ebmlab sweep --out FOLDER`; EbmlabError says what is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EbmlabError(f"{folder}: not a folder")
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise EbmlabError(
            f"{folder}: no summary.json here, so it is not a finished sweep's folder "
            "(make one with `ebmlab sweep PRESET --grid key=v1,v2 --out FOLDER`)"
        )
    summary = _read_json(summary_path)
    settings = summary.get("settings") if isinstance(summary, dict) else None
    if not isinstance(settings, list) or not all(isinstance(e, dict) and "label" in e for e in settings):
        raise EbmlabError(f"{summary_path}: not a sweep summary (no list of settings with labels)")
    manifest_path = folder / "sweep.json"
    manifest = _read_json(manifest_path) if manifest_path.is_file() else {}
    plots = [(PLOT_TITLES[n], folder / "plots" / f"{n}.png") for n in PLOT_ORDER]
    return SweepResults(
        folder, summary, manifest if isinstance(manifest, dict) else {}, [p for p in plots if p[1].is_file()]
    )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise EbmlabError(f"{path}: cannot read ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise EbmlabError(f"{path}: not valid JSON ({e})") from None


def metric_cell(entry: dict, metric: str) -> str:
    """'1.91424 ± 0.02131', '1.91424 (1 seed)', or '–' when no ok run has the metric."""
    s = entry.get(metric)
    if not isinstance(s, dict) or s.get("mean") is None:
        return "–"
    if s.get("se") is None:
        return f"{s['mean']:.5g} (1 seed)"
    if s["se"] <= 1e-12 * max(1.0, abs(s["mean"])):  # the same value for every seed, up to rounding
        return f"{s['mean']:.5g} ± 0"
    return f"{s['mean']:.5g} ± {s['se']:.2g}"
