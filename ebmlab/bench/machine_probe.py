"""The speed reference of the soak and of the window bench: the same preset trained by a plain
`trainer.step()` loop in a separate process (what `ebmlab run` does).

The soak pauses its window now and then and asks this process for a few seconds of steps: the machine's speed
for the same work at that moment, measured in a fresh process (its own heap and collector, no Qt). Dividing
the window's steps/s by it removes what the machine did (another tenant on the host, a busy vCPU) and keeps
what the window did (a leak, growing per-step work, a collector that slows down as the process fills up).

Protocol (text lines): the child prints `ready` once its trainer is built (or `error MESSAGE`); for each
`run SECONDS` it prints the steps/s it reached; `quit` (or end of input) ends it.
Run as `python -m ebmlab.bench.machine_probe PRESET`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ..core.errors import EbmlabError

WHO = "the reference process (a fresh headless trainer)"


class MachineProbe:
    """The parent's handle on the child process; a context manager that ends it."""

    def __init__(self, preset: str | Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ebmlab.bench.machine_probe", str(preset)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._expect("ready")

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=10)
            raise EbmlabError(f"{WHO} ended unexpectedly (exit code {code})")
        return line.strip()

    def _expect(self, word: str) -> None:
        got = self._line()
        if got.startswith("error "):
            raise EbmlabError(f"{WHO} could not start: {got[6:]}")
        if got != word:
            raise EbmlabError(f"{WHO} said {got!r}, expected {word!r}")

    def run(self, seconds: float) -> float:
        """Steps per second of the plain loop over `seconds` (the caller keeps the machine otherwise idle)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {seconds:g}\n")
        self.proc.stdin.flush()
        return float(self._line())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> MachineProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def steps_per_second(step, seconds: float) -> float:
    """Calls of `step()` per second over at least `seconds`."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def main(argv: list[str]) -> int:
    from ..config.presets import load_preset
    from ..core.compute_thread import configure_compute_thread
    from ..core.trainer import Trainer

    configure_compute_thread(1)  # as the window's worker
    try:
        loaded = load_preset(argv[0])
        trainer = Trainer(loaded.experiment, loaded.weights, loaded.resolve)
    except EbmlabError as e:
        print(f"error {' '.join(str(e).split())}", flush=True)
        return 2
    trainer.step()  # first-step costs (allocation, data) are not the machine's speed
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "run" and len(words) == 2:
            print(f"{steps_per_second(trainer.step, float(words[1])):.3f}", flush=True)
        else:
            print(f"unknown command {line.strip()!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
