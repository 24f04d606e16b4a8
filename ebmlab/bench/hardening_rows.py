"""Hardening rows: untrusted expressions, presets and data files fuzzed with the seeded generators of
ebmlab.core.fuzz. Every input must be accepted or refused with a clear EbmlabError: 'other exceptions'
must be 0, and no single input may take long (1 s for an expression, a few seconds for a preset or a file)."""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from .table import Row, group

SEED = 20240611


def _rows(what: str, tally, limit: float, extra: dict[str, tuple[int, str]] | None = None) -> list[Row]:
    g = "hardening"
    rows = [
        Row(g, f"{what} fuzzed", tally.total, "inputs"),
        Row(g, f"{what} accepted", tally.counts["ok"], "inputs"),
        Row(g, f"{what} refused cleanly", tally.counts["refused"], "inputs"),
        Row(
            g,
            f"{what} other exceptions",
            tally.counts["other"],
            "inputs",
            target="0",
            ok=tally.counts["other"] == 0,
            note="; ".join(f"{t[:60]!r}: {d[:120]}" for t, d in tally.failures[:3]),
        ),
        Row(
            g,
            f"{what} max time per input",
            tally.max_seconds,
            "s",
            target=f"< {limit:g}",
            ok=tally.max_seconds < limit,
            note=f"slowest: {tally.slowest[:80]!r}",
        ),
    ]
    for name, (value, unit) in (extra or {}).items():
        rows.append(Row(g, f"{what} {name}", value, unit))
    return rows


def _expressions(n: int):
    from ..core import fuzz

    tally = fuzz.Tally()
    corpus = Path(__file__).resolve().parents[2] / "tests" / "hardening" / "corpus" / "expressions.txt"
    cases = [t for _, t in fuzz.expression_cases(SEED, n)]
    if corpus.is_file():
        cases += fuzz.read_corpus(corpus)
    for text in cases:
        tally.add(text, fuzz.try_expression(text))
    return tally


def _presets(n: int, folder: Path):
    from ..config.presets import BUNDLED_DIR, load_preset
    from ..core import fuzz
    from ..core.errors import EbmlabError
    from ..core.trainer import Trainer

    bases = []
    for p in sorted(BUNDLED_DIR.glob("*.json")):
        try:
            load_preset(p)
            bases.append((p, fuzz.shrink_preset(json.loads(p.read_text("utf-8")))))
        except (EbmlabError, ValueError):
            continue
    tally = fuzz.Tally()
    built = 0
    rng = random.Random(SEED)
    fuzz.write_traps(folder)

    def attempt(path: Path) -> str:
        loaded = load_preset(path)
        Trainer(loaded.experiment, loaded.weights, loaded.resolve)
        return "built"

    for i in range(n if bases else 0):
        src, raw = bases[i % len(bases)]
        mutant = fuzz.mutate_preset(rng, raw)
        (folder / "w.npz").unlink(missing_ok=True)
        path = fuzz.write_preset_folder(folder, mutant)
        t0 = time.perf_counter()
        try:
            fuzz.guarded(lambda path=path: attempt(path), timeout=30)
            kind, detail = "ok", ""
            built += 1
        except EbmlabError as e:
            kind, detail = ("refused", str(e)) if str(e).strip() else ("other", "empty message")
        except Exception as e:  # noqa: BLE001 - counted: must be 0
            kind, detail = "other", f"{type(e).__name__}: {e}"
        tally.add(f"{src.name}: {mutant.kind}", fuzz.Outcome(kind, time.perf_counter() - t0, detail))
    return tally, {"base presets": (len(bases), "files"), "Trainers built": (built, "inputs")}


def _data_files(folder: Path, big_rows: int):
    from ..core import fuzz
    from ..core.data import load_points
    from ..core.errors import DataError

    tally = fuzz.Tally()
    for label, path, dim in fuzz.data_file_cases(folder, big_rows=big_rows):
        t0 = time.perf_counter()
        try:
            fuzz.guarded(lambda path=path, dim=dim: load_points(path, dim), timeout=60)
            kind, detail = "ok", ""
        except DataError as e:
            named = path.name[:80] in str(e) or path.name in ("null", "zero")  # devices are named by their path
            kind, detail = ("refused", str(e)) if named else ("other", f"message does not name the file: {e}")
        except Exception as e:  # noqa: BLE001 - counted: must be 0
            kind, detail = "other", f"{type(e).__name__}: {e}"
        tally.add(label, fuzz.Outcome(kind, time.perf_counter() - t0, detail))
    return tally


@group("hardening")
def hardening_rows(quick: bool) -> list[Row]:
    rows = _rows("expressions", _expressions(2000 if quick else 10_000), 1.0)
    with tempfile.TemporaryDirectory(prefix="ebmlab-fuzz-") as tmp:
        tally, extra = _presets(200 if quick else 1000, Path(tmp) / "presets")
        rows += _rows("presets", tally, 5.0, extra)
        big = 1_000_000 if quick else 10_000_000
        rows += _rows("data files", _data_files(Path(tmp) / "data", big), 20.0, {"largest CSV": (big, "rows")})
    return rows
