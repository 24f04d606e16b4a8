"""Write files so that a failure never leaves a half-written target: a temp file in the same folder, then rename."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def temp_path_for(target: str | Path) -> Path:
    """Create (empty) and return a hidden temp file beside `target`, keeping its suffix (writers pick the
    format from it). Raises OSError when the folder is missing or unwritable, or `target` is a folder."""
    target = Path(target)
    if target.is_dir():
        raise IsADirectoryError(21, "it is a folder", str(target))
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    with open(tmp, "xb"):  # respects the umask, unlike mkstemp's 0600
        pass
    return tmp


def remove_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(target: str | Path, write) -> Path:
    """Call `write(tmp_path)`, then rename tmp over `target`; on any error remove tmp and re-raise."""
    target = Path(target)
    tmp = temp_path_for(target)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise
    return target


def write_bytes_atomic(target: str | Path, data: bytes) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    return write_atomic(target, write)
