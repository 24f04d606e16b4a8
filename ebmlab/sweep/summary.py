"""Mean and standard error over seeds, per grid setting.

For a metric m over the n finished-ok runs of one setting: mean = sum(m) / n and
SE = std(m, ddof=1) / sqrt(n) (None for n < 2: one seed says nothing about the spread).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .spec import setting_label

SUMMARY_METRICS = ("nll_exact", "log_z_exact", "loss", "logz_estimate", "c", "steps_per_s", "wall_s")


def mean_se(values: list[float]) -> tuple[float | None, float | None]:
    """(mean, standard error of the mean) of finite values; (None, None) when there are none."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return None, None
    n = len(xs)
    mean = math.fsum(xs) / n
    if n < 2:
        return mean, None
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var / n)


def by_setting(records: list[dict], keys: list[str]) -> list[tuple[dict[str, Any], list[dict]]]:
    """(setting, its records) per distinct setting of the swept keys, in the order settings first appear."""
    groups: dict[str, tuple[dict[str, Any], list[dict]]] = {}
    for r in records:
        setting = {k: r["setting"].get(k) for k in keys}
        groups.setdefault(json.dumps(list(setting.values())), (setting, []))[1].append(r)
    return list(groups.values())


def summarise(records: list[dict], keys: list[str]) -> list[dict]:
    """One entry per setting, in the order settings first appear in `records`:
    {setting, label, runs, ok, failed, reasons, seeds, <metric>: {mean, se, n}}."""
    out = []
    for setting, rs in by_setting(records, keys):
        ok = [r for r in rs if r.get("status") == "ok"]
        entry: dict[str, Any] = {
            "setting": setting,
            "label": setting_label(setting),
            "runs": len(rs),
            "ok": len(ok),
            "failed": len(rs) - len(ok),
            "seeds": sorted(r["seed"] for r in rs),
            "reasons": sorted({f"seed {r['seed']}: {r.get('reason', '')}" for r in rs if r.get("status") != "ok"}),
        }
        for m in SUMMARY_METRICS:
            values = [r.get(m) for r in ok if r.get(m) is not None]
            if values:
                mean, se = mean_se(values)
                entry[m] = {"mean": mean, "se": se, "n": len(values)}
        out.append(entry)
    return out


def format_summary(summary: list[dict], metrics: tuple[str, ...] = ("nll_exact", "log_z_exact", "loss")) -> str:
    """A plain-text table: one line per setting, mean ± SE per metric, and failed-run counts."""
    shown = [m for m in metrics if any(m in e for e in summary)]
    width = max([len(e["label"]) for e in summary] + [7])
    head = f"{'setting':<{width}}  {'ok/runs':>7}  " + "  ".join(f"{m:>22}" for m in shown)
    lines = [head, "-" * len(head)]
    for e in summary:
        cells = []
        for m in shown:
            s = e.get(m)
            if s is None:
                cells.append(f"{'-':>22}")
            elif s["se"] is None:
                cells.append(f"{s['mean']:>12.5f} (1 seed)  ")
            else:
                cells.append(f"{s['mean']:>12.5f} ± {s['se']:<7.5f}")
        lines.append(f"{e['label']:<{width}}  {e['ok']:>3}/{e['runs']:<3}  " + "  ".join(cells))
        for reason in e["reasons"]:
            lines.append(f"{'':<{width}}    failed: {reason}")
    return "\n".join(lines)
