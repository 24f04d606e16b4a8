"""Startup rows: how long a fresh `ebmlab --help` / `ebmlab presets` process takes, against a bare
`python -c pass` started the same way in the same run. Neither may import torch or PySide6."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from .table import Row, group

HELP_TARGET_S = 0.5


def _start_time(args: list[str], runs: int) -> float:
    """Median wall time (s) of `runs` fresh interpreters running `python ARGS` (output discarded)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _heavy_imports(args: list[str]) -> list[str]:
    """Which of torch / PySide6 a fresh `ebmlab ARGS` imports."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['ebmlab', *{args!r}]\n"
        "try:\n    runpy.run_module('ebmlab', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('heavy:', *(m for m in ('torch', 'PySide6') if m in sys.modules), file=sys.stderr)\n"
    )
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False).stderr
    found = [line.split()[1:] for line in err.splitlines() if line.startswith("heavy:")]
    return found[-1] if found else ["(the probe failed)"]


@group("startup")
def startup_rows(quick: bool) -> list[Row]:
    runs = 3 if quick else 7
    bare = _start_time(["-c", "pass"], runs)
    rows = []
    for label, args, target in (
        ("ebmlab --help start", ["--help"], HELP_TARGET_S),
        ("ebmlab presets start", ["presets"], None),
    ):
        value = _start_time(["-m", "ebmlab", *args], runs)
        heavy = _heavy_imports(args)
        imports = ", ".join(heavy) or "neither torch nor PySide6"
        note = f"median of {runs} fresh processes, reference: python -c pass; imports {imports}"
        rows.append(
            Row(
                "startup",
                label,
                value,
                "s",
                target=f"{args[0]} under {target:g} s" if target else "no torch, no PySide6",
                ok=(value < target if target else True) and not heavy,
                reference=bare,
                ratio=value / bare if bare > 0 else None,
                note=note,
            )
        )
    return rows
