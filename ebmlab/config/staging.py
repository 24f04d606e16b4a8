"""Temporary files of atomic saves, named so that only ours match, and cleaned once their writer is gone.

A save writes `.NAME.ebmlab-HOST-PID-RAND.tmp` beside NAME, fsyncs it and renames it over NAME. A writer killed
in between (kill -9, a power cut) leaves that file behind. `clean_stale(folder)` removes such leftovers on the
next save or open in that folder, and only when their writer is gone:
- written on this host: the process PID is not running (or is a zombie); our own PID is always alive, so a
  save in progress in another thread is never touched;
- written on another host (a shared folder) or by a PID that was reused: the file is older than a day
  (a save in progress writes its file within seconds; mtime moves with every write).
Files of any other name, and anything that is not a regular file, are never removed.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import stat
import time
from pathlib import Path

TEMP_RE = re.compile(r"^\.(?P<target>.+)\.ebmlab-(?P<host>[A-Za-z0-9]{1,24})-(?P<pid>[0-9]{1,10})-[0-9a-f]{8}\.tmp$")
STALE_AGE_S = 24 * 3600.0  # any of our temp files older than this is a leftover, whoever wrote it


def host_tag() -> str:
    """This host's name reduced to [A-Za-z0-9] (at most 24 characters), as written in temp names."""
    tag = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24]
    return tag or "host"


def temp_path(target: Path) -> Path:
    """A fresh temp name beside `target` (not created)."""
    return target.with_name(f".{target.name}.ebmlab-{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def create_temp(target: Path) -> tuple[int, Path]:
    """Create a new temp file beside `target` (O_EXCL, mode 0666 less the umask); returns (fd, path)."""
    for _ in range(100):
        tmp = temp_path(target)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary name", str(target))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except (OverflowError, OSError):
        return False
    try:  # a killed process nobody has reaped yet still answers kill(0): Linux shows it as state Z
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def is_stale(name: str, mtime: float, now: float | None = None) -> bool:
    """True for one of our temp names whose writer is gone (see the module docstring)."""
    m = TEMP_RE.match(name)
    if m is None:
        return False
    if (time.time() if now is None else now) - mtime > STALE_AGE_S:
        return True
    return m["host"] == host_tag() and not _alive(int(m["pid"]))


def clean_stale(folder: Path) -> list[str]:
    """Remove the stale temp files of our saves in `folder` (never anything else); returns their names.
    Quiet: a folder that cannot be listed or a file that cannot be removed is left as it is."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and is_stale(entry.name, st.st_mtime):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed
