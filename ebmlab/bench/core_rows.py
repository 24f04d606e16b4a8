"""Core rows: MALA throughput against a bare torch loop; quadrature log Z of a 2-D MLP."""

from __future__ import annotations

import time

import torch

from .table import Row, best_time, group

RING = "0.1*(x**2 + y**2 - 1)**2"


def _ring_energy_and_grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand-written E and dE/dx of 0.1 (|x|^2 - 1)^2: the bare reference."""
    s = (x * x).sum(1)
    u = s - 1.0
    return 0.1 * u * u, (0.4 * u).unsqueeze(1) * x


def bare_mala(x: torch.Tensor, gen: torch.Generator, eta: float, steps: int) -> torch.Tensor:
    """Textbook vectorised MALA with x' = x - (eta/2) grad E + sqrt(eta) xi, written out by hand."""
    e, g = _ring_energy_and_grad(x)
    sq = eta**0.5
    for _ in range(steps):
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        y = x - 0.5 * eta * g + sq * noise
        ey, gy = _ring_energy_and_grad(y)
        fwd = ((y - x + 0.5 * eta * g) ** 2).sum(1)
        bwd = ((x - y + 0.5 * eta * gy) ** 2).sum(1)
        log_a = e - ey - (bwd - fwd) / (2 * eta)
        acc = torch.log(torch.rand(log_a.shape, generator=gen, dtype=x.dtype)) < log_a
        x = torch.where(acc[:, None], y, x)
        e = torch.where(acc, ey, e)
        g = torch.where(acc[:, None], gy, g)
    return x


@group("core")
def core_rows(quick: bool) -> list[Row]:
    from ..core.energies.expression import ExpressionEnergy
    from ..core.energies.mlp import MLPEnergy
    from ..core.partition.exact import log_z_quadrature
    from ..core.samplers import SAMPLERS

    rows: list[Row] = []
    n, steps, eta = 10_000, (50 if quick else 200), 0.1
    energy = ExpressionEnergy(RING)
    mala = SAMPLERS.get("mala")
    params = mala.params_cls(step_size=eta)
    x0 = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))

    def lab() -> None:
        gen = torch.Generator().manual_seed(1)
        s = mala.init(x0, energy, params)
        for _ in range(steps):
            s, _info = mala.step(gen, s, energy, params)

    def bare() -> None:
        bare_mala(x0, torch.Generator().manual_seed(1), eta, steps)

    t_lab = best_time(lab, repeat=3)
    t_bare = best_time(bare, repeat=3)
    rate = n * steps / t_lab
    ratio = t_lab / t_bare
    rows.append(
        Row(
            "core",
            "MALA 2-D ring, 10k chains",
            rate,
            "particle-steps/s",
            ">= 1e7",
            rate >= 1e7,
            n * steps / t_bare,
        )
    )
    rows.append(Row("core", "MALA time / bare torch MALA", ratio, "x", "<= 1.5", ratio <= 1.5))

    mlp = MLPEnergy(2, width=128, depth=2, seed=0)
    log_z_quadrature(mlp, n=64)  # warm-up
    t0 = time.perf_counter()
    res = log_z_quadrature(mlp, n=512)
    t_q = time.perf_counter() - t0
    pts = torch.rand(512 * 512, 2, dtype=torch.float64)

    @torch.no_grad()
    def bare_q() -> None:
        torch.logsumexp(-mlp.double()(pts), 0)

    t_ref = best_time(bare_q, repeat=3)
    mlp.float()
    rows.append(
        Row(
            "core",
            "quadrature log Z, MLP 2-128-128-1, 512x512",
            t_q,
            "s",
            "< 0.5",
            t_q < 0.5,
            t_ref,
            t_q / t_ref,
            note=f"log Z = {res.log_z:.4f}; reference: one unchunked float64 forward pass + logsumexp",
        )
    )
    return rows
