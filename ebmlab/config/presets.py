"""Presets on disk: load and validate (never executing anything), save atomically, list bundled ones.

A preset is a JSON file; trained weights may sit in a side `.npz` file (plain arrays only,
loaded with allow_pickle=False). File references resolve relative to the preset's folder and
may not escape it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError, EbmlabError
from .bundled import BUNDLED_DIR, bundled_presets  # noqa: F401 - re-exported (window, tests, bench)
from .schema import Experiment, experiment_from_dict, experiment_to_dict
from .staging import clean_stale, create_temp

MAX_PRESET_BYTES = 20 * 1024 * 1024
MAX_WEIGHTS_BYTES = 200 * 1024 * 1024


class PresetError(EbmlabError):
    """A preset that cannot be loaded or saved; the message names the file."""


@dataclass(frozen=True)
class LoadedPreset:
    experiment: Experiment
    path: Path
    weights: dict[str, np.ndarray] | None

    def resolve(self, ref: str) -> Path:
        return resolve_inside(self.path.parent, ref, self.path.name)


def resolve_inside(folder: Path, ref: str, where: str = "preset") -> Path:
    """Resolve a file reference relative to `folder`; refuse absolute paths and escapes."""
    if not isinstance(ref, str) or not ref or "\x00" in ref:
        raise PresetError(f"{where}: invalid file reference {ref!r}")
    if os.path.isabs(ref) or ref.startswith("~"):
        raise PresetError(f"{where}: file reference {ref!r} must be relative to the preset's folder")
    try:
        base = folder.resolve()
        target = (base / ref).resolve()
        if target != base and base not in target.parents:
            raise PresetError(f"{where}: file reference {ref!r} points outside the preset's folder")
        if target.exists() and not target.is_file():
            raise PresetError(f"{where}: {ref!r} is not a regular file")
    except (OSError, RuntimeError) as e:  # a name too long, a symlink loop, ...
        raise PresetError(
            f"{where}: cannot use file reference {ref[:80]!r} ({getattr(e, 'strerror', None) or e})"
        ) from None
    return target


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a preset (numbers must be finite)")


def parse_json_text(raw: bytes, where: str) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PresetError(f"{where}: not UTF-8 text (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise PresetError(f"{where}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:
        raise PresetError(f"{where}: {e}") from None
    except RecursionError:
        raise PresetError(f"{where}: JSON nested too deeply") from None


def read_limited(path: Path, limit: int, where: str) -> bytes:
    try:
        if not path.exists():
            raise PresetError(f"{where}: file not found")
        if not path.is_file():
            raise PresetError(f"{where}: not a regular file")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:  # unreadable, a name too long, /proc/self/mem (EIO), ...
        raise PresetError(f"{where}: cannot read the file ({e.strerror or e})") from None
    if len(data) > limit:
        raise PresetError(f"{where}: larger than {limit // (1024 * 1024)} MB; refusing to read it")
    return data


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """Numeric arrays from an .npz (never pickles). Raises PresetError naming the file."""
    where = path.name
    data = read_limited(path, MAX_WEIGHTS_BYTES, where)
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:  # members are read whole: bound what they unpack to
            unpacked = sum(info.file_size for info in zf.infolist())
        if unpacked > MAX_WEIGHTS_BYTES:
            raise ValueError(f"unpacks to {unpacked} bytes, more than {MAX_WEIGHTS_BYTES // 2**20} MB")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            out = {k: np.array(z[k]) for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError) as e:
        raise PresetError(f"{where}: not a plain .npz of numeric arrays ({e})") from None
    for k, v in out.items():
        if v.dtype.kind not in "fiub":
            raise PresetError(f"{where}: array {k!r} has dtype {v.dtype}; only numeric arrays are accepted")
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise PresetError(f"{where}: array {k!r} contains NaN or inf")
    return out


def load_preset(path: str | os.PathLike) -> LoadedPreset:
    """Read, parse and validate a preset; raises PresetError/ConfigError and changes nothing on failure."""
    p = Path(path)
    clean_stale(p.parent)  # temp files left by a killed save in this folder (only ours, only stale ones)
    raw = parse_json_text(read_limited(p, MAX_PRESET_BYTES, p.name), p.name)
    try:
        exp = experiment_from_dict(raw)
    except ConfigError as e:
        raise ConfigError([f"{p.name}: {line}" for line in e.problems]) from None
    weights = None
    if exp.weights:
        weights = load_weights(resolve_inside(p.parent, exp.weights, f"{p.name}: weights"))
    return LoadedPreset(exp, p, weights)


def _stage(path: Path, data: bytes) -> str:
    """Write `data` to a new temporary file beside `path` and fsync it; returns its name (removed on failure).
    The name is ours alone (ebmlab.config.staging), so a file left by a killed save is cleaned later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = create_temp(path)  # mode 0666 less the umask: a saved preset gets the usual permissions
    tmp = str(tmp_path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    tmp = _stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _finite(obj: object) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_finite(v) for v in obj)
    return True


def save_preset(exp: Experiment, path: str | os.PathLike, weights: dict[str, np.ndarray] | None = None) -> Path:
    """Save atomically. With weights, writes `<name>.weights.npz` beside it and references it.

    Both files are written in full (temporary files, fsynced) before either replaces its target, so a full
    disk or a refused experiment never leaves new weights beside the previous JSON, nor any temporary file."""
    p = Path(path)
    wpath = p.parent / (p.with_suffix("").name + ".weights.npz")
    if weights is not None:
        from dataclasses import replace

        exp = replace(exp, weights=wpath.name)
    raw = experiment_to_dict(exp)
    if not _finite(raw):
        raise PresetError(f"{p.name}: the experiment holds a NaN or inf value; not saved")
    text = json.dumps(raw, indent=2, allow_nan=False) + "\n"
    clean_stale(p.parent)  # temp files left by a killed save (only ours, only those whose writer is gone)
    staged: list[str] = []
    target = wpath
    try:
        if weights is not None:
            import io

            buf = io.BytesIO()
            np.savez(buf, **{k: np.asarray(v) for k, v in weights.items()})
            staged.append(_stage(wpath, buf.getvalue()))
        target = p
        staged.append(_stage(p, text.encode("utf-8")))
        if weights is not None:
            target = wpath
            os.replace(staged[0], wpath)
            del staged[0]
        target = p
        os.replace(staged[0], p)
        del staged[0]
    except OSError as e:
        raise PresetError(f"{target}: could not save ({e.strerror or e}); the previous file is unchanged") from None
    finally:
        for tmp in staged:
            _unlink_quietly(tmp)
    return p


def find_preset(name_or_path: str) -> Path:
    """A path to an existing file, or the bundled preset whose file stem or name matches."""
    p = Path(name_or_path)
    if p.exists():
        return p
    for path, name, _ in bundled_presets():
        if name_or_path in (path.stem, path.name, name):
            return path
    known = ", ".join(path.stem for path, _, _ in bundled_presets())
    raise PresetError(f"{name_or_path}: no such file or bundled preset (bundled: {known})")
