"""Mutated presets: deleted keys, wrong types, non-finite and enormous values, hostile paths and weights."""

from __future__ import annotations

import copy
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------- presets

SIZE_FIELDS = [
    "chains.n", "chains.steps_per_update", "logz.particles", "logz.temps", "logz.every", "data.n",
    "data.grid_points", "training.grid_points", "training.steps", "training.eval_every", "view.grid",
    "optimiser.batch_size", "estimator.n_chains", "estimator.k", "estimator.grid_points", "estimator.n_projections",
    "sampler.grid_points", "sampler.n_leapfrog", "sampler.sweeps", "model.width", "model.depth", "model.dim",
    "model.units", "model.visible", "model.hidden", "model.components", "model.classes",
]  # fmt: skip
ENORMOUS: list[Any] = [10**9, 10**12, 10**18, 10**30, 1e9, 1e18, 2**63, 10**400]
NEGATIVE: list[Any] = [-1, -(10**9), -0.5, -1e300, -(2**63)]
ODD_VALUES: list[Any] = [
    None, True, False, "", "x", "1e9", "NaN", [], {}, [1, 2], {"a": 1}, 0, -0.0, 1, 2, 0.5, 1.5, 1e-308, 5e-324,
    1e308, -1e308, 2**31, 2**53 + 1, "\u202e", "\x00", "../../etc/passwd", [[0, 1]], [[-1e308, 1e308]],
]  # fmt: skip
NON_FINITE_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999999"]
BAD_PATHS = [
    "../escape.npz", "../../../../etc/passwd", "/etc/passwd", "/dev/zero", "/proc/self/mem", "~/x.npz",
    "sub/../../x.npz", "", ".", "..", "C:\\x.npz", "a" * 300 + ".npz", "missing.npz", "dir.npz", "fifo.npz",
    "zero_link.npz", "loop.npz", "mem_link.npz", "nul\x00.npz", "\u202egpj.npz", "folder/../ok.npz",
]  # fmt: skip
_SENTINEL = "@@FUZZ_TOKEN@@"


@dataclass(frozen=True)
class PresetMutant:
    """A mutated preset: the file's bytes, side files to write beside it, and what the refusal must name."""

    kind: str
    data: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    field: str | None = None  # when refused, the message must contain this field path


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


def _set(obj: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _dotted(path: tuple) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _dump(raw: Any, token: str | None = None) -> bytes:
    text = json.dumps(raw, indent=1, ensure_ascii=False)
    if token is not None:
        text = text.replace(json.dumps(_SENTINEL), token)
    return text.encode("utf-8", "surrogatepass")


def _npy(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)  # object arrays are pickled by np.save: exactly the hostile file we want to refuse
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_header_only(shape: tuple[int, ...], dtype: str = "<f8", payload: bytes = b"\0" * 64) -> bytes:
    """A .npy file whose header claims `shape` but holds only `payload`: a lie about its size."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def hostile_weights(rng: random.Random, pickle_bytes: bytes | None = None) -> tuple[str, bytes]:
    """(label, bytes) of a weights file that must be refused: pickles, object arrays, lies, garbage."""
    choices = [
        ("npz-object-array", lambda: _npz({"w": np.array([{"a": 1}, None], dtype=object)})),
        ("npz-string-array", lambda: _npz({"w": np.array(["a", "b"])})),
        ("npz-nan", lambda: _npz({"w": np.array([np.nan, 1.0])})),
        ("npz-huge-header", lambda: _zip({"w.npy": npy_header_only((10**12,))})),
        ("npz-huge-header-2d", lambda: _zip({"w.npy": npy_header_only((10**6, 10**6))})),
        ("npz-object-member", lambda: _zip({"w.npy": _npy(np.array([object()], dtype=object))})),
        ("npz-truncated", lambda: _npz({"w": np.arange(100.0)})[: rng.randint(1, 200)]),
        ("npz-garbage", lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))),
        ("npy-not-npz", lambda: _npy(np.arange(4.0))),
        ("empty", lambda: b""),
        ("json-not-npz", lambda: b'{"a": 1}'),
    ]
    if pickle_bytes is not None:
        choices.append(("raw-pickle", lambda: pickle_bytes))
        choices.append(("npz-with-pickle-member", lambda: _zip({"w.pkl": pickle_bytes, "w.npy": pickle_bytes})))
    label, make = rng.choice(choices)
    return label, make()


def mutate_preset(
    rng: random.Random, raw: dict, name: str = "preset.json", pickle_bytes: bytes | None = None
) -> PresetMutant:
    """One random mutation of a preset's JSON object (a deep copy is changed, never `raw`)."""
    d = copy.deepcopy(raw)
    base = _dump(d)
    kinds = [
        "delete", "wrong_type", "non_finite", "enormous", "negative", "path", "data_path", "truncate",
        "byte_flip", "non_utf8", "deep_nesting", "weights", "odd_value", "combo",
    ]  # fmt: skip
    kind = rng.choice(kinds)
    paths = _paths(d)
    if kind == "delete":
        p = rng.choice(paths)
        obj = d
        for k in p[:-1]:
            obj = obj[k]
        del obj[p[-1]]
        return PresetMutant(f"delete {_dotted(p)}", _dump(d))
    if kind == "wrong_type":
        p = rng.choice(paths)
        v = rng.choice(ODD_VALUES)
        _set(d, p, v)
        return PresetMutant(f"set {_dotted(p)} = {v!r}", _dump(d))
    if kind == "odd_value":  # a numeric leaf gets an extreme but well-formed value
        nums = [p for p in paths if isinstance(_get(d, p), (int, float)) and not isinstance(_get(d, p), bool)]
        p = rng.choice(nums or paths)
        v = rng.choice([0, -0.0, 1e-308, 5e-324, 1e308, -1e308, 2**31, 2**53 + 1, 1, 2, 0.5, -1, 3])
        _set(d, p, v)
        return PresetMutant(f"set {_dotted(p)} = {v!r}", _dump(d))
    if kind == "non_finite":
        p = rng.choice(paths)
        token = rng.choice(NON_FINITE_TOKENS)
        _set(d, p, _SENTINEL)
        return PresetMutant(f"set {_dotted(p)} = {token}", _dump(d, token))
    if kind in ("enormous", "negative"):
        f = rng.choice(SIZE_FIELDS)
        section, key = f.split(".")
        if not isinstance(d.get(section), dict):
            d[section] = {}
        v = rng.choice(ENORMOUS if kind == "enormous" else NEGATIVE)
        d[section][key] = v
        return PresetMutant(f"set {f} = {v!r}", _dump(d), field=f)
    if kind == "path":
        ref = rng.choice(BAD_PATHS)
        d["weights"] = ref
        return PresetMutant(f"weights = {ref!r}", _dump(d))
    if kind == "data_path":
        ref = rng.choice(BAD_PATHS + ["ok.csv", "garbage.csv", "object.npy", "huge_cols.npy"])
        ref = ref.replace(".npz", rng.choice([".csv", ".npy", ".txt"]))
        d["data"] = {"kind": rng.choice(["file", "patterns"]), "path": ref}
        return PresetMutant(f"data.path = {ref!r}", _dump(d))
    if kind == "truncate":
        return PresetMutant("truncated", base[: rng.randint(0, max(0, len(base) - 1))])
    if kind == "byte_flip":
        b = bytearray(base)
        for _ in range(rng.randint(1, 5)):
            i = rng.randrange(len(b))
            b[i] = rng.getrandbits(8)
        return PresetMutant("byte flips", bytes(b))
    if kind == "non_utf8":
        k = rng.randrange(4)
        if k == 0:
            i = rng.randrange(len(base))
            bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"])
            return PresetMutant("invalid UTF-8 byte", base[:i] + bad + base[i:])
        if k == 1:
            return PresetMutant("UTF-16", base.decode("utf-8").encode("utf-16"))
        if k == 2:
            return PresetMutant("latin-1 name", base.replace(b'"name": "', b'"name": "\xe9\xe8', 1))
        return PresetMutant("UTF-8 BOM", b"\xef\xbb\xbf" + base)
    if kind == "deep_nesting":
        depth = rng.choice([100, 900, 990, 1000, 5000, 100_000])
        p = rng.choice(paths)
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        _set(d, p, _SENTINEL)
        return PresetMutant(f"nested {depth} at {_dotted(p)}", _dump(d, opener * depth + "0" + closer * depth))
    if kind == "weights":
        label, data = hostile_weights(rng, pickle_bytes)
        d["weights"] = "w.npz"
        return PresetMutant(f"weights: {label}", _dump(d), {"w.npz": data})
    # combo: two or three mutations stacked (no field expectation)
    m = mutate_preset(rng, d, name, pickle_bytes)
    if m.kind.startswith(("nested", "combo")):  # keep deep nesting out of copy.deepcopy; two levels at most
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    try:
        d2 = json.loads(m.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    if not isinstance(d2, dict):
        return PresetMutant(f"combo: {m.kind}", m.data, m.files)
    m2 = mutate_preset(rng, d2, name, pickle_bytes)
    return PresetMutant(f"combo: {m.kind}; {m2.kind}", m2.data, {**m.files, **m2.files})


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def write_preset_folder(folder: Path, mutant: PresetMutant, name: str = "preset.json") -> Path:
    """Write the mutant and its side files into `folder` (plus the traps its paths may point at)."""
    folder.mkdir(parents=True, exist_ok=True)
    for fname, data in mutant.files.items():
        (folder / fname).write_bytes(data)
    write_traps(folder)
    p = folder / name
    p.write_bytes(mutant.data)
    return p


def write_traps(folder: Path) -> None:
    """Files that bad references point at: a FIFO, links out of the folder, a loop, a directory, bad data."""
    folder.mkdir(parents=True, exist_ok=True)

    def link(name: str, target: str) -> None:
        if not os.path.lexists(folder / name):
            os.symlink(target, folder / name)

    for ext in (".npz", ".csv", ".npy", ".txt"):
        if hasattr(os, "mkfifo") and not os.path.lexists(folder / f"fifo{ext}"):
            os.mkfifo(folder / f"fifo{ext}")
        link(f"zero_link{ext}", "/dev/zero")
        link(f"mem_link{ext}", "/proc/self/mem")
        link(f"loop{ext}", f"loop{ext}")
        (folder / f"dir{ext}").mkdir(exist_ok=True)
    (folder / "ok.csv").write_text("x,y\n0,0\n1,1\n0.5,-0.5\n")
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "object.npy").write_bytes(_npy(np.array([{"a": 1}, None], dtype=object)))
    (folder / "huge_cols.npy").write_bytes(npy_header_only((4, 10**12)))


def shrink_preset(raw: dict) -> dict:
    """A cheaper copy of a preset (fewer chains, points and grid cells) so a Trainer builds in well under a second.
    Only fields the preset's components already have (or plain-section fields) are changed."""
    d = copy.deepcopy(raw)

    def cap(section: str, key: str, value: int, add: bool = False) -> None:
        s = d.get(section)
        if isinstance(s, dict) and (key in s or add):
            cur = s.get(key)
            if cur is None or (isinstance(cur, (int, float)) and not isinstance(cur, bool) and cur > value):
                s[key] = value

    cap("chains", "n", 64, add=True)
    cap("data", "n", 300)
    cap("data", "grid_points", 64)
    cap("estimator", "n_chains", 64)
    cap("estimator", "k", 5)
    cap("estimator", "grid_points", 32)
    cap("sampler", "grid_points", 32)
    cap("logz", "particles", 64)
    cap("logz", "temps", 20)
    if not isinstance(d.get("training"), dict):
        d["training"] = {}
    if not d["training"].get("grid_points"):
        d["training"]["grid_points"] = 32
    cap("training", "grid_points", 32)
    cap("model", "width", 32)
    return d
