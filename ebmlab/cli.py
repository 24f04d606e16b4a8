"""The `ebmlab` command: gui (default), run, sweep, logz, sample, bench, presets.

Errors caused by input go to stderr as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from .commands import bench_cmd, gui_cmd, logz_cmd, presets_cmd, run_cmd, sample_cmd, sweep_cmd
from .core.errors import EbmlabError

COMMANDS = {
    "gui": gui_cmd,
    "logz": logz_cmd,
    "run": run_cmd,
    "sample": sample_cmd,
    "sweep": sweep_cmd,
    "presets": presets_cmd,
    "bench": bench_cmd,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebmlab",
        description="A visual laboratory for energy-based models. Without a command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def join_negative_values(argv: list[str], options: tuple[str, ...] = ("--energy",)) -> list[str]:
    """`--energy -x**2` would read as an option: join such values as `--energy=-x**2`."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = join_negative_values(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(argv or ["gui"])
    module = COMMANDS[args.command or "gui"]
    if args.command in ("run", "logz", "sample"):
        from .core.compute_thread import configure_compute_thread

        configure_compute_thread(1)  # small problems: one thread is faster and steadier than two (measured)
    try:
        return int(module.run(args) or 0)
    except EbmlabError as e:
        print(f"ebmlab {args.command}: {e}".replace("\n", "; "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ebmlab: interrupted", file=sys.stderr)
        return 130
