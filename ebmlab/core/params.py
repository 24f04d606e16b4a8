"""Typed, self-describing settings: one dataclass per component drives presets, CLI and GUI.

A field made with `param(...)` carries metadata (range, log scale, choices, help) that
`validate` checks and the GUI form reads. Messages name the field's path:
`estimator.k: must be >= 1, got 0`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from .errors import ConfigError

META_KEY = "ebmlab"


def param(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    log: bool = False,
    choices: tuple | None = None,
    help: str = "",
) -> Any:
    """A dataclass field with a range. lo_open=True means the value must be > lo (not >=)."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "log": log, "choices": choices, "help": help}
    if isinstance(default, (list, dict, tuple)) and not isinstance(default, tuple):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={META_KEY: meta})
    return dataclasses.field(default=default, metadata={META_KEY: meta})


def field_meta(f: dataclasses.Field) -> dict:
    return f.metadata.get(META_KEY, {})


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def check_value(value: Any, meta: dict) -> str | None:
    """Range/choice check of one scalar; returns the reason or None."""
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(map(_fmt, choices))}, got {_fmt(value)}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None:
        if meta.get("lo_open") and not value > lo:
            return f"must be > {_fmt(lo)}, got {_fmt(value)}"
        if not meta.get("lo_open") and not value >= lo:
            return f"must be >= {_fmt(lo)}, got {_fmt(value)}"
    if hi is not None and not value <= hi:
        return f"must be <= {_fmt(hi)}, got {_fmt(value)}"
    return None


def validate(obj: Any, prefix: str = "") -> list[str]:
    """Range problems of a params dataclass instance, one 'path: reason' line each."""
    problems: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            problems += validate(value, path)
            continue
        reason = check_value(value, field_meta(f))
        if reason:
            problems.append(f"{path}: {reason}")
    return problems


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _fast_float_rows(value: list, item_t: Any) -> list | None:
    """list[list[float]] of plain finite numbers, checked at once with numpy; None to take the slow path."""
    if typing.get_origin(item_t) is not list or typing.get_args(item_t) != (float,) or len(value) < 64:
        return None
    import numpy as np

    try:
        arr = np.array(value, dtype=object)
        if arr.ndim != 2 or any(type(v) not in (int, float) for v in arr.flat):
            return None
        num = arr.astype(np.float64)
    except (ValueError, TypeError):
        return None
    if not np.isfinite(num).all():
        return None
    return num.tolist()


def coerce(value: Any, tp: Any, path: str) -> tuple[Any, str | None]:
    """Convert a JSON value to the annotated type, or explain why it cannot be."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None, None
        last = None
        for a in args:
            if a is type(None):
                continue
            out, err = coerce(value, a, path)
            if err is None:
                return out, None
            last = err
        return value, last
    if origin is typing.Literal:
        opts = typing.get_args(tp)
        if value in opts:
            return value, None
        return value, f"{path}: must be one of {', '.join(map(_fmt, opts))}, got {_fmt(value)}"
    if tp is Any:
        return value, None
    if tp is bool:
        if isinstance(value, bool):
            return value, None
        return value, f"{path}: must be true or false, got {_fmt(value)}"
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"{path}: must be an integer, got {_fmt(value)}"
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            return value, f"{path}: must be an integer, got {_fmt(value)}"
        return int(value), None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"{path}: must be a number, got {_fmt(value)}"
        try:
            as_float = float(value)
        except OverflowError:  # an integer too large for a float (e.g. 10**400 in a JSON file)
            as_float = math.inf
        if not math.isfinite(as_float):
            return value, f"{path}: must be a finite number, got {_fmt(value)[:40]}"
        return as_float, None
    if tp is str:
        if isinstance(value, str):
            return value, None
        return value, f"{path}: must be a string, got {_fmt(value)}"
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return value, f"{path}: must be a list, got {_fmt(value)}"
        args = typing.get_args(tp)
        item_t = args[0] if args else Any
        fast = _fast_float_rows(value, item_t)
        if fast is not None:  # e.g. 20,000 painted points: one vectorised check instead of 40,000 calls
            return (tuple(fast) if origin is tuple else fast), None
        out = []
        for i, v in enumerate(value):
            c, err = coerce(v, item_t, f"{path}[{i}]")
            if err:
                return value, err
            out.append(c)
        return (tuple(out) if origin is tuple else out), None
    if origin is dict:
        if not isinstance(value, dict):
            return value, f"{path}: must be an object, got {_fmt(value)}"
        _, vt = typing.get_args(tp) or (str, Any)
        out_d = {}
        for k, v in value.items():
            c, err = coerce(v, vt, f"{path}.{k}")
            if err:
                return value, err
            out_d[str(k)] = c
        return out_d, None
    if dataclasses.is_dataclass(tp):
        try:
            return from_dict(tp, value, path), None
        except ConfigError as e:
            return value, "\n".join(e.problems)
    return value, None


def from_dict(cls: type, data: Any, path: str = "") -> Any:
    """Build a params dataclass from a JSON object. Unknown keys, wrong types and
    out-of-range values are all reported together (ConfigError with one line each)."""
    where = path or "settings"
    if not isinstance(data, dict):
        raise ConfigError([f"{where}: must be an object, got {_fmt(data)}"])
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    problems: list[str] = []
    for key in data:
        if key not in fields:
            known = ", ".join(fields)
            problems.append(f"{path + '.' if path else ''}{key}: unknown key (known: {known})")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            continue
        p = f"{path}.{name}" if path else name
        value, err = coerce(data[name], hints[name], p)
        if err:
            problems.extend(err.split("\n"))
            continue
        reason = check_value(value, field_meta(f))
        if reason:
            problems.append(f"{p}: {reason}")
            continue
        kwargs[name] = value
    if problems:
        raise ConfigError(problems)
    return cls(**kwargs)


def to_dict(obj: Any) -> dict:
    """JSON-ready dict of a params dataclass (tuples become lists)."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(obj)


def check(obj: Any, prefix: str = "") -> Any:
    """Raise ConfigError if `obj` has any range problem; return it otherwise."""
    problems = validate(obj, prefix)
    if problems:
        raise ConfigError(problems)
    return obj
