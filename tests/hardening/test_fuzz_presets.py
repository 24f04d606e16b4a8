"""Presets from outside: >= 1,000 mutated versions of the bundled presets, loaded the way the window does.

Each mutant (ebmlab.core.fuzz.mutate_preset: deleted keys, wrong types, NaN/inf tokens and 1e400, negative
and enormous sizes, paths out of the folder or onto devices, FIFOs and symlink loops, truncation, byte flips,
non-UTF-8, deep nesting, pickles and object arrays posing as weights) is either loaded by load_preset AND
turned into a Trainer, or refused with an EbmlabError whose message names the field or the file. Never
another exception, each within a few seconds, memory bounded, and the experiment that was running before
(a Trainer built first) keeps its parameters and step count and can still step.

The bundled presets are globbed at run time (other presets may be added); they are shrunk first
(fuzz.shrink_preset: fewer chains, points and grid cells) so that building a Trainer stays cheap.
EBMLAB_FUZZ_SEED / EBMLAB_FUZZ_PRESETS change the run (defaults are fixed).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import resource
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from ebmlab.config.presets import BUNDLED_DIR, MAX_PRESET_BYTES, PresetError, load_preset
from ebmlab.core import fuzz
from ebmlab.core.errors import ConfigError, EbmlabError
from ebmlab.core.trainer import Trainer

SEED = int(os.environ.get("EBMLAB_FUZZ_SEED", "20240611"))
N_MUTANTS = int(os.environ.get("EBMLAB_FUZZ_PRESETS", "1000"))
PER_ITEM_LIMIT = 5.0  # seconds, a hang guard ("a few seconds")
HANG_GUARD = 30.0
UNPICKLED: list[str] = []
# a refusal by the Trainer must name a setting (section) or a file
NAMES = ("model", "data", "estimator", "sampler", "chains", "training", "optimiser", "logz", "view", "weights", "box")
NAMES += (".json", ".npz", ".csv", ".npy", ".txt")


def _mark_unpickled(tag: str) -> str:
    """Called only if something unpickles our bait: the proof that weights are never unpickled."""
    UNPICKLED.append(tag)
    return tag


class Bait:
    """A harmless object whose unpickling is recorded."""

    def __reduce__(self):
        return (_mark_unpickled, ("weights were unpickled",))


PICKLE = pickle.dumps(Bait())


def bundled() -> list[tuple[Path, dict]]:
    """The bundled presets that load today (shrunk), globbed at run time."""
    out = []
    for p in sorted(BUNDLED_DIR.glob("*.json")):
        try:
            raw = json.loads(p.read_text("utf-8"))
            load_preset(p)
        except (EbmlabError, ValueError):
            continue  # a broken bundled preset is another test's failure, not a fuzz base
        out.append((p, fuzz.shrink_preset(raw)))
    return out


def _copy_side_files(src: Path, raw: dict, folder: Path) -> None:
    """Files a preset references (weights, data) are copied beside its mutants."""
    refs = [raw.get("weights")]
    if isinstance(raw.get("data"), dict):
        refs.append(raw["data"].get("path"))
    for ref in refs:
        if isinstance(ref, str) and ref and (src.parent / ref).is_file():
            (folder / ref).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src.parent / ref, folder / ref)


def guarded(fn, timeout: float = HANG_GUARD):
    """fn() in a thread; fail (instead of hanging the suite) if it blocks, e.g. on a FIFO."""
    return fuzz.guarded(fn, timeout)


def attempt(path: Path) -> tuple[str, str]:
    """Load like the window: load_preset, then Trainer(experiment, weights, resolve); step the new one once."""
    try:
        loaded = load_preset(path)
    except EbmlabError as e:
        return "refused at load", str(e)
    try:
        trainer = Trainer(loaded.experiment, loaded.weights, loaded.resolve)
    except EbmlabError as e:
        return "refused by Trainer", str(e)
    ok = trainer.step()
    assert isinstance(ok, bool)
    return "loaded", ""


def _referenced(mutant: fuzz.PresetMutant) -> list[str]:
    """Names of the files the mutant refers to (its weights), when its JSON still parses."""
    try:
        raw = json.loads(mutant.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return []
    ref = raw.get("weights") if isinstance(raw, dict) else None
    return [Path(ref).name] if isinstance(ref, str) and Path(ref).name else []


def _state(trainer: Trainer) -> list[torch.Tensor]:
    return [t.detach().clone() for t in trainer.energy.state_dict().values()]


@pytest.fixture(scope="module")
def running() -> Trainer:
    """The experiment that was running before the user opened the mutants."""
    path, _ = bundled()[0]
    loaded = load_preset(path)
    trainer = Trainer(loaded.experiment, loaded.weights, loaded.resolve)
    for _ in range(3):
        assert trainer.step()
    return trainer


def test_mutated_presets_load_or_are_refused_cleanly(tmp_path: Path, running: Trainer, capsys) -> None:
    bases = bundled()
    assert bases, "no bundled preset loads"
    rng = random.Random(SEED)
    before_params, before_step, before_exp = _state(running), running.step_count, running.exp
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    slow: list[str] = []
    max_s = 0.0
    t_start = time.perf_counter()
    folders = {}
    for src, raw in bases:
        folder = tmp_path / src.stem
        folder.mkdir()
        _copy_side_files(src, raw, folder)
        fuzz.write_traps(folder)
        folders[src] = folder
    for i in range(N_MUTANTS):
        src, raw = bases[i % len(bases)]
        folder = folders[src]
        mutant = fuzz.mutate_preset(rng, raw, "preset.json", pickle_bytes=PICKLE)
        (folder / "w.npz").unlink(missing_ok=True)
        path = fuzz.write_preset_folder(folder, mutant)
        label = f"#{i} {src.name}: {mutant.kind[:160]}"
        t0 = time.perf_counter()
        try:
            kind, msg = guarded(lambda path=path: attempt(path))
        except AssertionError as e:
            failures.append(f"{label}: {e}")
            continue
        except Exception as e:  # noqa: BLE001 - any other exception is the bug we are looking for
            failures.append(f"{label}: {type(e).__name__}: {str(e)[:200]}")
            continue
        dt = time.perf_counter() - t0
        max_s = max(max_s, dt)
        if dt > PER_ITEM_LIMIT:
            slow.append(f"{label}: {dt:.1f} s")
        outcomes[kind] += 1
        if kind == "loaded":
            continue
        if not msg.strip():
            failures.append(f"{label}: {kind} with an empty message")
        elif kind == "refused at load" and not any(name in msg for name in ["preset.json", *_referenced(mutant)]):
            failures.append(f"{label}: the message names neither the preset nor its weights file: {msg[:200]}")
        elif kind == "refused by Trainer" and not any(word in msg for word in NAMES):
            failures.append(f"{label}: the Trainer's message names no setting and no file: {msg[:200]}")
        if mutant.field is not None and (kind != "refused at load" or mutant.field not in msg):
            failures.append(f"{label}: expected a refusal naming {mutant.field!r}, got {kind}: {msg[:200]}")
    wall = time.perf_counter() - t_start
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    with capsys.disabled():
        print(
            f"\npreset fuzz: {N_MUTANTS} mutants of {len(bases)} presets in {wall:.1f} s: {dict(outcomes)}, "
            f"{len(failures)} failures, max {max_s:.2f} s per mutant, peak RSS +{rss_growth_mb:.0f} MB"
        )
    assert not failures, "\n".join(failures[:30])
    assert not slow, slow[:10]
    assert sum(outcomes.values()) == N_MUTANTS >= 1000 or N_MUTANTS < 1000
    assert outcomes["loaded"] >= 0.05 * N_MUTANTS and outcomes["refused at load"] >= 0.5 * N_MUTANTS
    assert rss_growth_mb < 1500, f"peak memory grew by {rss_growth_mb:.0f} MB"
    assert UNPICKLED == []
    # the experiment that was running is untouched and still steps
    assert running.exp is before_exp and running.step_count == before_step
    for a, b in zip(before_params, _state(running), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert running.step() and running.step_count == before_step + 1


# ----------------------------------------------------------------------------- targeted cases


@pytest.mark.parametrize("field", fuzz.SIZE_FIELDS)
@pytest.mark.parametrize("value", [10**9, 10**400, 1e18, -1], ids=["1e9", "1e400-int", "1e18-float", "-1"])
def test_enormous_and_negative_sizes_are_refused_naming_the_field(tmp_path: Path, field: str, value) -> None:
    """Before allocating: the caps refuse 10^9 particles, chains, points, grid cells... in milliseconds."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for src, raw in bundled():
        d = json.loads(json.dumps(raw))
        section, key = field.split(".")
        d.setdefault(section, {})[key] = value
        p = tmp_path / f"{src.stem}.json"
        p.write_text(json.dumps(d))
        t0 = time.perf_counter()
        with pytest.raises(ConfigError) as info:
            load_preset(p)
        assert time.perf_counter() - t0 < 2
        assert field in str(info.value) and p.name in str(info.value)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024 < 100


@pytest.mark.parametrize("token", fuzz.NON_FINITE_TOKENS + ["1" + "0" * 400, "-" + "9" * 400 + ".5"])
def test_non_finite_numbers_are_refused(tmp_path: Path, token: str) -> None:
    src, raw = bundled()[0]
    p = tmp_path / "p.json"
    for field in ("optimiser.lr", "sampler.step_size", "seed", "chains.n"):
        section, key = field.split(".") if "." in field else (None, field)
        d = json.loads(json.dumps(raw))
        (d.setdefault(section, {}) if section else d)[key] = "@@"
        p.write_text(json.dumps(d).replace('"@@"', token))
        with pytest.raises(EbmlabError) as info:
            load_preset(p)
        msg = str(info.value)
        assert p.name in msg and (field in msg or "finite" in msg or "not allowed" in msg), msg


def test_weights_that_are_pickles_or_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    src, raw = bundled()[0]
    d = dict(raw, weights="w.npz")
    (tmp_path / "p.json").write_text(json.dumps(d))
    import io
    import zipfile

    buf = io.BytesIO()
    np.save(buf, np.array([Bait(), 1], dtype=object))  # an object array: pickled inside the .npy
    obj_npy = buf.getvalue()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("param_a.npy", obj_npy)
        z.writestr("bait.pkl", PICKLE)
    for label, data in [("raw pickle", PICKLE), ("npz with an object array", zbuf.getvalue()), ("npy", obj_npy)]:
        (tmp_path / "w.npz").write_bytes(data)
        with pytest.raises(PresetError, match="w.npz") as info:
            load_preset(tmp_path / "p.json")
        assert str(info.value).strip(), label
    assert UNPICKLED == [], "a weights file was unpickled"


@pytest.mark.parametrize("ref", fuzz.BAD_PATHS)
def test_bad_file_references_are_refused(tmp_path: Path, ref: str) -> None:
    """Escapes, absolute paths, devices, /proc/self/mem, FIFOs (must not block), symlink loops, long names."""
    src, raw = bundled()[0]
    fuzz.write_traps(tmp_path)
    p = tmp_path / "p.json"
    p.write_text(json.dumps(dict(raw, weights=ref)))
    if ref == "":  # an empty reference means 'no weights'
        assert guarded(lambda: load_preset(p), timeout=10).weights is None
        return
    with pytest.raises(EbmlabError) as info:
        guarded(lambda: load_preset(p), timeout=10)
    assert "p.json" in str(info.value) or Path(ref).name in str(info.value)


@pytest.mark.parametrize("target", ["/proc/self/mem", "/dev/zero", "/dev/null", "fifo.json", "dir.json", "loop.json"])
def test_the_preset_itself_on_a_device_fifo_or_loop(tmp_path: Path, target: str) -> None:
    """Found by this fuzz: /proc/self/mem raised OSError (EIO) from load_preset; a long name raised OSError."""
    if not target.startswith("/"):
        if target == "fifo.json":
            os.mkfifo(tmp_path / target)
        elif target == "dir.json":
            (tmp_path / target).mkdir()
        else:
            os.symlink(target, tmp_path / target)
        target = str(tmp_path / target)
    with pytest.raises(PresetError):
        guarded(lambda: load_preset(target), timeout=10)
    with pytest.raises(PresetError, match="cannot read"):
        load_preset(tmp_path / ("a" * 300 + ".json"))


def test_deep_nesting_and_huge_files_are_refused(tmp_path: Path) -> None:
    src, raw = bundled()[0]
    p = tmp_path / "p.json"
    for depth in (10_000, 1_000_000):
        p.write_text(json.dumps(dict(raw, notes="@@")).replace('"@@"', "[" * depth + "]" * depth))
        with pytest.raises(PresetError, match="nested too deeply"):
            load_preset(p)
    with open(p, "wb") as f:
        f.write(b'{"notes": "')
        f.seek(MAX_PRESET_BYTES + 10)
        f.write(b'"}')
    t0 = time.perf_counter()
    with pytest.raises(PresetError, match="larger than"):
        load_preset(p)
    assert time.perf_counter() - t0 < 2


def test_grid_cells_are_capped_across_dimensions(tmp_path: Path) -> None:
    """Found by this fuzz: training.grid_points <= 4096 per axis, but a 3-D model made that 4096^3 points:
    Trainer(...) raised MemoryError (or, under overcommit, could exhaust memory). Then the grid was refused as a
    warning on the exact log Z; now (issue 16) the preset itself is refused, naming the field and the limit,
    before anything is built or allocated."""
    d = {
        "schema_version": 1,
        "model": {"kind": "mlp", "dim": 3, "width": 8, "depth": 1},
        "data": {"kind": "points", "points": [[0, 0, 0], [1, 1, 1], [0.5, 0, -0.5]]},
        "estimator": {"name": "cd", "k": 1},
        "sampler": {"name": "mala"},
        "chains": {"n": 8},
        "training": {"grid_points": 4096},
    }
    p = tmp_path / "p.json"
    p.write_text(json.dumps(d))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"training\.grid_points: 4,096 per dimension in 3-D is .* the limit is"):
        guarded(lambda: load_preset(p), timeout=60)
    assert time.perf_counter() - t0 < 10
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024 < 200


def test_one_grid_point_and_a_bad_data_expression_are_clean_refusals(tmp_path: Path) -> None:
    """Found by this fuzz: training.grid_points = 1 passed validation, then Trainer(...) raised a bare ValueError
    from make_grid; an invalid data.expression (kind 'energy') was refused without saying which expression."""
    d = {
        "schema_version": 1,
        "model": {"kind": "expression", "expression": "x**2/2"},
        "data": {"kind": "energy", "expression": "x**2/2", "n": 50, "grid_points": 64},
        "estimator": {"name": "mle"},
        "sampler": {"name": "mala"},
        "chains": {"n": 4},
        "training": {"grid_points": 1},
    }
    p = tmp_path / "p.json"
    p.write_text(json.dumps(d))
    loaded = load_preset(p)
    trainer = Trainer(loaded.experiment, loaded.weights, loaded.resolve)
    assert "sizes >= 2" in (trainer.evaluator.last_warning or "")
    d["data"]["expression"] = "x + y"  # the model is 1-D
    p.write_text(json.dumps(d))
    loaded = load_preset(p)
    with pytest.raises(ConfigError, match=r"data\.expression: is 2-D \(uses x, y\) but the model is 1-D"):
        Trainer(loaded.experiment, loaded.weights, loaded.resolve)
