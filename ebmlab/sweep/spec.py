"""A sweep's points: a preset x a grid of settings x seeds, each validated and named by a hash of its settings.

`--grid estimator.k=1,5,10 --grid optimiser.lr=0.01,0.03 --seeds 0-4` gives 3 x 2 x 5 = 30 runs. Every
point is checked (as `ebmlab run --set` would check it) before anything starts; an error names the grid
value that caused it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from ..core.errors import ConfigError, EbmlabError

HASH_VERSION = 1  # bump when a run's numbers for the same settings change on purpose
NOT_NUMERIC = ("name", "description", "notes", "view")  # preset keys that never change a run's numbers
MAX_RUNS = 100_000


@dataclass(frozen=True)
class GridAxis:
    """One --grid option: a dotted settings path and the values it takes, in the order given."""

    key: str
    values: tuple[Any, ...]

    @property
    def path(self) -> list[str]:
        return self.key.split(".")


@dataclass(frozen=True)
class RunPoint:
    """One run of a sweep: grid values (key -> value), its seed, the resolved experiment and its hash."""

    setting: dict[str, Any]
    seed: int
    experiment: Any = field(repr=False)
    run_id: str


def setting_label(setting: dict[str, Any]) -> str:
    """{'estimator.k': 5, 'estimator.name': 'cd'} -> 'estimator.k=5 estimator.name="cd"'."""
    return " ".join(f"{k}={json.dumps(v)}" for k, v in setting.items()) or "(preset)"


def split_values(text: str) -> list[str]:
    """'1,2,[0,1],"a,b"' -> ['1', '2', '[0,1]', '"a,b"']: commas inside brackets or quotes do not split."""
    parts, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    """A grid value read as JSON (numbers, true/false, lists), else kept as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text.strip("'\"") if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def parse_grid(text: str) -> GridAxis:
    """'estimator.k=1,5,10' -> GridAxis('estimator.k', (1, 5, 10))."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise EbmlabError(f"--grid {text!r}: expected key.path=v1,v2,... e.g. estimator.k=1,5,10")
    if key == "seed":
        raise EbmlabError(f"--grid {text!r}: seeds are swept with --seeds (e.g. --seeds 0-9), not --grid")
    raw = split_values(values)
    if not values.strip() or any(v == "" for v in raw):
        raise EbmlabError(f"--grid {text!r}: empty value in the list; give values like {key}=1,5,10")
    parsed = tuple(parse_value(v) for v in raw)
    seen: list[str] = []
    for v in parsed:
        canon = json.dumps(v, sort_keys=True)
        if canon in seen:
            raise EbmlabError(f"--grid {text!r}: value {v!r} is listed twice")
        seen.append(canon)
    return GridAxis(key, parsed)


def parse_seeds(text: str) -> list[int]:
    """'0-9' | '0,3,7' | '0-4,10' -> sorted distinct seeds."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part[1:]:
                lo, hi = (int(x) for x in part.split("-", 1)) if not part.startswith("-") else (None, None)
                if lo is None or hi < lo:
                    raise ValueError
                seeds += range(lo, hi + 1)
            else:
                seeds.append(int(part))
        except (ValueError, TypeError):
            raise EbmlabError(f"--seeds {text!r}: {part!r} is not a seed or a range like 0-9") from None
    if any(s < 0 for s in seeds):
        raise EbmlabError(f"--seeds {text!r}: seeds must be >= 0")
    return sorted(set(seeds))


def settings_hash(exp_dict: dict, weights: dict[str, np.ndarray] | None) -> str:
    """16 hex digits of sha256 over the settings that change a run's numbers (and the initial weights)."""
    h = hashlib.sha256()
    numeric = {k: v for k, v in exp_dict.items() if k not in NOT_NUMERIC}
    h.update(json.dumps({"v": HASH_VERSION, "experiment": numeric}, sort_keys=True).encode())
    for name in sorted(weights or {}):
        arr = np.ascontiguousarray(weights[name])
        h.update(f"{name}:{arr.dtype}:{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def expand(
    experiment: Any,
    weights: dict[str, np.ndarray] | None,
    axes: list[GridAxis],
    seeds: list[int],
    steps: int | None,
) -> list[RunPoint]:
    """Every grid point x seed as a validated RunPoint; raises EbmlabError naming the first bad value."""
    from ..config.schema import COMPONENT_SECTIONS, experiment_to_dict, with_overrides

    def selector_first(axis: GridAxis) -> bool:  # switching a component resets its section: do that first
        p = axis.path
        return not (len(p) == 2 and p[0] in COMPONENT_SECTIONS and p[1] == COMPONENT_SECTIONS[p[0]][0])

    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise EbmlabError(f"--grid {dup}: the same key is swept twice; give all its values in one --grid")
    if not seeds:
        raise EbmlabError("--seeds: no seeds given")
    n = len(seeds)
    for a in axes:
        n *= len(a.values)
    if n > MAX_RUNS:
        raise EbmlabError(f"the grid has {n} runs, more than {MAX_RUNS}; sweep fewer values")
    base = [] if steps is None else [(["training", "steps"], steps)]
    points: list[RunPoint] = []
    checked: dict[str, Any] = {}
    for values in product(*(a.values for a in axes)):
        setting = dict(zip(keys, values))
        label = setting_label(setting)
        pairs = sorted(zip(axes, values), key=lambda av: selector_first(av[0]))
        overrides = base + [(a.path, v) for a, v in pairs]
        try:
            exp = with_overrides(experiment, overrides)
        except ConfigError as e:
            raise EbmlabError(f"grid point {label}: {'; '.join(e.problems)}") from None
        except EbmlabError as e:
            raise EbmlabError(f"grid point {label}: {e}") from None
        for seed in seeds:
            seeded = with_overrides(exp, [(["seed"], seed)])
            raw = experiment_to_dict(seeded)
            run_id = settings_hash(raw, weights)
            if run_id in checked:
                raise EbmlabError(
                    f"grid point {label} gives the same settings as {checked[run_id]}: "
                    "a swept value does not change anything (is the key used by this preset's estimator?)"
                )
            checked[run_id] = label
            points.append(RunPoint(setting, seed, seeded, run_id))
    return points
