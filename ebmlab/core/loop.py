"""The experiment loop shared by the window's worker and the command line.

`Session` holds the current Trainer plus the transport state (playing, pending single steps)
and applies commands between steps. `experiment_loop(session)` is the same thing as a
generator: send a command (or None), get back the snapshot after the next step:

    loop = experiment_loop(session); snap = next(loop)
    snap = loop.send(Play()); snap = loop.send(None); snap = loop.send(Step(1)) ...
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from .live import apply_live, needs_reset
from .snapshot import Snapshot
from .trainer import Trainer


@dataclass(frozen=True)
class Play:
    pass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    n: int = 1


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class Reconfigure:
    """Switch to a new validated experiment (estimator, hyper-parameters, data...)."""

    experiment: Any
    weights: dict | None = None


Command = Play | Pause | Step | Reset | Reconfigure


class Session:
    """Transport + live changes around a Trainer. `make(exp, weights, run_id) -> Trainer`."""

    def __init__(self, trainer: Trainer, make: Callable[..., Trainer] | None = None):
        self.trainer = trainer
        self.make = make or (lambda exp, weights, run_id: Trainer(exp, weights, trainer.resolve, run_id))
        self.playing = False
        self.pending = 0
        self.weights = None

    @property
    def run_id(self) -> int:
        return self.trainer.run_id

    def apply(self, cmd: Command) -> None:
        """Apply one command. A Reconfigure that fails raises and leaves the run as it was."""
        t = self.trainer
        if isinstance(cmd, Play):
            self.playing = True
        elif isinstance(cmd, Pause):
            self.playing = False
            self.pending = 0
        elif isinstance(cmd, Step):
            self.playing = False
            self.pending += max(0, cmd.n)
        elif isinstance(cmd, Reset):
            self.trainer = self.make(t.exp, self.weights, t.run_id + 1)
            self.playing = False
            self.pending = 0
        elif isinstance(cmd, Reconfigure):
            if needs_reset(t.exp, cmd.experiment) or cmd.weights is not None:
                self.trainer = self.make(cmd.experiment, cmd.weights, t.run_id + 1)
                self.weights = cmd.weights
                self.playing = False
                self.pending = 0
            else:
                apply_live(t, cmd.experiment)
        else:  # pragma: no cover - programming error
            raise TypeError(f"unknown command {cmd!r}")

    @property
    def wants_step(self) -> bool:
        return self.playing or self.pending > 0

    def advance(self) -> bool:
        """Take one step if playing or a single step is pending. Pauses on error."""
        if not self.wants_step:
            return False
        if self.pending > 0:
            self.pending -= 1
        ok = self.trainer.step()
        if not ok:
            self.playing = False
            self.pending = 0
        return True

    def status(self) -> str:
        if self.trainer.status == "error":
            return "error"
        return "running" if self.playing else "paused"

    def snapshot(self) -> Snapshot:
        return self.trainer.snapshot(self.status())


def experiment_loop(session: Session) -> Generator[Snapshot, Command | None, None]:
    """Yield a snapshot, receive a command (or None), apply it, step if playing, repeat."""
    cmd = yield session.snapshot()
    while True:
        if cmd is not None:
            session.apply(cmd)
        session.advance()
        cmd = yield session.snapshot()
