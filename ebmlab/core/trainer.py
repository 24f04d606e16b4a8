"""The experiment runner: owns model, data, estimator, display chains, optimiser and seeds.

`Trainer(settings)` builds everything from a validated experiment (or raises, leaving nothing
half-built); `step()` trains one step; `set(path, value)` changes a setting between steps;
`snapshot()` and `landscape()` export immutable numpy views. The settings object is duck-typed
(ebmlab.config.schema.Experiment) so the core does not depend on the config package.

Seeds: one seed drives four independent torch generators (model init, batches + estimator,
display chains, log Z estimates), so showing more chains never changes the training numbers.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from . import lesson_metrics
from .datasources import build_data
from .divergence import Checkpoint, DivergenceGuard, evaluate_and_check, restore_checkpoint
from .errors import ConfigError, EbmlabError
from .estimators import ESTIMATORS
from .estimators.base import EstimatorContext
from .evaluation import ExactEvaluator
from .guards import FROZEN_NOTICE, check_data_dimension, check_energy_values, is_no_gradient_error, no_gradient_message
from .history import History
from .lesson_metrics import distinct_states
from .models import build_model
from .params import check
from .samplers import SAMPLERS
from .snapshot import Landscape, Snapshot
from .space import BinarySpace

DRAW_LIMIT = 2000


def resolve_device(name: str) -> torch.device:
    """The torch device for 'cpu' | 'cuda' | 'mps', or a clear error when it is not available."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise EbmlabError("device 'cuda' requested, but torch reports no CUDA device; use device 'cpu'")
        return torch.device("cuda")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise EbmlabError("device 'mps' requested, but torch reports no MPS device; use device 'cpu'")
        return torch.device("mps")
    raise EbmlabError(f"unknown device {name!r}; choose cpu, cuda or mps")


def _np(t: torch.Tensor | None, limit: int = DRAW_LIMIT) -> np.ndarray | None:
    if t is None:
        return None
    return t[:limit].detach().to("cpu", torch.float32).numpy().copy()


class Trainer:
    def __init__(self, exp: Any, weights: dict[str, np.ndarray] | None = None, resolve=None, run_id: int = 0):
        from .datasources import default_resolve

        self.run_id = run_id
        self.resolve = resolve or default_resolve
        self.exp = exp
        self.device = resolve_device(exp.device)
        self.dtype = torch.float64 if exp.training.dtype == "float64" else torch.float32
        self.energy = build_model(exp.model.kind, exp.model.settings, exp.seed).to(self.device, self.dtype)
        if weights:
            self._load_weights(weights)
        self.is_binary = isinstance(self.energy.space, BinarySpace)
        self.history = History()
        self.step_count = 0
        self.status = "ready"
        self.message: str | None = None
        self.metrics: dict[str, float] = {}
        self.info: dict = {}
        self.logz_warning: str | None = None
        self._logz_pool: list = []
        self._build_data(check_grid=True)
        self._build_optimiser()
        self._build_sampler()
        self._build_estimator()
        self._build_chains()
        self.evaluator = ExactEvaluator(self.energy, exp.training.grid_points)
        self._last_good = [p.detach().clone() for p in self._params()]
        self.guard = DivergenceGuard(self.energy.space)
        self.evaluate()
        self.guard.check_eval(self.metrics.get("nll_exact"), self.holdout)
        self.checkpoint = Checkpoint.take(self)  # the model of the last evaluation that passed

    # ----------------------------------------------------------------- building
    def _gen(self, offset: int) -> torch.Generator:
        g = torch.Generator(device=self.device if self.device.type == "cuda" else "cpu")
        return g.manual_seed((self.exp.seed * 1_000_003 + offset) % (2**63))

    def _load_weights(self, weights: dict[str, np.ndarray]) -> None:
        state = self.energy.state_dict()
        problems = []
        for k, v in weights.items():
            if k not in state:
                problems.append(f"weights: {k!r} is not a parameter of this model")
            elif tuple(state[k].shape) != tuple(v.shape):
                problems.append(f"weights: {k!r} has shape {tuple(v.shape)}, the model needs {tuple(state[k].shape)}")
        missing = [k for k in state if k not in weights]
        if missing:
            problems.append(f"weights: missing {', '.join(missing)}")
        if problems:
            raise ConfigError(problems)
        self.energy.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})

    def weights(self) -> dict[str, np.ndarray]:
        """The model's parameters and buffers as numpy arrays (for a side .npz file)."""
        return {k: v.detach().cpu().numpy().copy() for k, v in self.energy.state_dict().items()}

    def _build_data(self, check_grid: bool = False) -> None:
        """The data set; refuses data the model cannot hold and an energy that is not finite at the data
        (and, with check_grid, on the evaluation grid): see ebmlab.core.guards."""
        exp = self.exp
        check_data_dimension(exp, self.energy)
        ds = build_data(exp.data.kind, exp.data.settings, self.energy, exp.seed, self.resolve)
        check_energy_values(exp, self.energy, ds.points, grid=check_grid)
        self.dataset = ds
        n = len(ds.points)
        perm = np.random.default_rng(exp.seed).permutation(n)
        n_hold = int(round(exp.training.holdout * n)) if n >= 10 else 0
        hold, train = perm[:n_hold], perm[n_hold:]
        to = dict(device=self.device, dtype=self.dtype)
        self.train_data = torch.as_tensor(ds.points[train], **to)
        self.holdout = torch.as_tensor(ds.points[hold], **to) if n_hold else self.train_data
        self.train_labels = None if ds.labels is None else torch.as_tensor(ds.labels[train], device=self.device)
        self.holdout_labels = None
        if ds.labels is not None:
            self.holdout_labels = torch.as_tensor(ds.labels[hold], device=self.device) if n_hold else self.train_labels
        self.data_states = distinct_states(ds.points) if self.is_binary else None
        self.data_draw = ds.points[train][:DRAW_LIMIT].astype(np.float32)
        self.labels_draw = None if ds.labels is None else ds.labels[train][:DRAW_LIMIT]
        self.batch_gen = self._gen(1)

    def _params(self) -> list[torch.nn.Parameter]:
        extra = self.estimator_impl.extra_parameters(self.est_state) if hasattr(self, "estimator_impl") else []
        return [p for p in self.energy.parameters() if p.requires_grad] + list(extra)

    def _build_optimiser(self) -> None:
        o = self.exp.optimiser
        params = [p for p in self.energy.parameters() if p.requires_grad]
        self.frozen = not params  # nothing to train: steps only move the chains and estimate log Z
        if not params:
            params = [torch.nn.Parameter(torch.zeros(0, device=self.device))]
        if o.name == "adam":
            self.optimiser = torch.optim.Adam(params, lr=o.lr)
        else:
            self.optimiser = torch.optim.SGD(params, lr=o.lr, momentum=o.momentum)
        self._extra_group = False

    def _sampler_for_space(self, name: str) -> Any:
        sampler = SAMPLERS.get(name)
        want = "binary" if self.is_binary else "continuous"
        if sampler.space not in (want, "any"):
            hint = "gibbs" if self.is_binary else "mala, hmc, rwm or langevin"
            raise ConfigError(
                [f"sampler.name: {name!r} is for {sampler.space} models; this model is {want} (use {hint})"]
            )
        return sampler

    def _build_sampler(self) -> None:
        self.sampler = self._sampler_for_space(self.exp.sampler.kind)
        self.sampler_params = check(self.exp.sampler.settings, "sampler")

    def _build_estimator(self) -> None:
        est = ESTIMATORS.get(self.exp.estimator.kind)
        want = "binary" if self.is_binary else "continuous"
        if want not in est.spaces:
            raise ConfigError([f"estimator.name: {est.name!r} does not train {want} models"])
        params = check(self.exp.estimator.settings, "estimator")
        ctx = EstimatorContext(self.energy.space, self.train_data, self.sampler, self.sampler_params, self.train_labels)
        self.estimator = est
        self.estimator_impl = est.make(params, ctx)
        self.est_gen = self._gen(2)
        self.est_state = self.estimator_impl.init(self.energy, self.est_gen)
        extra = self.estimator_impl.extra_parameters(self.est_state)
        # drop a previous estimator's extra parameter group, add this one's
        self.optimiser.param_groups = self.optimiser.param_groups[:1]
        if extra:
            self.optimiser.add_param_group({"params": list(extra)})
        self.info = {}

    def _build_chains(self) -> None:
        c = self.exp.chains
        self.chain_gen = self._gen(3)
        n = c.n
        if n == 0:
            self.chain_state = None
            return
        space = self.energy.space
        if c.init == "data" or self.is_binary:
            idx = torch.randint(len(self.train_data), (n,), generator=self.chain_gen, device=self.device)
            x0 = self.train_data[idx].clone()
        else:
            lo = torch.tensor([b[0] for b in space.box], dtype=self.dtype, device=self.device)
            hi = torch.tensor([b[1] for b in space.box], dtype=self.dtype, device=self.device)
            x0 = lo + (hi - lo) * torch.rand(
                n, space.dim, generator=self.chain_gen, dtype=self.dtype, device=self.device
            )
        self.chain_state = self.sampler.init(x0, self.energy, self.sampler_params)
        self.chain_trace: list[np.ndarray] = []
        self.chain_accept: list[float] = []

    # ----------------------------------------------------------------- stepping
    def lr(self) -> float:
        o = self.exp.optimiser
        return o.lr / (1.0 + o.decay * self.step_count)

    def step(self) -> bool:
        """One training step. Returns False (and sets status 'error') when something blew up (the
        parameters of the previous step are restored) or training diverged (the model of the last
        good evaluation is restored; criteria in ebmlab.core.divergence)."""
        exp = self.exp
        n = len(self.train_data)
        bs = min(exp.optimiser.batch_size, n)
        idx = torch.randint(n, (bs,), generator=self.batch_gen, device=self.device)
        batch = self.train_data[idx]
        for g in self.optimiser.param_groups:
            g["lr"] = self.lr()
        self.optimiser.zero_grad(set_to_none=True)
        step_no = self.step_count + 1
        if self.frozen and not self.estimator_impl.extra_parameters(self.est_state):
            return self._after_step(step_no, None, {})
        try:
            impl = self.estimator_impl
            if self.train_labels is not None and hasattr(impl, "loss_labelled"):
                labels = self.train_labels[idx]
                loss, est_state, info = impl.loss_labelled(self.energy, batch, labels, self.est_state, self.est_gen)
            else:
                loss, est_state, info = impl.loss(self.energy, batch, self.est_state, self.est_gen)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                return self._blow_up(f"the {self.estimator.name} loss became {loss_value} at step {step_no}")
            reason = self.guard.check_loss(self.estimator.name, loss_value)
            if reason:
                return self._diverged(step_no, reason)
            if not loss.requires_grad:
                return self._blow_up(f"step {step_no}: {self._no_gradient()}")
            loss.backward()
            params = self._params()
            if exp.optimiser.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, exp.optimiser.grad_clip)
            self.optimiser.step()
        except EbmlabError as e:
            return self._blow_up(f"step {step_no}: {e}")
        except RuntimeError as e:
            if not is_no_gradient_error(e):
                return self._blow_up(f"step {step_no}: unexpected {type(e).__name__}: {e}")
            return self._blow_up(f"step {step_no}: {self._no_gradient()}")
        except Exception as e:  # an unexpected failure pauses the run instead of killing it
            return self._blow_up(f"step {step_no}: unexpected {type(e).__name__}: {e}")
        bad = self._non_finite_parameter()
        if bad:
            return self._blow_up(f"parameter {bad} became non-finite at step {step_no}")
        self.est_state = est_state
        for keep, p in zip(self._last_good, params):
            keep.copy_(p.detach())
        self._logz_pool.clear()  # the model changed: earlier log Z estimates are of another model
        return self._after_step(step_no, loss_value, info)

    def _after_step(self, step_no: int, loss_value: float | None, info: dict) -> bool:
        exp = self.exp
        self.step_count = step_no
        self.info = info
        if loss_value is not None:
            self.metrics["loss"] = loss_value
            self.history.add("loss", step_no, loss_value)
        self.metrics["lr"] = self.lr()
        if "c" in info:
            self.metrics["c"] = float(info["c"])
        self._step_chains()
        if step_no % exp.training.eval_every == 0 and not self._evaluate_and_check(step_no):
            return False
        if exp.logz.method != "none" and step_no % exp.logz.every == 0:
            self.estimate_log_z()
        if self.status in ("ready", "error"):
            self.status, self.message = "running", None
        return True

    def _evaluate_and_check(self, step_no: int) -> bool:
        """Evaluate; keep a checkpoint of this model or, when it diverged, restore the last one."""
        reason = evaluate_and_check(self)
        return True if reason is None else self._diverged(step_no, reason)

    def _diverged(self, step_no: int, reason: str) -> bool:
        """Restore the last good evaluation's checkpoint, clear the optimiser state, pause with the reason."""
        self.status, self.message = "error", restore_checkpoint(self, step_no, reason)
        return False

    def _no_gradient(self) -> str:
        return no_gradient_message(self.estimator.name, list(getattr(self.energy, "trainable_names", ())))

    def _non_finite_parameter(self) -> str | None:
        for name, p in self.energy.named_parameters():
            if not torch.isfinite(p).all():
                return repr(name)
        for p in self.estimator_impl.extra_parameters(self.est_state):
            if not torch.isfinite(p).all():
                return "c" if p.numel() == 1 else "of the estimator"
        return None

    def _blow_up(self, message: str) -> bool:
        with torch.no_grad():
            for keep, p in zip(self._last_good, self._params()):
                p.copy_(keep)
        self.optimiser.state.clear()
        self.status = "error"
        self.message = message + "; the last good parameters were kept"
        return False

    def _step_chains(self) -> None:
        if self.chain_state is None:
            return
        acc = None
        for _ in range(self.exp.chains.steps_per_update):
            self.chain_state, info = self.sampler.step(
                self.chain_gen, self.chain_state, self.energy, self.sampler_params
            )
            acc = info.accepted
        if acc is not None:
            self.chain_accept.append(float(acc.mean()))
            if len(self.chain_accept) > 20_000:  # bounded over hour-long runs; evaluation reads the tail
                del self.chain_accept[:10_000]
            x = self.chain_state.x
            bad = ~torch.isfinite(x).all(dim=1)
            if bool(bad.any()):  # a diverged chain restarts from the data; never poisons the display
                idx = torch.randint(
                    len(self.train_data), (int(bad.sum()),), generator=self.chain_gen, device=self.device
                )
                x = x.clone()
                x[bad] = self.train_data[idx]
                self.chain_state = self.sampler.init(x, self.energy, self.sampler_params)
            self.chain_trace.append(self.chain_state.x[:64].detach().cpu().numpy().copy())
            if len(self.chain_trace) > 400:
                del self.chain_trace[:200]

    # ----------------------------------------------------------------- evaluation
    def evaluate(self) -> None:
        """Exact NLL of held-out data and exact log Z (where computable), chain diagnostics."""
        step = self.step_count
        res = self.evaluator.evaluate(self.holdout)
        for k, v in res.items():
            self.metrics[k] = v
            self.history.add(k, step, v)
        if "c" in self.metrics and step > 0:
            self.history.add("c", step, self.metrics["c"])
        if self.chain_state is not None and len(self.chain_accept) >= 1:
            from .diagnostics import effective_sample_size, split_rhat

            acc = float(np.mean(self.chain_accept[-self.exp.training.eval_every :]))
            self.metrics["accept"] = acc
            self.history.add("accept", step, acc)
            if len(self.chain_trace) >= 20 and not self.is_binary:
                tr = np.stack(self.chain_trace[-200:])
                ess = float(np.min(effective_sample_size(tr)))
                rhat = float(np.max(split_rhat(tr)))
                if math.isfinite(ess):
                    self.metrics["ess"] = ess
                    self.history.add("ess", step, ess)
                if math.isfinite(rhat):
                    self.metrics["rhat"] = rhat
                    self.history.add("rhat", step, rhat)
        lesson_metrics.record(self, step)

    def estimate_log_z(self) -> None:
        """An IS or AIS estimate of the current model's log Z with its standard error (metrics + history).
        A failure is reported in the metrics' 'logz_warning' and never stops training."""
        from .partition.ais import estimate_log_z

        s = self.exp.logz
        kernel = "gibbs" if self.is_binary else (s.kernel if s.kernel != "gibbs" else "mala")
        try:
            est = estimate_log_z(
                self.energy,
                s.method,
                particles=s.particles,
                temps=s.temps,
                kernel=kernel,
                schedule=s.schedule,
                seed=(self.exp.seed + self.step_count) % (2**31),
                exact_reference=False,
            )
        except EbmlabError as e:
            self.logz_warning = f"log Z estimate at step {self.step_count} failed: {e}"
            return
        if self.frozen:  # the same model every time: pool all estimates so far (the error bar shrinks)
            from .partition.stats import combine_runs

            self._logz_pool.append(est)
            if len(self._logz_pool) > 1:
                est = combine_runs(self._logz_pool)
        self.metrics["logz_estimate"] = est.log_z
        self.metrics["logz_stderr"] = est.stderr
        self.logz_warning = est.warnings[0] if est.warnings else None
        self.history.add("logz_estimate", self.step_count, est.log_z, est.stderr)

    # ----------------------------------------------------------------- export
    def snapshot(self, status: str | None = None) -> Snapshot:
        info = self.info
        return Snapshot(
            run_id=self.run_id,
            step=self.step_count,
            status=status or self.status,
            message=self.message,
            estimator=self.estimator.name,
            sampler=self.sampler.name,
            metrics=dict(self.metrics),
            params=self.energy.named_scalars(),
            history=self.history.export(),
            data=self.data_draw,
            labels=self.labels_draw,
            chains=_np(self.chain_state.x, 20_000) if self.chain_state is not None else None,
            negatives=_np(info.get("negatives")),
            chain_age=_np(info.get("chain_age")),
            noisy=_np(info.get("noisy")),
            noise=_np(info.get("noise")),
            experiment=self.exp,
            extras=self._extras(),
            derived=self._derived(),
        )

    def _derived(self) -> dict[str, float]:
        derived = getattr(self.energy, "derived_scalars", None)
        return derived() if derived is not None else {}

    def _extras(self) -> dict:
        """'logz_warning': the latest log Z estimate's caveat; 'notice': a plain fact about the run (e.g. a
        model with nothing to train runs frozen)."""
        out: dict = {}
        if self.logz_warning:
            out["logz_warning"] = self.logz_warning
        if self.frozen:
            out["notice"] = FROZEN_NOTICE
        return out

    def landscape(self, grid: int = 128) -> Landscape:
        """The model on a grid, with the estimator's or the classifier's fields in extras
        (see ebmlab.core.landscape_extras)."""
        from .landscape_extras import with_extras

        return with_extras(self, self.evaluator.landscape(self.run_id, self.step_count, grid))

    def summary(self) -> dict:
        """JSON-ready numbers of the run (for `ebmlab run --json`)."""
        m = self.metrics
        out = {
            "steps": self.step_count,
            "estimator": self.estimator.name,
            "loss": m.get("loss"),
            "nll_exact": m.get("nll_exact"),
            "log_z_exact": m.get("log_z_exact"),
            "params": self.energy.named_scalars(),
        }
        if "c" in m:
            out["c"] = m["c"]
        out.update(lesson_metrics.summary_fields(m, self._derived()))
        if "logz_estimate" in m:
            out["logz_estimate"] = m["logz_estimate"]
            out["logz_stderr"] = m.get("logz_stderr")
            out["logz_warnings"] = [self.logz_warning] if self.logz_warning else []
        if self.frozen:
            out["notice"] = FROZEN_NOTICE
        if self.status == "error":
            out["error"] = self.message
        return out


def timed_steps(trainer: Trainer, n: int) -> float:
    """Run n steps (stopping early on error); returns seconds."""
    t0 = time.perf_counter()
    for _ in range(n):
        if not trainer.step():
            break
    return time.perf_counter() - t0
