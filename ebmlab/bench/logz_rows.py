"""log Z rows: vectorised AIS against a textbook per-particle loop and a bare torch AIS loop; AIS on an MLP."""

from __future__ import annotations

import math
import time

import torch

from .table import Row, best_time, group

RING = "0.1*(x**2 + y**2 - 1)**2"
BOX = ((-5.0, 5.0), (-5.0, 5.0))


def _ring():
    try:
        from ..core.energies.expression import ExpressionEnergy

        return ExpressionEnergy(RING, box=BOX), "expression"
    except ImportError:  # pragma: no cover - expression energies not available
        from ..core.energies.base import FunctionEnergy
        from ..core.space import ContinuousSpace

        return FunctionEnergy(lambda x: 0.1 * ((x * x).sum(1) - 1) ** 2, ContinuousSpace(2, BOX)), "function"


class _Gauss:
    """The default base written out: N(mean, diag(scale^2)), log q and grad log q."""

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor):
        iso = bool((mean == mean[0]).all() and (scale == scale[0]).all())
        self.m, self.s = (float(mean[0]), float(scale[0])) if iso else (mean, scale)  # scalars when isotropic
        self.ones = torch.ones(len(mean), dtype=torch.float64)
        self.c = float(-torch.log(scale).sum() - 0.5 * len(mean) * math.log(2 * math.pi))

    def terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x - self.m) / self.s
        return (z * z) @ self.ones * -0.5 + self.c, z / -self.s


def bare_ais(energy, x, betas, eta: float, gen: torch.Generator, base: _Gauss, lo, hi) -> float:
    """Vectorised AIS with MALA written out by hand, the same arithmetic as the lab's run: box-restricted
    geometric path, cached E / grad E / log q at the particles, one MALA step per temperature."""

    def raw(y):
        e, g = energy.energy_and_grad(y)
        lq, glq = base.terms(y)
        return e, g, lq, glq, ((y >= lo) & (y <= hi)).all(1)

    e, g, lq, glq, ins = raw(x)
    log_w = torch.zeros(x.shape[0], dtype=torch.float64)
    sq = math.sqrt(eta)
    for k in range(1, len(betas)):
        log_w += (betas[k] - betas[k - 1]) * torch.where(ins, -e - lq, -math.inf)
        if k == len(betas) - 1:
            break
        b = float(betas[k])
        ea, ga = torch.where(ins, b * e - (1 - b) * lq, math.inf), b * g - (1 - b) * glq
        z = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        y = x - 0.5 * eta * ga + sq * z
        ey, gy, lqy, glqy, insy = raw(y)
        eay, gay = torch.where(insy, b * ey - (1 - b) * lqy, math.inf), b * gy - (1 - b) * glqy
        r = z + 0.5 * sq * (ga + gay)
        log_a = torch.nan_to_num(ea - eay + 0.5 * (z * z - r * r).sum(1), nan=-math.inf, posinf=-math.inf)
        acc = torch.rand(e.shape, generator=gen, dtype=x.dtype).log_() < log_a
        a2 = acc[:, None]
        x, g, glq = torch.where(a2, y, x), torch.where(a2, gy, g), torch.where(a2, glqy, glq)
        e, lq, ins = torch.where(acc, ey, e), torch.where(acc, lqy, lq), torch.where(acc, insy, ins)
    return float(torch.logsumexp(log_w, 0) - math.log(x.shape[0]))


def textbook_ais(energy, x, betas, eta: float, gen: torch.Generator, base: _Gauss) -> list[float]:
    """The textbook loop: one particle at a time, one temperature at a time (box restriction omitted)."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i : i + 1]
        lw = 0.0
        for k in range(1, len(betas)):
            b = float(betas[k])
            e, g = energy.energy_and_grad(xi)
            lq, glq = base.terms(xi)
            lw += (betas[k] - betas[k - 1]) * float(-e - lq)
            if k == len(betas) - 1:
                break
            ga = b * g - (1 - b) * glq
            y = xi - 0.5 * eta * ga + math.sqrt(eta) * torch.randn(xi.shape, generator=gen, dtype=xi.dtype)
            ey, gy = energy.energy_and_grad(y)
            lqy, glqy = base.terms(y)
            gay = b * gy - (1 - b) * glqy
            fwd = float(((y - xi + 0.5 * eta * ga) ** 2).sum()) / (2 * eta)
            bwd = float(((xi - y + 0.5 * eta * gay) ** 2).sum()) / (2 * eta)
            log_a = float(b * (e - ey) - (1 - b) * (lq - lqy)) + fwd - bwd
            if math.log(float(torch.rand(1, generator=gen))) < log_a:
                xi = y
        out.append(lw)
    return out


@group("logz")
def logz_rows(quick: bool) -> list[Row]:
    from ..core.energies.mlp import MLPEnergy
    from ..core.partition.ais import AISParams, run_ais
    from ..core.partition.importance import default_base
    from ..core.partition.schedules import make_schedule

    rows: list[Row] = []
    energy, kind = _ring()
    n, temps, eta = 10_000, (200 if quick else 1000), 0.1
    params = AISParams(particles=n, temps=temps, step_size=eta, pilot=False, exact_reference=False, seed=1)
    res = None

    def lab() -> None:
        nonlocal res
        res = run_ais(energy, params)

    t_lab = best_time(lab, repeat=1 if quick else 2)
    base = default_base(energy)
    gb = _Gauss(base.mean, base.scale)
    betas = make_schedule(params.schedule, temps)
    x0 = base.sample(n, torch.Generator().manual_seed(2))
    lo = torch.tensor([b[0] for b in BOX], dtype=torch.float64)
    hi = torch.tensor([b[1] for b in BOX], dtype=torch.float64)
    t_bare = best_time(
        lambda: bare_ais(energy, x0, betas, eta, torch.Generator().manual_seed(1), gb, lo, hi), repeat=1 if quick else 2
    )
    m = 3 if quick else 5
    t0 = time.perf_counter()
    textbook_ais(energy, x0[:m], betas, eta, torch.Generator().manual_seed(3), gb)
    t_book = (time.perf_counter() - t0) * n / m
    est = res.estimate
    name = f"AIS MALA 2-D ring ({kind}), 10k particles x {temps} temps"
    note = f"log Z = {est.log_z:.4f} ± {est.stderr:.4f} (exact 2.471842); frames every {temps // 100} temps"
    rows.append(Row("logz", name, t_lab, "s", "", None, note=note))
    speed = t_book / t_lab
    rows.append(
        Row(
            "logz",
            "AIS speedup over a textbook per-particle loop",
            speed,
            "x",
            ">= 1000",
            speed >= 1000,
            t_book,
            note=f"textbook loop timed on {m} particles and scaled to {n}: {t_book:.0f} s",
        )
    )
    ratio = t_lab / t_bare
    rows.append(
        Row(
            "logz",
            "AIS time / bare vectorised torch AIS",
            ratio,
            "x",
            "<= 1.5",
            ratio <= 1.5,
            t_bare,
            note="bare: the same MALA-AIS arithmetic written out by hand, no frames",
        )
    )

    mlp = MLPEnergy(2, width=64, depth=2, seed=0)
    p_mlp = AISParams(particles=500, temps=200, exact_reference=False, seed=0)
    run_ais(mlp, AISParams(particles=50, temps=10, exact_reference=False))  # warm-up
    t_mlp = best_time(lambda: run_ais(mlp, p_mlp), repeat=3)
    rows.append(
        Row(
            "logz",
            "log Z during training: AIS 500 x 200 on MLP 2-64-64-1",
            t_mlp,
            "s",
            "< 0.5",
            t_mlp < 0.5,
            note="with the pilot step-size tuning, no exact reference",
        )
    )
    return rows
