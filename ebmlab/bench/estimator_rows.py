"""Estimator rows: a CD-10 step against a bare torch loop; steps/s of every estimator on the lecture model."""

from __future__ import annotations

import time

import torch

from .table import Row, best_time, group

LECTURE = {
    "schema_version": 1,
    "seed": 0,
    "model": {"kind": "mlp", "dim": 2, "width": 64, "depth": 2, "confine": 0.05},
    "data": {"kind": "toy", "name": "two_moons", "n": 2000},
    "estimator": {"name": "cd", "k": 1},
    "sampler": {"name": "mala", "step_size": 0.01},
    "chains": {"n": 0},
    "optimiser": {"name": "adam", "lr": 0.001, "batch_size": 256},
    "training": {"eval_every": 1000000, "dtype": "float32"},
}


def bare_cd_step(mlp: torch.nn.Module, opt, batch: torch.Tensor, k: int, eta: float, gen: torch.Generator) -> None:
    """CD-k with MALA written out by hand: autograd energy gradients, MH test, loss, backward, Adam."""

    def e_and_g(x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            e = mlp(x)
            (g,) = torch.autograd.grad(e.sum(), x)
        return e.detach(), g

    x = batch
    e, g = e_and_g(x)
    for _ in range(k):
        y = x - 0.5 * eta * g + eta**0.5 * torch.randn(x.shape, generator=gen, dtype=x.dtype)
        ey, gy = e_and_g(y)
        fwd = ((y - x + 0.5 * eta * g) ** 2).sum(1)
        bwd = ((x - y + 0.5 * eta * gy) ** 2).sum(1)
        acc = torch.log(torch.rand(e.shape, generator=gen, dtype=x.dtype)) < e - ey - (bwd - fwd) / (2 * eta)
        x = torch.where(acc[:, None], y, x)
        e = torch.where(acc, ey, e)
        g = torch.where(acc[:, None], gy, g)
    opt.zero_grad()
    loss = mlp(batch).mean() - mlp(x.detach()).mean()
    loss.backward()
    opt.step()


@group("estimators")
def estimator_rows(quick: bool) -> list[Row]:
    from ..config.schema import experiment_from_dict, parse_override, with_overrides
    from ..core.estimators import ESTIMATORS
    from ..core.trainer import Trainer

    rows: list[Row] = []
    base = experiment_from_dict(LECTURE)
    # --- CD-10, MLP 2-128-128-1, batch 1024: the lab's step vs a bare loop
    exp = with_overrides(
        base,
        [
            parse_override("model.width=128"),
            parse_override("estimator.k=10"),
            parse_override("optimiser.batch_size=1024"),
        ],
    )
    trainer = Trainer(exp)
    reps = 5 if quick else 20
    t_lab = best_time(trainer.step, repeat=3, number=reps)
    mlp = trainer.energy
    opt = torch.optim.Adam([p for p in mlp.parameters() if p.requires_grad], lr=1e-3)
    data = trainer.train_data
    gen = torch.Generator().manual_seed(0)

    def bare() -> None:
        idx = torch.randint(len(data), (1024,), generator=gen)
        bare_cd_step(mlp, opt, data[idx], 10, 0.01, gen)

    t_bare = best_time(bare, repeat=3, number=reps)
    ratio = t_lab / t_bare
    rows.append(Row("estimators", "CD-10 step, MLP 2-128-128-1, batch 1024", t_lab * 1e3, "ms", "", None, t_bare * 1e3))
    rows.append(Row("estimators", "CD-10 step / bare torch step", ratio, "x", "<= 1.2", ratio <= 1.2))
    # --- steps/s of each estimator on the lecture model (MLP 2-64-64-1, two moons, batch 256)
    n = 20 if quick else 100
    for name in ESTIMATORS.names():
        e = with_overrides(base, [parse_override(f"estimator.name={name}")])
        t = Trainer(e)
        t.step()
        t0 = time.perf_counter()
        for _ in range(n):
            t.step()
        rate = n / (time.perf_counter() - t0)
        rows.append(Row("estimators", f"{name} steps/s, lecture MLP 2-64-64-1", rate, "steps/s"))
    return rows
