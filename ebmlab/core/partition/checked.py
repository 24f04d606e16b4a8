"""log Z as the lab reports it: several independent runs combined, and for forward AIS a short reverse
AIS whenever exact samples exist (1-2-D energies, binary models up to 20 units).

Weight diagnostics (ESS, k-hat) cannot see a mode that no particle reached: the error bar stays tiny
while the estimate is off by a whole mode's mass. Reverse AIS from exact samples approaches log Z from
above; when the two do not overlap within their errors, a mode was missed. Beside the exact value,
this is the only honest check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..energies.base import Energy
from ..space import BinarySpace
from .ais import estimate_log_z
from .stats import LogZEstimate, combine_runs

METHODS = ("exact", "is", "ais", "rais", "bdmc")


def exact_samples_available(energy: Energy) -> bool:
    if isinstance(energy.space, BinarySpace):
        return energy.space.n <= 20
    return energy.dim <= 2


@dataclass(frozen=True)
class CheckedLogZ:
    """The reported estimate and, for forward AIS where exact samples exist, the reverse AIS beside it."""

    estimate: LogZEstimate
    reverse: LogZEstimate | None = None


def checked_log_z(
    energy: Energy, method: str = "ais", runs: int = 1, check_reverse: bool = True, **settings
) -> CheckedLogZ:
    """`estimate_log_z` repeated over `runs` seeds (seed, seed+1, ...) and combined (run_spread beside the
    delta-method error); for 'ais' with exact samples available, a short reverse AIS (a quarter of the
    particles) is run and a warning added when forward and reverse disagree by more than 3 SE."""
    seed = int(settings.pop("seed", 0))
    if method == "exact":
        return CheckedLogZ(estimate_log_z(energy, "exact"))
    estimates = [estimate_log_z(energy, method, seed=seed + r, **settings) for r in range(max(1, runs))]
    est = estimates[0] if len(estimates) == 1 else combine_runs(estimates)
    if not (method == "ais" and check_reverse and exact_samples_available(energy)):
        return CheckedLogZ(est)
    rs = dict(settings)
    rs["particles"] = max(2, int(settings.get("particles", 1000)) // 4)
    rev = estimate_log_z(energy, "rais", seed=seed + 10_000, **rs)
    gap = rev.log_z - est.log_z
    se = math.sqrt(rev.stderr**2 + est.stderr**2)
    if gap > 3 * se:
        note = (
            f"forward AIS ({est.log_z:.4f}) and reverse AIS ({rev.log_z:.4f}) disagree by {gap:.3g} ± {se:.2g}: "
            "some mode was probably missed; add temperatures or particles"
        )
        est = replace(est, warnings=tuple(dict.fromkeys((*est.warnings, note))))
    return CheckedLogZ(est, rev)
