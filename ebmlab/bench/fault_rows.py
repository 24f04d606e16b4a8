"""Fault rows: faults injected into a live run (headless), each of which must be survived: the run pauses
with a message naming what happened and the step, the last good parameters are kept (finite, unchanged),
the run can be saved, and training resumes once the fault is gone. Plus a short soak in the window."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from .table import Row, group

WELCOME_SMALL = [("chains.n", 50), ("estimator.k", 1), ("training.eval_every", 1000)]


def _trainer():
    from ..config.presets import BUNDLED_DIR, load_preset
    from ..config.schema import with_overrides
    from ..core.trainer import Trainer

    exp = load_preset(BUNDLED_DIR / "00_welcome.json").experiment
    exp = with_overrides(exp, [(k.split("."), v) for k, v in WELCOME_SMALL])
    t = Trainer(exp)
    for _ in range(3):
        t.step()
    return t


def _params(t) -> list[torch.Tensor]:
    return [p.detach().clone() for p in t.energy.parameters()]


def _survived(t, inject: Callable[[], Callable[[], None]], expect: str) -> tuple[bool, str]:
    """Inject, take a step, check the pause and the kept model, undo the fault, check training resumes."""
    from ..config.presets import load_preset, save_preset

    before, step = _params(t), t.step_count
    undo = inject()
    ok_step = t.step()
    undo()
    msg = t.message or ""
    kept = all(torch.equal(a, b) for a, b in zip(before, _params(t)))
    named = expect in msg and f"step {step + 1}" in msg
    with tempfile.TemporaryDirectory() as d:
        path = save_preset(t.exp, Path(d) / "kept.json", weights=t.weights())
        saved = load_preset(path).weights is not None
    resumed = t.step() and t.status == "running" and t.step_count == step + 1
    good = (not ok_step) and t.status == "running" and kept and named and saved and resumed
    return good, msg


def _fault_nan_energy(t):
    forward = t.energy.forward
    t.energy.forward = lambda x: forward(x) * float("nan")
    return lambda: setattr(t.energy, "forward", forward)


def _fault_inf_loss(t):
    loss = t.estimator_impl.loss
    t.estimator_impl.loss = lambda *a: (lambda o: (o[0] * float("inf"), *o[1:]))(loss(*a))
    return lambda: setattr(t.estimator_impl, "loss", loss)


def _fault_poisoned_update(t):
    step = t.optimiser.step

    def poisoned(*a, **k):
        step(*a, **k)
        with torch.no_grad():
            next(t.energy.parameters()).fill_(float("inf"))

    t.optimiser.step = poisoned
    return lambda: setattr(t.optimiser, "step", step)


def _fault_exception(t):
    loss = t.estimator_impl.loss

    def boom(*a):
        raise RuntimeError("injected failure")

    t.estimator_impl.loss = boom
    return lambda: setattr(t.estimator_impl, "loss", loss)


FAULTS = [
    ("energy returns NaN", _fault_nan_energy, "nan"),
    ("loss explodes (inf)", _fault_inf_loss, "inf"),
    ("update writes inf into a parameter", _fault_poisoned_update, "non-finite"),
    ("estimator raises an unexpected exception", _fault_exception, "unexpected RuntimeError"),
]


def _other_faults() -> list[tuple[str, bool, str]]:
    """Faults outside a step: a diverging sampler, a missing device, a full disk when saving."""
    from ..config.presets import PresetError, save_preset
    from ..config.schema import with_overrides
    from ..core.errors import EbmlabError
    from ..core.trainer import Trainer

    out = []
    t = _trainer()
    t.sampler_params = type(t.sampler_params)(step_size=1e6)  # past the schema's range, set directly
    t.chain_state = t.sampler.init(t.chain_state.x, t.energy, t.sampler_params)
    steps_ok = all(t.step() for _ in range(5))
    finite = all(math.isfinite(float(v)) for v in t.snapshot().chains.reshape(-1)[:1000])
    out.append(("sampler step size 1e6: chains never poison the run", steps_ok and finite, "training continues"))

    real = torch.cuda.is_available
    torch.cuda.is_available = lambda: False
    try:
        Trainer(with_overrides(t.exp, [(["device"], "cuda")]))
        out.append(("CUDA requested where there is none", False, "built anyway"))
    except EbmlabError as e:
        out.append(("CUDA requested where there is none", "no CUDA device" in str(e), str(e)))
    finally:
        torch.cuda.is_available = real

    with tempfile.TemporaryDirectory() as d:
        path = save_preset(t.exp, Path(d) / "p.json", weights=t.weights())
        before = path.read_bytes()
        real_replace = os.replace

        def full(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        os.replace = full
        try:
            save_preset(t.exp, path, weights=t.weights())
            ok, msg = False, "saved anyway"
        except PresetError as e:
            ok, msg = True, str(e)
        finally:
            os.replace = real_replace
        intact = path.read_bytes() == before and json.loads(before)
        leftovers = [p.name for p in Path(d).iterdir() if p.name.startswith(".")]
        out.append(("disk full while saving", ok and bool(intact) and not leftovers, msg))
    return out


@group("faults")
def fault_rows(quick: bool) -> list[Row]:
    rows: list[Row] = []
    results = []
    for name, inject, expect in FAULTS:
        t = _trainer()
        good, msg = _survived(t, lambda inject=inject, t=t: inject(t), expect)
        results.append((name, good, msg))
    results += _other_faults()
    for name, good, msg in results:
        rows.append(Row("faults", name, 1.0 if good else 0.0, "survived", "1", good, note=msg[:140]))
    n_ok = sum(g for _, g, _ in results)
    rows.append(
        Row(
            "faults",
            "faults injected and survived",
            n_ok,
            f"of {len(results)}",
            str(len(results)),
            n_ok == len(results),
        )
    )
    return rows


@group("soak")
def soak_rows(quick: bool) -> list[Row]:
    """A short soak in the window (0.5 min quick, 1 min otherwise); `ebmlab bench --soak 30` is the long run."""
    from .soak_run import collect

    checks, samples, _ = collect(0.5 if quick else 1.0, interval=5.0, out=None)
    rows = [Row("soak", f"soak {c.name}", 1.0 if c.ok else 0.0, "pass", c.target, c.ok, note=c.value) for c in checks]
    if len(samples) >= 2:
        growth = max(s.rss_mb for s in samples[1:]) - samples[0].rss_mb
        rows.append(Row("soak", "memory growth after the first sample", growth, "MB", "< 50", growth < 50))
    return rows
