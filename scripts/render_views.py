"""Render the views for trained presets to PNG files (a visual check without a screen), and optionally
measure LandscapeView frames/s with 10,000 chains + trails + a 256x256 image.

    QT_QPA_PLATFORM=offscreen python scripts/render_views.py OUT_DIR [--steps 400] [--bench]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def trainer(raw: dict | None = None, overrides: dict | None = None):
    from ebmlab.config.presets import load_preset
    from ebmlab.config.schema import experiment_from_dict
    from ebmlab.core.trainer import Trainer

    if raw is None:
        raw = json.loads((ROOT / "presets" / "01_partition_function.json").read_text())
        lp = load_preset(ROOT / "presets" / "01_partition_function.json")
        resolve = lp.resolve
    else:
        resolve = None
    raw = {**raw, **(overrides or {})}
    return Trainer(experiment_from_dict(raw), resolve=resolve)


def train(t, steps: int, view=None, logz_every: int = 0) -> None:
    """Train, feeding the last frames to `view` (so trails build up); add IS log Z estimates every N steps."""
    from ebmlab.core.partition.ais import estimate_log_z

    for i in range(steps):
        t.step()
        if logz_every and t.step_count % logz_every == 0:
            est = estimate_log_z(t.energy, "is", particles=400, seed=t.step_count)
            t.history.add("logz_estimate", t.step_count, est.log_z, est.stderr)
        if view is not None and i >= steps - 30:
            view.set_snapshot(t.snapshot())


def save(widget, app, path: Path) -> None:
    widget.show()
    for _ in range(3):
        app.processEvents()
    widget.grab().save(str(path))
    print("wrote", path)


def bench(app, n_chains: int = 10_000, frames: int = 200) -> None:
    from ebmlab.gui.views import LandscapeView

    t = trainer(overrides={"chains": {"n": n_chains}})
    train(t, 20)
    v = LandscapeView()
    v.resize(900, 800)
    v.show()
    v.set_landscape(t.landscape(256))
    snaps = []
    for _ in range(10):
        t.step()
        snaps.append(t.snapshot())
    assert snaps[0].chains.shape[0] == n_chains, snaps[0].chains.shape
    for s in snaps:
        v.set_snapshot(s)
        v.repaint()
        app.processEvents()

    def fps() -> float:
        t0 = time.perf_counter()
        for i in range(frames):
            v.set_snapshot(snaps[i % len(snaps)])
            v.repaint()
            app.processEvents()
        return frames / (time.perf_counter() - t0)

    alone = fps()
    t1 = time.perf_counter()
    for i in range(frames // 4):
        v.set_snapshot(snaps[i % len(snaps)])
    ds = (time.perf_counter() - t1) / (frames // 4)
    t2 = time.perf_counter()
    for _ in range(20):
        v.set_landscape(t.landscape(256))
    dl = (time.perf_counter() - t2) / 20
    # a worker thread training another ring model meanwhile (torch releases the GIL)
    import threading

    import torch

    torch.set_num_threads(1)
    stop, steps = threading.Event(), [0]
    worker_t = trainer()

    def work() -> None:
        while not stop.is_set():
            worker_t.step()
            steps[0] += 1

    th = threading.Thread(target=work, daemon=True)
    th.start()
    time.sleep(0.2)
    s0, w0 = steps[0], time.perf_counter()
    busy = fps()
    worker_rate = (steps[0] - s0) / (time.perf_counter() - w0)
    stop.set()
    th.join()
    print(f"LandscapeView, {n_chains} chains + trails + 256x256 image, set_snapshot + repaint + processEvents:")
    print(
        f"  alone: {alone:.0f} frames/s; while a worker thread trains: {busy:.0f} frames/s "
        f"(worker {worker_rate:.0f} steps/s)"
    )
    print(f"  set_snapshot alone: {1e3 * ds:.2f} ms; set_landscape(256) incl. core evaluation: {1e3 * dl:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--bench", action="store_true", help="also measure LandscapeView frames/s")
    ap.add_argument("--presenter", action="store_true", help="render in presenter mode")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from ebmlab.gui.views import LandscapeView, MetricsPlots, StateView, theme

    app = QApplication.instance() or QApplication([])
    theme.set_presenter(args.presenter)
    theme.apply_theme(app)
    sfx = "_presenter" if args.presenter else ""

    # ring, exact maximum likelihood: density with trails, then energy with contours and score arrows
    t = trainer(overrides={"chains": {"n": 2000}})
    lv = LandscapeView()
    lv.resize(900, 760)
    train(t, args.steps, lv, logz_every=25)
    lv.set_landscape(t.landscape(256))
    lv.set_snapshot(t.snapshot())
    save(lv, app, args.out / f"ring_density{sfx}.png")
    lv.set_options(show="energy", contours=True, arrows=True)
    save(lv, app, args.out / f"ring_energy{sfx}.png")

    mp = MetricsPlots()
    mp.resize(1200, 640)
    mp.set_snapshot(t.snapshot())
    save(mp, app, args.out / f"metrics{sfx}.png")

    # estimators with their own point layers: PCD (negatives coloured by age), NCE (noise), DSM (noisy)
    for est in ("pcd", "nce", "dsm"):
        te = trainer(overrides={"estimator": {"name": est}})
        v = LandscapeView()
        v.resize(900, 760)
        train(te, min(args.steps, 200), v)
        v.set_landscape(te.landscape(200))
        v.set_snapshot(te.snapshot())
        save(v, app, args.out / f"ring_{est}{sfx}.png")
        if est == "nce":
            mp2 = MetricsPlots()
            mp2.resize(1200, 640)
            mp2.set_snapshot(te.snapshot())
            save(mp2, app, args.out / f"metrics_nce{sfx}.png")

    # 1-D double well
    one = {
        "schema_version": 1,
        "model": {"kind": "expression", "expression": "a*(x**2-1)**2", "params": {"a": 0.3}},
        "data": {"kind": "energy", "expression": "(x**2-1)**2"},
        "estimator": {"name": "mle"},
        "sampler": {"name": "mala", "step_size": 0.1},
        "chains": {"n": 2000},
    }
    t1 = trainer(one)
    cv = LandscapeView()
    cv.resize(900, 560)
    train(t1, args.steps, cv)
    cv.set_landscape(t1.landscape(512))
    cv.set_snapshot(t1.snapshot())
    save(cv, app, args.out / f"curve_1d{sfx}.png")

    # binary: Boltzmann machine on 3x3 bars and stripes, pseudo-likelihood + Gibbs
    binary = {
        "schema_version": 1,
        "model": {"kind": "boltzmann", "units": 9},
        "data": {"kind": "bars_and_stripes", "size": 3},
        "estimator": {"name": "pl"},
        "sampler": {"name": "gibbs"},
        "optimiser": {"name": "adam", "lr": 0.05},
    }
    tb = trainer(binary)
    train(tb, args.steps)
    sv = StateView()
    sv.resize(1000, 620)
    sv.set_landscape(tb.landscape())
    sv.set_snapshot(tb.snapshot())
    save(sv, app, args.out / f"states{sfx}.png")

    if args.bench:
        bench(app)
    np.seterr(all="ignore")


if __name__ == "__main__":
    main()
